#!/usr/bin/env bash
# tests/integration/test_bad_input.sh — the catalogue of malformed input
# (issue "Hardening"): a real stitchd on free loopback ports gets more than
# fifty bad requests on its three ports — broken protobuf and JSON, wrong
# types, huge numbers, invalid UTF-8, ids of the wrong length, deep nesting,
# a gzip bomb, oversized bodies and headers, wrong content types, encodings
# and methods, bad query parameters, path tricks — and each must get the
# right status code and a message that says what was wrong. Afterwards the
# trace stored before the barrage must be intact and stitchd healthy.
# $1 = the build's bin directory.
set -u
BIN="${1:?usage: test_bad_input.sh BIN_DIR}"
fails=0
n=0
T=$(mktemp -d /tmp/stitch-bad-input.XXXXXX)
PID=
cleanup() {
    [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT

"$BIN/stitchd" --data "$T/data" --otlp-http 127.0.0.1:0 --zipkin 127.0.0.1:0 --http 127.0.0.1:0 \
    --max-body 1MiB --ready-file "$T/ready" --log-level error 2>"$T/stitchd.log" &
PID=$!
for _ in $(seq 1 200); do
    [ -s "$T/ready" ] && grep -q '^http=' "$T/ready" && break
    sleep 0.05
done
OTLP=http://$(sed -n 's/^otlp-http=//p' "$T/ready")
ZIPKIN=http://$(sed -n 's/^zipkin=//p' "$T/ready")
HTTP=http://$(sed -n 's/^http=//p' "$T/ready")
[ "$OTLP" != http:// ] && [ "$HTTP" != http:// ] || { echo "FAIL stitchd did not start"; cat "$T/stitchd.log"; exit 1; }

# check NAME WANT_STATUS WANT_IN_BODY URL [curl args…] — WANT_IN_BODY may be ""
check() {
    local name=$1 want=$2 grep_for=$3 url=$4
    shift 4
    n=$((n + 1))
    local code
    code=$(curl -s -o "$T/body" -w '%{http_code}' --max-time 30 "$@" "$url")
    if [ "$code" != "$want" ]; then
        echo "FAIL $name: HTTP $code, want $want"
        echo "  body: $(head -c 300 "$T/body" | tr -c '[:print:]\n' '.')"
        fails=$((fails + 1))
    elif [ -n "$grep_for" ] && ! grep -aqi -- "$grep_for" "$T/body"; then
        echo "FAIL $name: HTTP $code but the body lacks '$grep_for'"
        echo "  body: $(head -c 300 "$T/body" | tr -c '[:print:]\n' '.')"
        fails=$((fails + 1))
    else
        echo "ok   $name ($code)"
    fi
}
PB=(-H 'Content-Type: application/x-protobuf')
JS=(-H 'Content-Type: application/json')

# A good trace first; it must survive everything below.
TID=5b8efff798038103d269b633813fc60c
NOW=$(( $(date +%s) * 1000000000 ))
GOOD='{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"bad-input"}}]},"scopeSpans":[{"spans":[{"traceId":"'$TID'","spanId":"eee19b7ec3c1b174","name":"survivor","kind":2,"startTimeUnixNano":"'$NOW'","endTimeUnixNano":"'$((NOW + 1000000))'"}]}]}]}'
check "a good OTLP/JSON request" 200 "" "$OTLP/v1/traces" "${JS[@]}" --data-binary "$GOOD"

span_json() { # a request with one span whose fields are $1 (raw JSON members)
    printf '{"resourceSpans":[{"scopeSpans":[{"spans":[{%s}]}]}]}' "$1"
}
IDS='"traceId":"'$TID'","spanId":"0000000000000abc","name":"x","startTimeUnixNano":"1","endTimeUnixNano":"2"'

# ---- OTLP protobuf ----------------------------------------------------------------
printf '\x0a\x80\x01\x0a\x05' >"$T/trunc.pb"                      # length 128, 3 bytes follow
check "protobuf: truncated message" 400 "" "$OTLP/v1/traces" "${PB[@]}" --data-binary @"$T/trunc.pb"
printf '\x08\x01' >"$T/wiretype.pb"                              # field 1 as a varint
check "protobuf: wrong wire type" 400 "" "$OTLP/v1/traces" "${PB[@]}" --data-binary @"$T/wiretype.pb"
head -c 4096 /dev/urandom >"$T/random.pb"; printf '\x0f' >>"$T/random.pb"
check "protobuf: random bytes" 400 "" "$OTLP/v1/traces" "${PB[@]}" --data-binary @"$T/random.pb"
# ResourceSpans{ScopeSpans{Span{trace_id = 15 bytes, span_id = 8 bytes, name "x"}}}
printf '\x0a\x22\x12\x20\x12\x1e\x0a\x0f\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x12\x08\x01\x02\x03\x04\x05\x06\x07\x08\x2a\x01x' >"$T/shortid.pb"
check "protobuf: 15-byte trace id (partial success)" 200 "traceId: not 16 bytes" "$OTLP/v1/traces" "${PB[@]}" --data-binary @"$T/shortid.pb"
check "protobuf: empty body is an empty request" 200 "" "$OTLP/v1/traces" "${PB[@]}" --data-binary ''
printf '\x0a\xff\xff\xff\xff\x0f' >"$T/hugelen.pb"
check "protobuf: length prefix of 4 GiB" 400 "" "$OTLP/v1/traces" "${PB[@]}" --data-binary @"$T/hugelen.pb"
# Span attributes: an array nested 20,000 deep (once enough to overflow the
# stack of a recursive protobuf decoder), and a kvlist whose key and string are
# not UTF-8 (once a 503 "retry later" no retry could fix). Both are stored.
python3 - "$T" "$TID" <<'PY'
import sys
def var(n):
    o = bytearray()
    while True:
        b = n & 0x7f; n >>= 7
        o.append(b | (0x80 if n else 0))
        if not n: return bytes(o)
def ld(f, b): return var(f << 3 | 2) + var(len(b)) + b
tid = bytes.fromhex(sys.argv[2])
def req(sid, name, value):
    kv = ld(1, b"attr") + ld(2, value)
    span = ld(1, tid) + ld(2, sid) + ld(5, name) + ld(9, kv)
    return ld(1, ld(2, ld(2, span)))
deep = b""
for _ in range(20000):                 # AnyValue{array_value: ArrayValue{values: [deep]}}
    deep = ld(5, ld(1, deep))
open(sys.argv[1] + "/deep.pb", "wb").write(req(bytes.fromhex("00000000000d0001"), b"deep", deep))
kvl = ld(6, ld(1, ld(1, b"k\xff") + ld(2, ld(1, b"v\xfe"))))
open(sys.argv[1] + "/notutf8.pb", "wb").write(req(bytes.fromhex("00000000000d0002"), b"not-utf8", kvl))
PY
check "protobuf: an attribute of arrays nested 20,000 deep" 200 "" "$OTLP/v1/traces" "${PB[@]}" --data-binary @"$T/deep.pb"
check "protobuf: a kvlist attribute that is not UTF-8" 200 "" "$OTLP/v1/traces" "${PB[@]}" --data-binary @"$T/notutf8.pb"

# ---- OTLP JSON ------------------------------------------------------------------------
check "json: not JSON" 400 "" "$OTLP/v1/traces" "${JS[@]}" --data-binary 'this is not json'
check "json: empty body" 400 "" "$OTLP/v1/traces" "${JS[@]}" --data-binary ''
check "json: resourceSpans is a string" 400 "resourceSpans" "$OTLP/v1/traces" "${JS[@]}" --data-binary '{"resourceSpans":"x"}'
check "json: top level is a list" 400 "" "$OTLP/v1/traces" "${JS[@]}" --data-binary '[1,2,3]'
check "json: spans is a number" 400 "spans" "$OTLP/v1/traces" "${JS[@]}" --data-binary '{"resourceSpans":[{"scopeSpans":[{"spans":5}]}]}'
check "json: 30-hex trace id (partial success)" 200 "rejected" "$OTLP/v1/traces" "${JS[@]}" \
    --data-binary "$(span_json '"traceId":"5b8efff798038103d269b633813fc6","spanId":"0000000000000abc","name":"x","startTimeUnixNano":"1","endTimeUnixNano":"2"')"
check "json: non-hex span id (partial success)" 200 "rejected" "$OTLP/v1/traces" "${JS[@]}" \
    --data-binary "$(span_json '"traceId":"'$TID'","spanId":"zzzzzzzzzzzzzzzz","name":"x","startTimeUnixNano":"1","endTimeUnixNano":"2"')"
check "json: time 1e400" 400 "1e400" "$OTLP/v1/traces" "${JS[@]}" \
    --data-binary "$(span_json '"traceId":"'$TID'","spanId":"0000000000000abc","name":"x","startTimeUnixNano":1e400,"endTimeUnixNano":"2"')"
check "json: negative time" 400 "startTimeUnixNano" "$OTLP/v1/traces" "${JS[@]}" \
    --data-binary "$(span_json '"traceId":"'$TID'","spanId":"0000000000000abc","name":"x","startTimeUnixNano":"-5","endTimeUnixNano":"2"')"
check "json: time past 2^64" 400 "startTimeUnixNano" "$OTLP/v1/traces" "${JS[@]}" \
    --data-binary "$(span_json '"traceId":"'$TID'","spanId":"0000000000000abc","name":"x","startTimeUnixNano":"18446744073709551616","endTimeUnixNano":"2"')"
check "json: kind is a word it does not know (partial success)" 200 "kind" "$OTLP/v1/traces" "${JS[@]}" \
    --data-binary "$(span_json "$IDS"',"kind":"SIDEWAYS"')"
check "json: intValue is an object" 400 "64-bit integer" "$OTLP/v1/traces" "${JS[@]}" \
    --data-binary "$(span_json "$IDS"',"attributes":[{"key":"k","value":{"intValue":{}}}]')"
check "json: intValue past int64" 400 "64-bit integer" "$OTLP/v1/traces" "${JS[@]}" \
    --data-binary "$(span_json "$IDS"',"attributes":[{"key":"k","value":{"intValue":"9223372036854775808"}}]')"
printf '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"%s","spanId":"0000000000000abc","name":"\xff\xfe","startTimeUnixNano":"1","endTimeUnixNano":"2"}]}]}]}' "$TID" >"$T/utf8.json"
check "json: invalid UTF-8" 400 "" "$OTLP/v1/traces" "${JS[@]}" --data-binary @"$T/utf8.json"
{ printf '{"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[{"key":"k","value":{"arrayValue":{"values":'
  for _ in $(seq 1 5000); do printf '[{"arrayValue":{"values":'; done; printf '1'
  for _ in $(seq 1 5000); do printf '}}]'; done; printf '}}}]}]}]}]}'; } >"$T/deep.json"
check "json: nesting 10000 deep" 400 "" "$OTLP/v1/traces" "${JS[@]}" --data-binary @"$T/deep.json"
check "json: duplicate keys are fine, unknown fields ignored" 200 "" "$OTLP/v1/traces" "${JS[@]}" \
    --data-binary "$(span_json "$IDS"',"name":"y","futureField":{"a":[1,2]}')"

# ---- sizes, compression, content types, methods, paths (OTLP port) ------------------------
{ printf '{"resourceSpans":[{"scopeSpans":[{"spans":[{%s,"attributes":[' "$IDS"
  for i in $(seq 1 100000); do printf '{"key":"k%d","value":{"intValue":1}},' "$i"; done
  printf '{"key":"last","value":{"intValue":1}}]}]}]}]}'; } >"$T/attrs.json"
check "100,000 attributes on a span (over --max-body)" 413 "" "$OTLP/v1/traces" "${JS[@]}" --data-binary @"$T/attrs.json"
head -c 10485760 /dev/zero | tr '\0' 'a' >"$T/big"
{ printf '{"resourceSpans":[{"scopeSpans":[{"spans":[{%s,"attributes":[{"key":"k","value":{"stringValue":"' "$IDS"
  cat "$T/big"; printf '"}}]}]}]}]}'; } >"$T/bigvalue.json"
check "a 10 MB attribute value (over --max-body)" 413 "" "$OTLP/v1/traces" "${JS[@]}" --data-binary @"$T/bigvalue.json"
check "oversized body, chunked" 413 "" "$OTLP/v1/traces" "${JS[@]}" -H 'Transfer-Encoding: chunked' --data-binary @"$T/bigvalue.json"
head -c 67108864 /dev/zero | gzip -9 >"$T/bomb.gz"
check "gzip bomb (64 MiB of zeros in 64 KB)" 413 "" "$OTLP/v1/traces" "${PB[@]}" -H 'Content-Encoding: gzip' --data-binary @"$T/bomb.gz"
printf 'not gzip at all' >"$T/notgz"
check "gzip: corrupt stream" 400 "" "$OTLP/v1/traces" "${PB[@]}" -H 'Content-Encoding: gzip' --data-binary @"$T/notgz"
check "Content-Encoding: br" 415 "" "$OTLP/v1/traces" "${PB[@]}" -H 'Content-Encoding: br' --data-binary 'x'
check "Content-Type: text/plain" 415 "" "$OTLP/v1/traces" -H 'Content-Type: text/plain' --data-binary 'x'
check "no Content-Type" 415 "" "$OTLP/v1/traces" -H 'Content-Type:' --data-binary 'x'
check "Content-Type: application/xml" 415 "" "$OTLP/v1/traces" -H 'Content-Type: application/xml' --data-binary '<x/>'
check "GET /v1/traces" 405 "" "$OTLP/v1/traces"
check "PUT /v1/traces" 405 "" "$OTLP/v1/traces" -X PUT "${PB[@]}" --data-binary ''
check "DELETE /v1/traces" 405 "" "$OTLP/v1/traces" -X DELETE
check "unknown path /v1/trace" 404 "" "$OTLP/v1/trace" "${PB[@]}" --data-binary ''
check "path trick /v1/traces/../../etc/passwd" 404 "" "$OTLP/v1/traces/../../etc/passwd" --path-as-is
check "/v1/metrics is not ours" 404 "" "$OTLP/v1/metrics" "${PB[@]}" --data-binary ''
check "a 100 KB header" 431 "" "$OTLP/v1/traces" "${PB[@]}" -H "X-Big: $(head -c 102400 /dev/zero | tr '\0' 'h')" --data-binary ''

# ---- Zipkin ------------------------------------------------------------------------------
check "zipkin: an object, not a list" 400 "" "$ZIPKIN/api/v2/spans" "${JS[@]}" --data-binary '{}'
check "zipkin: a list of numbers" 400 "" "$ZIPKIN/api/v2/spans" "${JS[@]}" --data-binary '[1,2]'
check "zipkin: not JSON" 400 "" "$ZIPKIN/api/v2/spans" "${JS[@]}" --data-binary '[{'
check "zipkin: 20-hex trace id" 400 "traceId" "$ZIPKIN/api/v2/spans" "${JS[@]}" \
    --data-binary '[{"traceId":"5b8efff798038103d269","id":"0000000000000abc","name":"x"}]'
check "zipkin: missing id" 400 "id" "$ZIPKIN/api/v2/spans" "${JS[@]}" --data-binary '[{"traceId":"5b8efff798038103"}]'
check "zipkin: negative timestamp" 400 "timestamp" "$ZIPKIN/api/v2/spans" "${JS[@]}" \
    --data-binary '[{"traceId":"5b8efff798038103","id":"0000000000000abc","timestamp":-5}]'
check "zipkin: kind SIDEWAYS" 400 "kind" "$ZIPKIN/api/v2/spans" "${JS[@]}" \
    --data-binary '[{"traceId":"5b8efff798038103","id":"0000000000000abc","kind":"SIDEWAYS"}]'
check "zipkin: Content-Type text/plain" 415 "" "$ZIPKIN/api/v2/spans" -H 'Content-Type: text/plain' --data-binary '[]'
check "zipkin: DELETE /api/v2/spans" 405 "" "$ZIPKIN/api/v2/spans" -X DELETE
check "zipkin: /api/v2/spans needs serviceName" 400 "serviceName" "$ZIPKIN/api/v2/spans"
check "zipkin: empty list is fine" 202 "" "$ZIPKIN/api/v2/spans" "${JS[@]}" --data-binary '[]'

# ---- the query API ----------------------------------------------------------------------------
check "trace id not hex" 400 "" "$HTTP/api/traces/xyz"
check "trace id too long" 400 "" "$HTTP/api/traces/5b8efff798038103d269b633813fc60c00"
check "unknown trace id" 404 "trace not found" "$HTTP/api/traces/0123456789abcdef0123456789abcdef"
check "limit=-1" 400 "limit" "$HTTP/api/traces?service=bad-input&limit=-1"
check "limit=abc" 400 "limit" "$HTTP/api/traces?service=bad-input&limit=abc"
check "minDuration=10parsecs" 400 "minDuration" "$HTTP/api/traces?service=bad-input&minDuration=10parsecs"
check "maxDuration=-1s" 400 "maxDuration" "$HTTP/api/traces?service=bad-input&maxDuration=-1s"
check "start=yesterday" 400 "start" "$HTTP/api/traces?service=bad-input&start=yesterday"
check "start=2^70" 400 "start" "$HTTP/api/traces?service=bad-input&start=1180591620717411303424"
check "tags is broken JSON" 400 "tags" "$HTTP/api/traces?service=bad-input&tags=%7Bbroken"
check "tags is a list" 400 "tags" "$HTTP/api/traces?service=bad-input&tags=%5B1%5D"
check "traceID=zz" 400 "traceID" "$HTTP/api/traces?traceID=zz"
check "dependencies endTs=abc" 400 "endTs" "$HTTP/api/dependencies?endTs=abc&lookback=1000"
check "v3: start_time_min=yesterday" 400 "" "$HTTP/api/v3/traces?query.service_name=bad-input&query.start_time_min=yesterday&query.start_time_max=2026-01-01T00:00:00Z"
check "v3: trace id not hex" 400 "" "$HTTP/api/v3/traces/nothex"
check "zipkin query: minDuration=-5" 400 "minDuration" "$ZIPKIN/api/v2/traces?minDuration=-5"
check "zipkin query: trace id not hex" 400 "" "$ZIPKIN/api/v2/trace/nothex"
check "zipkin query: endTs=soon" 400 "endTs" "$ZIPKIN/api/v2/traces?endTs=soon"
check "unknown API path" 404 "" "$HTTP/api/nothing/here"
check "POST on the query API" 405 "" "$HTTP/api/traces" "${JS[@]}" --data-binary '{}'
check "POST /metrics" 405 "" "$HTTP/metrics" --data-binary 'x'
check "path trick on the HTTP port" 404 "" "$HTTP/../../../../etc/passwd" --path-as-is
check "encoded path trick" 404 "" "$HTTP/static/..%2f..%2f..%2fetc%2fpasswd" --path-as-is
check "a 100 KB URL" 414 "" "$HTTP/api/traces?service=$(head -c 102400 /dev/zero | tr '\0' 's')"

echo "$n requests"
# ---- afterwards: stitchd alive, the good trace intact -------------------------------------------
code=$(curl -s -o "$T/body" -w '%{http_code}' "$HTTP/api/traces/$TID")
if [ "$code" = 200 ] && grep -q '"operationName":"survivor"' "$T/body" && grep -q '"serviceName":"bad-input"' "$T/body"; then
    echo "ok   the trace stored before the barrage is intact"
else
    echo "FAIL the trace stored before the barrage: HTTP $code $(head -c 300 "$T/body")"
    fails=$((fails + 1))
fi
# the deep and the non-UTF-8 attributes were stored, rendered (64 levels deep; U+FFFD)
if grep -q '"operationName":"deep"' "$T/body" && grep -q '"operationName":"not-utf8"' "$T/body" &&
    grep -q '\[\[\[\[\[\[\[\[' "$T/body" && grep -q $'k\xef\xbf\xbd' "$T/body"; then
    echo "ok   the nested and the non-UTF-8 attributes are stored"
else
    echo "FAIL the nested and the non-UTF-8 attributes: $(head -c 300 "$T/body")"
    fails=$((fails + 1))
fi
if kill -0 "$PID" 2>/dev/null && [ "$(curl -s -o /dev/null -w '%{http_code}' "$HTTP/healthz")" = 200 ]; then
    echo "ok   stitchd is healthy"
else
    echo "FAIL stitchd is not healthy"; fails=$((fails + 1))
fi
[ "$n" -ge 50 ] || { echo "FAIL only $n cases"; fails=$((fails + 1)); }
if [ "$fails" -ne 0 ]; then
    echo "stitchd log:"; tail -20 "$T/stitchd.log"
    echo "$fails failure(s)"
    exit 1
fi
echo "all passed"
