#!/usr/bin/env bash
# tests/integration/test_access.sh — access control (issue "Hardening"):
# bearer tokens, TLS, CORS, the UI's security headers and safe defaults,
# against real stitchd processes on free loopback ports, spoken to with curl
# and openssl like a user would.
#  A: tokens + TLS + CORS (the exposed set-up): who gets in, what the
#     refusals look like, that the server's features survive TLS, CORS
#     preflights and simple requests for allowed and other origins;
#  B: plain defaults with the query port on 0.0.0.0: no CORS headers at
#     all, and the warning about a listener exposed without access control;
#  C: TLS 1.3 only, configured from a YAML file and the environment;
#  and the start-up errors of bad access settings (exit 2 with a message).
#  and the stitch command against A: refused without a token (exit 4), served with one.
# $1 = the build's bin directory.
set -u
BIN=$(cd "${1:?usage: test_access.sh BIN_DIR}" && pwd) || exit 1
for tool in openssl curl; do
    command -v "$tool" >/dev/null || { echo "SKIP: no $tool (scripts/setup.sh installs it)"; exit 77; }
done
fails=0
T=$(mktemp -d /tmp/stitch-access.XXXXXX)
PIDS=()
TRICKLE=
cleanup() {
    [ -n "$TRICKLE" ] && kill "$TRICKLE" 2>/dev/null
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
    rm -rf "$T"
}
trap cleanup EXIT
ok() { echo "ok   $1"; }
fail() { echo "FAIL $1"; fails=$((fails + 1)); }
# expect NAME CONDITION-EXIT-STATUS: ok or FAIL by the status of the last command
expect() { if [ "$2" -eq 0 ]; then ok "$1"; else fail "$1"; fi; }

# ---- a throwaway CA, a server certificate for 127.0.0.1, and tokens --------------------
cd "$T" || exit 1
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 \
    -subj "/CN=stitch test CA" 2>/dev/null &&
openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr \
    -subj "/CN=localhost" 2>/dev/null &&
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >ext.cnf &&
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem \
    -days 2 -extfile ext.cnf 2>/dev/null &&
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out other.key 2>/dev/null ||
    { echo "SKIP: openssl cannot make a test certificate"; exit 77; }

INGEST1=ingest-$(openssl rand -hex 16)
INGEST2=rotated-$(openssl rand -hex 16)
QUERY=query-$(openssl rand -hex 16)
printf '# ingest tokens: the current one and the next (rotation)\n%s\n\n   %s  \n' "$INGEST1" "$INGEST2" >ingest.tok
printf '%s\n' "$QUERY" >query.tok
chmod 600 ingest.tok query.tok

# start NAME ARGS… → sets PID, waits for the ready file; logs in $T/NAME.log
start() {
    local name=$1
    shift
    "$BIN/stitchd" --data "$T/$name-data" --ready-file "$T/$name.ready" "$@" 2>"$T/$name.log" &
    PID=$!
    PIDS+=("$PID")
    for _ in $(seq 1 200); do
        [ -s "$T/$name.ready" ] && grep -q '^http=' "$T/$name.ready" && return 0
        kill -0 "$PID" 2>/dev/null || break
        sleep 0.05
    done
    echo "FAIL stitchd $name did not start"
    cat "$T/$name.log"
    exit 1
}
addr() { sed -n "s/^$2=//p" "$T/$1.ready"; }

start A --otlp-http 127.0.0.1:0 --zipkin 127.0.0.1:0 --http 127.0.0.1:0 \
    --ingest-token-file "$T/ingest.tok" --query-token-file "$T/query.tok" \
    --tls-cert "$T/server.pem" --tls-key "$T/server.key" \
    --cors-origins 'https://app.example.com, https://*.corp.example' \
    --max-body 1MiB --request-timeout 2s
APID=$PID
OTLP=https://$(addr A otlp-http)
ZIPKIN=https://$(addr A zipkin)
HTTP=https://$(addr A http)
TLS=(--cacert "$T/ca.pem")
JS=(-H 'Content-Type: application/json')

# code URL [curl args…] → the HTTP status (000 when there was no answer); body in $T/body,
# headers in $T/headers
code() {
    local url=$1
    shift
    curl -s -o "$T/body" -D "$T/headers" -w '%{http_code}' --max-time 20 "${TLS[@]}" "$@" "$url"
}
# check NAME WANT URL [curl args…]
check() {
    local name=$1 want=$2 url=$3
    shift 3
    local got
    got=$(code "$url" "$@")
    if [ "$got" = "$want" ]; then
        ok "$name ($got)"
    else
        fail "$name: HTTP $got, want $want; body: $(head -c 200 "$T/body" | tr -c '[:print:]\n' '.')"
    fi
}
hdr() { grep -i "^$1:" "$T/headers" | tr -d '\r'; } # the named response header lines
has_hdr() { grep -qi "^$1:" "$T/headers"; }

NOW=$(( $(date +%s) * 1000000000 ))
TID=7a3c5e9b1d2f4a6c8e0b2d4f6a8c0e1f
span() { # OTLP/JSON with one span named $1
    printf '{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"access-test"}}]},"scopeSpans":[{"spans":[{"traceId":"%s","spanId":"%016x","name":"%s","kind":2,"startTimeUnixNano":"%s","endTimeUnixNano":"%s"}]}]}]}' \
        "$TID" "$2" "$1" "$NOW" "$((NOW + 1000000))"
}

# ---- the ingest token ------------------------------------------------------------------
check "OTLP without a token" 401 "$OTLP/v1/traces" "${JS[@]}" --data-binary "$(span nobody 1)"
grep -q '"code":16' "$T/body" && grep -q 'no bearer token' "$T/body"
expect "  its body is an OTLP Status (UNAUTHENTICATED) saying why" $?
[ "$(hdr WWW-Authenticate)" = 'WWW-Authenticate: Bearer realm="stitchd"' ]
expect "  with WWW-Authenticate: Bearer realm=\"stitchd\"" $?
check "OTLP with a wrong token" 401 "$OTLP/v1/traces" "${JS[@]}" -H "Authorization: Bearer wrong-$INGEST1" \
    --data-binary "$(span wrong 2)"
hdr WWW-Authenticate | grep -q 'error="invalid_token"'
expect "  with error=\"invalid_token\"" $?
check "OTLP with a token that is a prefix of the right one" 401 "$OTLP/v1/traces" "${JS[@]}" \
    -H "Authorization: Bearer ${INGEST1:0:20}" --data-binary "$(span prefix 3)"
check "OTLP with Basic credentials" 401 "$OTLP/v1/traces" "${JS[@]}" -u "user:$INGEST1" \
    --data-binary "$(span basic 4)"
check "OTLP with the query token" 401 "$OTLP/v1/traces" "${JS[@]}" -H "Authorization: Bearer $QUERY" \
    --data-binary "$(span querytoken 5)"
check "OTLP with the ingest token" 200 "$OTLP/v1/traces" "${JS[@]}" -H "Authorization: Bearer $INGEST1" \
    --data-binary "$(span accepted-first 6)"
check "OTLP with the file's second token (rotation; scheme in lower case)" 200 "$OTLP/v1/traces" "${JS[@]}" \
    -H "authorization: bearer $INGEST2" --data-binary "$(span accepted-second 7)"
printf '\x0a\x00' >"$T/empty.pb"
check "OTLP protobuf without a token" 401 "$OTLP/v1/traces" -H 'Content-Type: application/x-protobuf' \
    --data-binary @"$T/empty.pb"
grep -q 'application/x-protobuf' "$T/headers"
expect "  answered in protobuf, the request's encoding" $?
check "OTLP: a wrong path without a token is not told apart" 401 "$OTLP/v2/nothing" -X POST

# a refused body must be drained, so the client reads the 401 instead of a reset
head -c 3000000 /dev/zero >"$T/big"
check "a 3 MB body without a token (Content-Length)" 401 "$OTLP/v1/traces" "${JS[@]}" --data-binary @"$T/big"
check "a 3 MB chunked body without a token" 401 "$OTLP/v1/traces" "${JS[@]}" \
    -H 'Transfer-Encoding: chunked' --data-binary @"$T/big"

ZSPAN='[{"traceId":"'$TID'","id":"00000000000000aa","name":"zipkin-span","timestamp":'$((NOW / 1000))',"duration":5,"localEndpoint":{"serviceName":"access-test"}}]'
check "Zipkin POST without a token" 401 "$ZIPKIN/api/v2/spans" "${JS[@]}" --data-binary "$ZSPAN"
grep -q '"code":401' "$T/body"
expect "  with a JSON error {\"code\":401,…}" $?
check "Zipkin POST with a wrong token" 401 "$ZIPKIN/api/v2/spans" "${JS[@]}" -H 'Authorization: Bearer x' \
    --data-binary "$ZSPAN"
check "Zipkin POST with the ingest token" 202 "$ZIPKIN/api/v2/spans" "${JS[@]}" \
    -H "Authorization: Bearer $INGEST1" --data-binary "$ZSPAN"

# ---- the query token ---------------------------------------------------------------------
check "Jaeger API without a token" 401 "$HTTP/api/services"
grep -q '"errors":\[{"code":401' "$T/body"
expect "  in the Jaeger error envelope" $?
check "Jaeger API with the ingest token" 401 "$HTTP/api/services" -H "Authorization: Bearer $INGEST1"
check "Jaeger API with the query token" 200 "$HTTP/api/services" -H "Authorization: Bearer $QUERY"
check "the trace by id with the query token" 200 "$HTTP/api/traces/$TID" -H "Authorization: Bearer $QUERY"
names=$(grep -o '"operationName":"[^"]*"' "$T/body" | sort | tr '\n' ' ')
[ "$names" = '"operationName":"accepted-first" "operationName":"accepted-second" "operationName":"zipkin-span" ' ]
expect "  holds exactly the three spans sent with a valid ingest token ($names)" $?
check "Jaeger v3 API without a token" 401 "$HTTP/api/v3/services"
check "Zipkin API on the HTTP port without a token" 401 "$HTTP/api/v2/services"
check "Zipkin API on the Zipkin port without a token" 401 "$ZIPKIN/api/v2/services"
check "Zipkin API on the Zipkin port with the query token" 200 "$ZIPKIN/api/v2/trace/$TID" \
    -H "Authorization: Bearer $QUERY"
grep -q zipkin-span "$T/body"
expect "  and finds the spans" $?
check "/metrics without a token" 401 "$HTTP/metrics"
check "/metrics with the query token" 200 "$HTTP/metrics" -H "Authorization: Bearer $QUERY"
n=$(sed -n 's/^stitchd_http_unauthorized_total{listener="otlp-http"} //p' "$T/body")
[ "${n:-0}" -ge 8 ]
expect "  counts the refusals (stitchd_http_unauthorized_total{listener=\"otlp-http\"} = ${n:-none})" $?
check "/healthz stays open (liveness probes)" 200 "$HTTP/healthz"
check "an unknown path without a token" 401 "$HTTP/nothing-here"

# ---- the web UI: its pages and files are open, its data is not -------------------------------
check "UI: / without a token" 200 "$HTTP/"
grep -q '<script' "$T/body"
expect "  is the page" $?
script=$(grep -o 'src="/static/[^"]*\.js"' "$T/body" | head -1 | sed 's/src="//; s/"$//')
check "UI: its script $script without a token" 200 "$HTTP$script"
check "UI: a /trace/… page without a token" 200 "$HTTP/trace/$TID"
check "UI: the /dependencies page without a token" 200 "$HTTP/dependencies"
check "UI: the API it calls still needs the token" 401 "$HTTP/api/dependencies?endTs=1&lookback=1"
code "$HTTP/" >/dev/null
csp=$(hdr Content-Security-Policy)
case "$csp" in
*"default-src 'self'"*"frame-ancestors 'none'"*) ok "UI: Content-Security-Policy with default-src 'self' and frame-ancestors 'none'" ;;
*) fail "UI: Content-Security-Policy is \"$csp\"" ;;
esac
! echo "$csp" | grep -q "unsafe-inline\|unsafe-eval" && echo "$csp" | grep -q "script-src 'self'"
expect "UI: scripts only from 'self' (no unsafe-inline / unsafe-eval)" $?
[ "$(hdr X-Content-Type-Options)" = 'X-Content-Type-Options: nosniff' ]
expect "UI: X-Content-Type-Options: nosniff" $?
[ "$(hdr Referrer-Policy)" = 'Referrer-Policy: no-referrer' ]
expect "UI: Referrer-Policy: no-referrer" $?

# ---- the log: refusals are logged with the peer, rate-limited, without the token -------------
c=$(grep -c 'msg="unauthorized request refused"' "$T/A.log")
grep 'msg="unauthorized request refused"' "$T/A.log" | head -1 | grep -q 'peer=127\.0\.0\.1:[0-9]'
expect "a refusal is logged with the peer's address" $?
[ "$c" -ge 1 ] && [ "$c" -le 3 ]
expect "  at most one line per 10 s, not one per refusal ($c lines for 19 refusals)" $?
! grep -q -- "$INGEST1\|$QUERY\|${INGEST1:0:20}" "$T/A.log"
expect "  and no token (right or wrong) ever reaches the log" $?

# ---- TLS ---------------------------------------------------------------------------------------
curl -s -o /dev/null --max-time 10 "$HTTP/healthz"
rc=$?
[ "$rc" = 60 ]
expect "TLS: a client without the CA refuses the certificate (curl exit $rc)" $?
t0=$(date +%s%N)
plain=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://$(addr A http)/healthz")
rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$plain" = 000 ] && [ "$rc" != 0 ] && [ "$rc" != 28 ]
expect "TLS: plain HTTP to a TLS port gets no HTTP answer (curl exit $rc in ${ms} ms)" $?
printf 'GET / HTTP/1.0\r\n\r\n' | timeout 10 bash -c "cat >/dev/tcp/127.0.0.1/$(addr A http | sed 's/.*://')" 2>/dev/null
check "TLS: and the server keeps serving" 200 "$HTTP/healthz"
curl -s -v "${TLS[@]}" -o /dev/null -o /dev/null -H "Authorization: Bearer $QUERY" \
    "$HTTP/api/services" "$HTTP/api/services" 2>"$T/verbose"
grep -q 'Re-using existing connection' "$T/verbose"
expect "TLS: keep-alive (two requests, one connection)" $?
gz=
for s in $(curl -s "${TLS[@]}" "$HTTP/" | grep -o 'src="/static/[^"]*"' | sed 's/src="//; s/"$//'); do
    code "$HTTP$s" >/dev/null
    cp "$T/body" "$T/plain"
    code "$HTTP$s" --compressed >/dev/null
    [ "$(hdr Content-Encoding)" = 'Content-Encoding: gzip' ] && cmp -s "$T/body" "$T/plain" && gz=$s
done
[ -n "$gz" ]
expect "TLS: gzip answers (${gz:-no script came gzipped})" $?
head -c 1500000 /dev/zero >"$T/1.5m"
check "TLS: body limit (1.5 MB with --max-body 1MiB)" 413 "$OTLP/v1/traces" "${JS[@]}" \
    -H "Authorization: Bearer $INGEST1" --data-binary @"$T/1.5m"
(
    printf 'POST /v1/traces HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{' "$INGEST1"
    for _ in $(seq 1 40); do sleep 0.3; printf ' '; done
) | { s=$SECONDS; timeout 30 openssl s_client -quiet -connect "$(addr A otlp-http)" -CAfile "$T/ca.pem" \
        >/dev/null 2>&1; echo $((SECONDS - s)) >"$T/cut"; } &
TRICKLE=$!
wait "$TRICKLE"
TRICKLE=
cut=$(cat "$T/cut")
[ "$cut" -le 8 ]
expect "TLS: a body trickled for 12 s is cut off by --request-timeout 2s (after ${cut} s)" $?

# ---- CORS ----------------------------------------------------------------------------------------
PRE=(-X OPTIONS -H 'Access-Control-Request-Method: POST' -H 'Access-Control-Request-Headers: content-type,authorization')
check "CORS: preflight from an allowed origin (no token needed)" 204 "$OTLP/v1/traces" "${PRE[@]}" \
    -H 'Origin: https://app.example.com'
[ "$(hdr Access-Control-Allow-Origin)" = 'Access-Control-Allow-Origin: https://app.example.com' ] &&
    hdr Access-Control-Allow-Methods | grep -q POST &&
    [ "$(hdr Access-Control-Allow-Headers)" = 'Access-Control-Allow-Headers: content-type,authorization' ] &&
    hdr Vary | grep -q Origin
expect "  echoes the origin, allows POST and the headers asked for, Vary: Origin" $?
check "CORS: preflight from a subdomain matching https://*.corp.example" 204 "$OTLP/v1/traces" "${PRE[@]}" \
    -H 'Origin: https://ui.corp.example'
[ "$(hdr Access-Control-Allow-Origin)" = 'Access-Control-Allow-Origin: https://ui.corp.example' ]
expect "  is allowed" $?
check "CORS: preflight from another origin" 204 "$OTLP/v1/traces" "${PRE[@]}" -H 'Origin: https://evil.example'
! grep -qi '^Access-Control-' "$T/headers"
expect "  gets no Access-Control-* header" $?
check "CORS: preflight from http:// of an allowed https:// origin" 204 "$OTLP/v1/traces" "${PRE[@]}" \
    -H 'Origin: http://app.example.com'
! grep -qi '^Access-Control-' "$T/headers"
expect "  gets no Access-Control-* header" $?
check "CORS: preflight asking for a header stitchd does not take" 204 "$OTLP/v1/traces" -X OPTIONS \
    -H 'Origin: https://app.example.com' -H 'Access-Control-Request-Method: POST' \
    -H 'Access-Control-Request-Headers: x-secret-header'
! has_hdr Access-Control-Allow-Origin
expect "  is not allowed" $?
check "CORS: preflight for DELETE" 204 "$HTTP/api/services" -X OPTIONS -H 'Origin: https://app.example.com' \
    -H 'Access-Control-Request-Method: DELETE'
! has_hdr Access-Control-Allow-Origin
expect "  is not allowed" $?
check "CORS: an allowed origin's POST" 200 "$OTLP/v1/traces" "${JS[@]}" -H 'Origin: https://app.example.com' \
    -H "Authorization: Bearer $INGEST1" --data-binary "$(span cors 8)"
[ "$(hdr Access-Control-Allow-Origin)" = 'Access-Control-Allow-Origin: https://app.example.com' ] &&
    hdr Vary | grep -q Origin
expect "  carries Access-Control-Allow-Origin and Vary: Origin" $?
check "CORS: an allowed origin's request without a token" 401 "$HTTP/api/services" -H 'Origin: https://app.example.com'
has_hdr Access-Control-Allow-Origin
expect "  gets a 401 the page can read (Access-Control-Allow-Origin)" $?
check "CORS: another origin's query" 200 "$HTTP/api/services" -H 'Origin: https://evil.example' \
    -H "Authorization: Bearer $QUERY"
! grep -qi '^Access-Control-' "$T/headers"
expect "  gets no Access-Control-* header" $?
check "CORS: a UI page is not part of it" 200 "$HTTP/" -H 'Origin: https://app.example.com'
! grep -qi '^Access-Control-' "$T/headers"
expect "  (no Access-Control-* header)" $?
# ---- the stitch command against the protected stitchd (docs/cli.md: exit 4 = refused) ----------
"$BIN/stitch" services --server "$HTTP" --cacert "$T/ca.pem" >"$T/cli.out" 2>"$T/cli.err"
rc=$?
[ $rc -eq 4 ] && grep -q 'unauthorized' "$T/cli.err" && grep -q -- '--token-file' "$T/cli.err"
expect "stitch services without a token: exit 4 and what to pass (exit $rc: $(head -c 200 "$T/cli.err"))" $?
"$BIN/stitch" services --server "$HTTP" --cacert "$T/ca.pem" --token-file "$T/query.tok" >"$T/cli.out" 2>"$T/cli.err"
rc=$?
[ $rc -eq 0 ] && grep -qx 'access-test' "$T/cli.out"
expect "stitch services --token-file --cacert: the service list (exit $rc: $(head -c 200 "$T/cli.out" "$T/cli.err" | tr '\n' ' '))" $?
STITCH_TOKEN=$QUERY STITCH_CACERT=$T/ca.pem "$BIN/stitch" trace "$TID" --server "$HTTP" >"$T/cli.out" 2>"$T/cli.err"
rc=$?
[ $rc -eq 0 ] && grep -q 'accepted-first' "$T/cli.out" && grep -q 'zipkin-span' "$T/cli.out"
expect "STITCH_TOKEN + STITCH_CACERT: stitch trace draws the trace (exit $rc)" $?
"$BIN/stitch" services --server "$HTTP" >"$T/cli.out" 2>"$T/cli.err"
rc=$?
[ $rc -eq 3 ] && grep -qi 'cacert' "$T/cli.err"
expect "stitch against the TLS port without --cacert: exit 3 with a --cacert hint (exit $rc)" $?
kill -0 "$APID" 2>/dev/null
expect "stitchd A is alive" $?

# ---- B: the defaults — loopback, no CORS, and a warning for a listener beyond loopback -------
for l in otlp-http:127.0.0.1:4318 zipkin:127.0.0.1:9411 http:127.0.0.1:16686; do
    "$BIN/stitchd" --help | grep -A1 -- "--${l%%:*} " | grep -q "default: ${l#*:}$"
    expect "--${l%%:*} listens on ${l#*:} unless told otherwise" $?
done
grep -q 'without access control' "$T/A.log" && fail "A warned about exposure on loopback" ||
    ok "no exposure warning when every listener is on loopback"
start B --otlp-http 127.0.0.1:0 --zipkin off --http 0.0.0.0:0
HB=http://127.0.0.1:$(addr B http | sed 's/.*://')
TLS=()
check "B: a query with an Origin" 200 "$HB/api/services" -H 'Origin: https://app.example.com'
! grep -qi '^Access-Control-' "$T/headers"
expect "  gets no Access-Control-* header when --cors-origins is not set" $?
check "B: OPTIONS without --cors-origins is no preflight" 405 "$HB/api/services" "${PRE[@]}" \
    -H 'Origin: https://app.example.com'
grep 'without access control' "$T/B.log" | grep -q 'listeners="http=0.0.0.0:[0-9]*" missing=query-token-file,tls-cert'
expect "B: one warning names the exposed listener and what it lacks" $?
[ "$(grep -c 'without access control' "$T/B.log")" = 1 ]
expect "  once" $?

# ---- C: TLS 1.3 only, from the YAML file and the environment ----------------------------------
cat >"$T/c.yaml" <<EOF
otlp-http: 127.0.0.1:0
zipkin: "off"
http: 127.0.0.1:0
tls:
  cert: $T/server.pem
  key: $T/server.key
  min_version: "1.3"
EOF
STITCHD_QUERY_TOKEN_FILE="$T/query.tok" start C --config "$T/c.yaml"
TLS=(--cacert "$T/ca.pem")
HC=https://$(addr C http)
check "C: TLS 1.3" 200 "$HC/healthz" --tlsv1.3
got=$(code "$HC/healthz" --tls-max 1.2)
[ "$got" = 000 ]
expect "C: TLS 1.2 is refused with --tls-min-version 1.3 (HTTP $got)" $?
check "C: the query token from STITCHD_QUERY_TOKEN_FILE is required" 401 "$HC/api/services"
check "C: and accepted" 200 "$HC/api/services" -H "Authorization: Bearer $QUERY"

# ---- bad access settings: exit 2 with a message --------------------------------------------------
: >"$T/empty.tok"
printf '# nothing but a comment\n\n' >"$T/comment.tok"
head -c 400 "$T/server.pem" >"$T/truncated.pem"
bad() { # NAME WANT-IN-MESSAGE ARGS…
    local name=$1 want=$2
    shift 2
    "$BIN/stitchd" --data "$T/bad-data" --otlp-http 127.0.0.1:0 --zipkin off --http 127.0.0.1:0 "$@" \
        >"$T/bad.out" 2>&1 &
    local p=$!
    for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
    if kill -0 "$p" 2>/dev/null; then
        kill "$p"; wait "$p" 2>/dev/null
        fail "$name: stitchd started"
        return
    fi
    wait "$p"
    local rc=$?
    if [ "$rc" = 2 ] && grep -q -- "$want" "$T/bad.out"; then
        ok "$name (exit 2: $(head -1 "$T/bad.out" | cut -c1-90))"
    else
        fail "$name: exit $rc, message: $(head -2 "$T/bad.out")"
    fi
}
bad "a certificate without a key" "tls-cert without --tls-key" --tls-cert "$T/server.pem"
bad "a key without a certificate" "tls-key without --tls-cert" --tls-key "$T/server.key"
bad "a missing certificate file" "No such file" --tls-cert "$T/nope.pem" --tls-key "$T/server.key"
bad "a key that is not the certificate's" "do not match" --tls-cert "$T/server.pem" --tls-key "$T/other.key"
bad "a truncated certificate" "truncated PEM" --tls-cert "$T/truncated.pem" --tls-key "$T/server.key"
bad "a key given as the certificate" "BEGIN CERTIFICATE" --tls-cert "$T/server.key" --tls-key "$T/server.key"
bad "an empty token file" "no token in the file" --ingest-token-file "$T/empty.tok"
bad "a token file of comments only" "no token in the file" --query-token-file "$T/comment.tok"
bad "a missing token file" "cannot read the token file" --query-token-file "$T/nope.tok"
bad "a CORS origin with a path" "cors-origins" --cors-origins 'https://app.example.com/'
bad "an unknown TLS version" "tls-min-version" --tls-min-version 1.1

if [ "$fails" -ne 0 ]; then
    for n in A B C; do echo "--- stitchd $n log:"; tail -15 "$T/$n.log"; done
    echo "$fails failure(s)"
    exit 1
fi
echo "all passed"
