#!/usr/bin/env bash
# tests/integration/test_cli_headers.sh — runs the real `stitch` binary
# ($1 = the build's bin directory) and checks `stitch headers decode`'s
# exact JSON lines and exit codes, plus --help/--version and usage errors.
set -u
BIN="${1:?usage: test_cli_headers.sh BIN_DIR}/stitch"
fails=0

# check NAME WANT_RC WANT_STDOUT -- ARGS...   (stdin from $STDIN if set)
check() {
    local name=$1 want_rc=$2 want=$3
    shift 4
    local out rc
    if [ -n "${STDIN+x}" ]; then
        out=$(printf '%b' "$STDIN" | "$BIN" "$@" 2>/tmp/stitch_cli_err.$$); rc=$?
    else
        out=$("$BIN" "$@" 2>/tmp/stitch_cli_err.$$ </dev/null); rc=$?
    fi
    if [ "$rc" != "$want_rc" ] || [ "$out" != "$want" ]; then
        echo "FAIL $name: rc=$rc (want $want_rc)"
        echo "  got:  $out"
        echo "  want: $want"
        fails=$((fails + 1))
    else
        echo "ok   $name"
    fi
}

TP='00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'
W3C='{"format":"w3c","valid":true,"trace_id":"0af7651916cd43dd8448eb211c80319c","span_id":"b7ad6b7169203331","parent_span_id":null,"sampled":true,"debug":false,"tracestate":"congo=t61rcWkgMzE,rojo=00f067aa0ba902b7","error":null}'
check w3c 0 "$W3C" -- headers decode "TraceParent: $TP" 'tracestate: congo=t61rcWkgMzE' 'TRACESTATE:  rojo=00f067aa0ba902b7 '

STDIN="traceparent: $TP\r\ntracestate: congo=t61rcWkgMzE\r\n\r\ntracestate: rojo=00f067aa0ba902b7\n"
check w3c-stdin 0 "$W3C" -- headers decode
unset STDIN

check w3c-bad-tracestate 0 '{"format":"w3c","valid":true,"trace_id":"0af7651916cd43dd8448eb211c80319c","span_id":"b7ad6b7169203331","parent_span_id":null,"sampled":false,"debug":false,"tracestate":null,"error":null}' \
    -- headers decode 'traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00' 'tracestate: a=1,a=2'

check w3c-repeated 1 '{"format":"w3c","valid":false,"trace_id":null,"span_id":null,"parent_span_id":null,"sampled":null,"debug":false,"tracestate":null,"error":"repeated traceparent header"}' \
    -- headers decode "traceparent: $TP" "traceparent: $TP"

check w3c-ff 1 '{"format":"w3c","valid":false,"trace_id":null,"span_id":null,"parent_span_id":null,"sampled":null,"debug":false,"tracestate":null,"error":"traceparent version ff is invalid"}' \
    -- headers decode 'traceparent: ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'

check b3-full 0 '{"format":"b3","valid":true,"trace_id":"80f198ee56343ba864fe8b2a57d3eff7","span_id":"e457b5a2e4d86bd1","parent_span_id":"05e3ac9a4f6e3b90","sampled":true,"debug":false,"tracestate":null,"error":null}' \
    -- headers decode 'b3: 80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90'

check b3-64bit-deferred 0 '{"format":"b3","valid":true,"trace_id":"000000000000000064fe8b2a57d3eff7","span_id":"e457b5a2e4d86bd1","parent_span_id":null,"sampled":null,"debug":false,"tracestate":null,"error":null}' \
    -- headers decode 'B3: 64fe8b2a57d3eff7-e457b5a2e4d86bd1'

check b3-debug 0 '{"format":"b3","valid":true,"trace_id":null,"span_id":null,"parent_span_id":null,"sampled":true,"debug":true,"tracestate":null,"error":null}' \
    -- headers decode 'b3: d'

check b3-trailing-dash 1 '{"format":"b3","valid":false,"trace_id":null,"span_id":null,"parent_span_id":null,"sampled":null,"debug":false,"tracestate":null,"error":"b3 header ends with '"'-'"'"}' \
    -- headers decode 'b3: 80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-'

check b3multi 0 '{"format":"b3multi","valid":true,"trace_id":"0000000000000000463ac35c9f6413ad","span_id":"a2fb4a1d1a96d312","parent_span_id":"0020000000000001","sampled":true,"debug":true,"tracestate":null,"error":null}' \
    -- headers decode 'X-B3-TraceId: 463ac35c9f6413ad' 'x-b3-spanid: a2fb4a1d1a96d312' 'X-B3-ParentSpanId: 0020000000000001' 'X-B3-Flags: 1'

check b3multi-upper 1 '{"format":"b3multi","valid":false,"trace_id":null,"span_id":null,"parent_span_id":null,"sampled":null,"debug":false,"tracestate":null,"error":"X-B3-TraceId must be 16 or 32 lower-case hex digits, not all zero"}' \
    -- headers decode 'X-B3-TraceId: 463AC35C9F6413AD' 'X-B3-SpanId: a2fb4a1d1a96d312'

check jaeger 0 '{"format":"jaeger","valid":true,"trace_id":"00000000000000000000000000000abc","span_id":"00000000000000ef","parent_span_id":null,"sampled":true,"debug":false,"tracestate":null,"error":null}' \
    -- headers decode 'uber-trace-id: abc%3Aef%3A0%3A1'

check order 0 "$(printf '%s\n' \
'{"format":"w3c","valid":false,"trace_id":null,"span_id":null,"parent_span_id":null,"sampled":null,"debug":false,"tracestate":null,"error":"traceparent too short"}' \
'{"format":"b3","valid":true,"trace_id":null,"span_id":null,"parent_span_id":null,"sampled":false,"debug":false,"tracestate":null,"error":null}' \
'{"format":"jaeger","valid":true,"trace_id":"00000000000000000000000000000001","span_id":"0000000000000002","parent_span_id":"0000000000000003","sampled":false,"debug":false,"tracestate":null,"error":null}' \
'{"format":"baggage","valid":true,"entries":{"user":"alice smith","k":"v"},"error":null}')" \
    -- headers decode 'baggage: user=alice%20smith;ttl=1' 'uber-trace-id: 1:2:3:0' 'b3: 0' 'traceparent: 00-x' 'Baggage: k=v'

check baggage-only 1 '{"format":"baggage","valid":false,"entries":{"a":"1"},"error":"baggage members were malformed or over the limits and were dropped"}' \
    -- headers decode 'baggage: a=1,bad'

check nothing 1 '' -- headers decode 'Content-Type: text/plain'
check no-colon 2 '' -- headers decode 'traceparent'
check bad-flag 2 '' -- headers decode --frob
check bad-sub 2 '' -- headers encode
check bad-cmd 2 '' -- frobnicate
check no-args 2 '' --
check version 0 'stitch 0.1.0' -- --version

out=$("$BIN" --help); rc=$?
if [ $rc -ne 0 ] || ! grep -q 'headers' <<<"$out"; then echo "FAIL --help"; fails=$((fails + 1)); else echo "ok   --help"; fi
out=$("$BIN" headers --help); rc=$?
if [ $rc -ne 0 ] || ! grep -q 'stitch headers decode' <<<"$out"; then echo "FAIL headers --help"; fails=$((fails + 1)); else echo "ok   headers --help"; fi
"$BIN" headers decode nocolon 2>/tmp/stitch_cli_err.$$ >/dev/null
if ! grep -q 'not a header line' /tmp/stitch_cli_err.$$; then echo "FAIL usage message on stderr"; fails=$((fails + 1)); else echo "ok   usage message"; fi

rm -f /tmp/stitch_cli_err.$$
echo "$fails failure(s)"
[ $fails -eq 0 ]
