#!/usr/bin/env bash
# tests/integration/test_slow_clients.sh — slow and stuck clients cannot
# starve the others (issue "Hardening"): against a real stitchd with small
# limits (--max-connections 64, --idle-timeout 2s, --request-timeout 3s,
# --header-timeout 3s),
#  - a body trickled one byte at a time is cut off after --request-timeout,
#    while other clients are served at once;
#  - a request head trickled one byte at a time (slowloris) is cut off after
#    --header-timeout, counted in /metrics and logged;
#  - connections that send nothing fill the OTLP listener's quota, yet the
#    query port (its own listener) answers, and once --idle-timeout closes
#    them the OTLP port accepts spans again — by itself.
# $1 = the build's bin directory.
set -u
BIN="${1:?usage: test_slow_clients.sh BIN_DIR}"
fails=0
T=$(mktemp -d /tmp/stitch-slow.XXXXXX)
PID=
TRICKLE=
cleanup() {
    [ -n "$TRICKLE" ] && kill "$TRICKLE" 2>/dev/null
    [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
ok() { echo "ok   $1"; }
fail() { echo "FAIL $1"; fails=$((fails + 1)); }

"$BIN/stitchd" --data "$T/data" --otlp-http 127.0.0.1:0 --zipkin off --http 127.0.0.1:0 \
    --max-connections 64 --idle-timeout 2s --request-timeout 3s --header-timeout 3s \
    --ready-file "$T/ready" --log-level warn 2>"$T/stitchd.log" &
PID=$!
for _ in $(seq 1 200); do
    [ -s "$T/ready" ] && grep -q '^http=' "$T/ready" && break
    sleep 0.05
done
OTLP_ADDR=$(sed -n 's/^otlp-http=//p' "$T/ready")
HTTP=http://$(sed -n 's/^http=//p' "$T/ready")
[ -n "$OTLP_ADDR" ] || { echo "FAIL stitchd did not start"; cat "$T/stitchd.log"; exit 1; }
HOST=${OTLP_ADDR%:*}
PORT=${OTLP_ADDR##*:}

post() { # → HTTP status of a small valid OTLP/JSON request (5 s at most)
    curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H 'Content-Type: application/json' \
        --data-binary '{"resourceSpans":[]}' "http://$OTLP_ADDR/v1/traces"
}

# trickle HEAD BYTE: in the background, open a connection, send HEAD, then BYTE every
# 0.3 s (often enough for the idle timeout of 2 s) for up to 15 s; $T/cut gets the
# seconds until stitchd closed the connection, or "never". Sets TRICKLE.
trickle() {
    rm -f "$T/cut"
    (
        trap '' PIPE # a write to the closed connection fails instead of killing us
        exec 3<>"/dev/tcp/$HOST/$PORT" || exit 1
        printf '%b' "$1" >&3
        start=$SECONDS
        while [ $((SECONDS - start)) -lt 15 ]; do
            printf '%s' "$2" >&3 2>/dev/null || { echo $((SECONDS - start)) >"$T/cut"; exit 0; }
            sleep 0.3
        done
        echo never >"$T/cut"
    ) &
    TRICKLE=$!
}

# ---- a body that never ends -------------------------------------------------------------
trickle 'POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{' ' '
sleep 1
t0=$(date +%s%N)
code=$(post)
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$code" = 200 ] && [ "$ms" -lt 2000 ] && ok "others are served while a body trickles (${ms} ms)" ||
    fail "a request during the trickle: HTTP $code in ${ms} ms"
wait "$TRICKLE"
TRICKLE=
cut=$(cat "$T/cut" 2>/dev/null)
if [ -n "$cut" ] && [ "$cut" != never ] && [ "$cut" -le 8 ]; then
    ok "the trickled body is cut off after --request-timeout (${cut} s)"
else
    fail "the trickled body was not cut off (${cut:-?})"
fi
grep -q 'request body too slow' "$T/stitchd.log" && ok "and stitchd says so in its log" || fail "no log line for the slow body"

# ---- a request head that never ends (slowloris) ---------------------------------------------
trickle 'POST /v1/traces HTTP/1.1\r\nHost: x\r\n' 'a' # a header line that never ends
sleep 1
code=$(post)
[ "$code" = 200 ] && ok "others are served while a request head trickles" || fail "a request during the head trickle: HTTP $code"
wait "$TRICKLE"
TRICKLE=
cut=$(cat "$T/cut" 2>/dev/null)
if [ -n "$cut" ] && [ "$cut" != never ] && [ "$cut" -le 8 ]; then
    ok "the trickled request head is cut off after --header-timeout (${cut} s)"
else
    fail "the trickled request head was not cut off (${cut:-?})"
fi
grep -q 'request head too slow' "$T/stitchd.log" && ok "and stitchd says so in its log" || fail "no log line for the slow head"
n=$(curl -s "$HTTP/metrics" | sed -n 's/^stitchd_http_header_timeouts_total{listener="otlp-http"} //p')
[ "${n:-0}" -ge 1 ] && ok "and counts it (stitchd_http_header_timeouts_total = $n)" || fail "header timeouts not counted (${n:-none})"
# a kept-alive connection whose next request comes at once is not cut
code=$(curl -s -o /dev/null -w '%{http_code}\n' --max-time 10 -H 'Content-Type: application/json' \
    --data-binary '{"resourceSpans":[]}' "http://$OTLP_ADDR/v1/traces" --next -s -o /dev/null -w '%{http_code}\n' -H 'Content-Type: application/json' \
    --data-binary '{"resourceSpans":[]}' "http://$OTLP_ADDR/v1/traces" | tr '\n' ' ')
[ "$code" = "200 200 " ] && ok "two requests on one kept-alive connection are served ($code)" || fail "keep-alive: $code"

# ---- connections that send nothing ---------------------------------------------------------
fds=()
for _ in $(seq 1 80); do
    exec {fd}<>"/dev/tcp/$HOST/$PORT" 2>/dev/null && fds+=("$fd")
done
sleep 0.3
code=$(post)
[ "$code" != 200 ] && ok "the OTLP listener's quota is full (a further request: $code)" ||
    fail "80 idle connections did not fill a quota of 64"
qcode=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$HTTP/api/services")
[ "$qcode" = 200 ] && ok "the query port still answers" || fail "query port: HTTP $qcode"
code=
for _ in $(seq 1 40); do
    code=$(post)
    [ "$code" = 200 ] && break
    sleep 0.25
done
[ "$code" = 200 ] && ok "after --idle-timeout the OTLP port accepts spans again" || fail "OTLP port after idle timeout: $code"
for fd in "${fds[@]}"; do exec {fd}>&-; done
kill -0 "$PID" 2>/dev/null && ok "stitchd is alive" || fail "stitchd died"

if [ "$fails" -ne 0 ]; then
    echo "stitchd log:"; tail -20 "$T/stitchd.log"
    echo "$fails failure(s)"
    exit 1
fi
echo "all passed"
