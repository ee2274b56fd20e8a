#!/usr/bin/env bash
# tests/integration/test_cli_query.sh — the query commands of the real
# `stitch` binary against a real stitchd ($1 = the build's bin directory):
# stitchd on free loopback ports with a temporary data directory, the seed's
# Add-to-Cart trace sent as OTLP/JSON with curl, then `stitch services`,
# `stitch trace` (the waterfall's rows, order, indentation, error mark) and
# `stitch search` (each filter, no match, bad input, server down), with the
# exit codes of docs/cli.md.
set -u
BIN="${1:?usage: test_cli_query.sh BIN_DIR}"
STITCH="$BIN/stitch"
fails=0
T=$(mktemp -d /tmp/stitch-cli-query.XXXXXX)
PID=
cleanup() {
    [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT

ok() { echo "ok   $1"; }
fail() { echo "FAIL $1"; shift; for l in "$@"; do echo "  $l"; done; fails=$((fails + 1)); }

"$BIN/stitchd" --data "$T/data" --otlp-http 127.0.0.1:0 --zipkin off --http 127.0.0.1:0 \
    --ready-file "$T/ready" --log-level warn 2>"$T/stitchd.log" &
PID=$!
for _ in $(seq 1 100); do
    [ -s "$T/ready" ] && grep -q '^http=' "$T/ready" && break
    sleep 0.05
done
OTLP=$(sed -n 's/^otlp-http=//p' "$T/ready")
HTTP=$(sed -n 's/^http=//p' "$T/ready")
if [ -z "$OTLP" ] || [ -z "$HTTP" ]; then
    echo "FAIL stitchd did not start"; cat "$T/stitchd.log"; exit 1
fi
SERVER="http://$HTTP"

# The seed trace: 50 ms, 5 spans, 5 services, cart-service failing.
TID=4bf92f3577b34da6a3ce929d0e0e4736
T0=$(( $(date +%s) * 1000000000 - 5000000000 ))
ms() { echo $(( T0 + $1 * 1000000 )); }
span() { # service span parent name start_ms dur_ms kind [status]
    local parent="" status=""
    [ -n "$3" ] && parent="\"parentSpanId\":\"$3\","
    [ -n "${8:-}" ] && status=",\"status\":{\"code\":2,\"message\":\"$8\"}"
    printf '{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"%s"}}]},"scopeSpans":[{"spans":[{"traceId":"%s","spanId":"%s",%s"name":"%s","kind":%d,"startTimeUnixNano":"%s","endTimeUnixNano":"%s","attributes":[{"key":"user.id","value":{"stringValue":"42"}}]%s}]}]}' \
        "$1" "$TID" "$2" "$parent" "$4" "$7" "$(ms "$5")" "$(ms $(( $5 + $6 )))" "$status"
}
BODY="{\"resourceSpans\":[
$(span frontend 0000000000000001 "" "POST /cart/add" 0 50 2),
$(span api-gateway 0000000000000002 0000000000000001 "POST /cart/add" 10 30 2),
$(span cart-service 0000000000000003 0000000000000002 addItem 15 25 2 "out of stock"),
$(span product-service 0000000000000004 0000000000000003 getProduct 20 15 2),
$(span product-db 0000000000000005 0000000000000004 "SELECT products" 30 5 3)]}"
code=$(curl -s -o "$T/resp" -w '%{http_code}' -H 'Content-Type: application/json' \
    --data-binary "$BODY" "http://$OTLP/v1/traces")
[ "$code" = 200 ] && ok "OTLP/JSON accepted" || fail "OTLP/JSON accepted" "HTTP $code: $(cat "$T/resp")"

# run NAME WANT_RC ARGS... — output in $OUT, stderr in $ERR
run() {
    local name=$1 want=$2
    shift 2
    OUT=$("$STITCH" "$@" 2>"$T/err"); RC=$?
    ERR=$(cat "$T/err")
    if [ "$RC" != "$want" ]; then
        fail "$name" "exit $RC, want $want" "stdout: $OUT" "stderr: $ERR"
        return 1
    fi
    return 0
}
has() { # NAME HAYSTACK NEEDLE
    case "$2" in *"$3"*) ok "$1" ;; *) fail "$1" "missing: $3" "in: $2" ;; esac
}

run "services" 0 services --server "$SERVER" &&
    { [ "$OUT" = "$(printf 'api-gateway\ncart-service\nfrontend\nproduct-db\nproduct-service')" ] &&
        ok "services lists the five, sorted" || fail "services lists the five, sorted" "$OUT"; }
run "operations" 0 services --server "$SERVER" cart-service && has "operations of cart-service" "$OUT" addItem

if run "trace" 0 trace --server "$SERVER" --width 100 "$TID"; then
    head=$(echo "$OUT" | sed -n 1p)
    [ "$head" = "trace $TID  50.0 ms  5 spans  5 services  1 error" ] && ok "trace header" ||
        fail "trace header" "$head"
    rows=$(echo "$OUT" | sed -n '3,7p' | cut -c1-22 | sed 's/ *$//')
    want=$(printf '%s\n' "frontend" "  api-gateway" "    cart-service" "      product-service" "        product-db")
    [ "$rows" = "$want" ] && ok "trace rows in tree order, indented" || fail "trace rows" "$rows"
    has "error marked with its message" "$(echo "$OUT" | sed -n 5p)" "ERROR: out of stock"
    has "duration shown" "$(echo "$OUT" | sed -n 7p)" "5.0 ms"
    case "$OUT" in *$'\x1b'*) fail "no colour when not a terminal" "$OUT" ;; *) ok "no colour when not a terminal" ;; esac
fi
run "trace --color always" 0 trace --server "$SERVER" --color always "$TID" &&
    has "colour when asked" "$OUT" $'\x1b[38;5;'
run "trace --json" 0 trace --server "$SERVER" --json "$TID" && has "trace --json" "$OUT" "\"traceID\": \"$TID\""
hdr=$(curl -s --compressed -D - -o "$T/gz" "$SERVER/api/traces/$TID")
case "$hdr" in *[Cc]ontent-[Ee]ncoding:\ gzip*) grep -q "\"traceID\":\"$TID\"" "$T/gz" && ok "query answers gzip-compressed when asked" ||
    fail "gzip answer" "$(head -c 200 "$T/gz")" ;; *) fail "query answers gzip-compressed when asked" "$hdr" ;; esac
hdr=$(curl -s -D - -o /dev/null "$SERVER/api/traces/$TID")
case "$hdr" in *[Cc]ontent-[Ee]ncoding*) fail "no gzip unless asked" "$hdr" ;; *) ok "no gzip unless asked" ;; esac
run "unknown trace" 1 trace --server "$SERVER" 0123456789abcdef0123456789abcdef &&
    has "unknown trace says so" "$ERR" "not found"
run "bad trace id" 2 trace --server "$SERVER" xyz && has "bad id says so" "$ERR" "not a trace id"

run "search by service" 0 search --server "$SERVER" --service cart-service && has "search finds it" "$OUT" "$TID"
has "search shows the root" "$OUT" "frontend: POST /cart/add"
run "search by tag+duration" 0 search --server "$SERVER" --service product-service --tag user.id=42 --min-duration 10ms &&
    has "search by tag" "$OUT" "$TID"
run "search no match (tag)" 1 search --server "$SERVER" --service cart-service --tag user.id=43 &&
    has "no match says so" "$ERR" "no traces found"
run "search no match (duration)" 1 search --server "$SERVER" --service product-db --min-duration 6ms
run "search operation" 0 search --server "$SERVER" --service product-db --operation "SELECT products" --max-duration 6ms &&
    has "search by operation" "$OUT" "$TID"
run "search --json" 0 search --server "$SERVER" --service frontend --json && has "search --json" "$OUT" "\"spans\""
run "bad duration" 2 search --server "$SERVER" --min-duration 10parsecs && has "bad duration says so" "$ERR" "not a duration"
run "bad tag" 2 search --server "$SERVER" --tag novalue && has "bad tag says so" "$ERR" "KEY=VALUE"
run "unknown option" 2 search --server "$SERVER" --frobnicate 1 && has "unknown option says so" "$ERR" "unknown option"
run "server down" 3 services --server http://127.0.0.1:1 && has "server down says so" "$ERR" "cannot reach stitchd"
run "help" 0 search --help && has "search --help" "$OUT" "--min-duration"

if [ "$fails" -ne 0 ]; then
    echo "stitchd log:"; cat "$T/stitchd.log"
    echo "$fails failure(s)"
    exit 1
fi
echo "all passed"
