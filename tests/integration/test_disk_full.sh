#!/usr/bin/env bash
# tests/integration/test_disk_full.sh — a full disk (issue "Hardening"):
# stitchd's data directory sits on a small tmpfs of its own (a private mount
# namespace: `unshare -m` as root, `unshare -rm` otherwise, so nothing
# outside the test sees it); a span is stored, the disk is filled, and
# stitchd must refuse spans with 503 + Retry-After and a message that says
# the disk is full, stay healthy, resume by itself when space returns, and
# have lost nothing it acknowledged. $1 = the build's bin directory.
set -u
BIN="${1:?usage: test_disk_full.sh BIN_DIR}"
BIN=$(cd "$BIN" && pwd)

if [ "${STITCH_IN_NS:-}" != 1 ]; then
    if [ "$(id -u)" = 0 ]; then ns=(unshare -m --propagation private); else ns=(unshare -rm --propagation private); fi
    if ! "${ns[@]}" true 2>/dev/null; then
        echo "SKIP: cannot create a mount namespace here (${ns[*]})"
        exit 77
    fi
    STITCH_IN_NS=1 exec "${ns[@]}" bash "$0" "$BIN"
fi

fails=0
T=$(mktemp -d /tmp/stitch-disk-full.XXXXXX)
PID=
cleanup() {
    [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
    umount "$T/mnt" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
ok() { echo "ok   $1"; }
fail() { echo "FAIL $1"; fails=$((fails + 1)); }

mkdir -p "$T/mnt"
mount -t tmpfs -o size=32m tmpfs "$T/mnt" || { echo "SKIP: cannot mount a tmpfs"; exit 77; }

"$BIN/stitchd" --data "$T/mnt/data" --min-free 8MiB --otlp-http 127.0.0.1:0 --zipkin off \
    --http 127.0.0.1:0 --ready-file "$T/ready" --log-level warn 2>"$T/stitchd.log" &
PID=$!
for _ in $(seq 1 200); do
    [ -s "$T/ready" ] && grep -q '^http=' "$T/ready" && break
    sleep 0.05
done
OTLP=http://$(sed -n 's/^otlp-http=//p' "$T/ready")
HTTP=http://$(sed -n 's/^http=//p' "$T/ready")
[ "$HTTP" != http:// ] || { echo "FAIL stitchd did not start"; cat "$T/stitchd.log"; exit 1; }

NOW=$(( $(date +%s) * 1000000000 ))
send() { # TRACE_ID NAME → HTTP status; body in $T/resp, headers in $T/hdr
    local body='{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"disk"}}]},"scopeSpans":[{"spans":[{"traceId":"'$1'","spanId":"00000000000000a1","name":"'$2'","startTimeUnixNano":"'$NOW'","endTimeUnixNano":"'$((NOW + 1000))'"}]}]}]}'
    curl -s -D "$T/hdr" -o "$T/resp" -w '%{http_code}' -H 'Content-Type: application/json' \
        --data-binary "$body" "$OTLP/v1/traces"
}
stored() { # TRACE_ID NAME → 0 when the span is there
    curl -s "$HTTP/api/traces/$1" | grep -q "\"operationName\":\"$2\""
}

A=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1
B=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb2
C=ccccccccccccccccccccccccccccccc3
[ "$(send $A before)" = 200 ] && ok "a span is stored while there is room" || fail "first span: $(cat "$T/resp")"

# fill the disk to less than --min-free
avail=$(df -B1 --output=avail "$T/mnt" | tail -1)
fill=$(( avail - 2 * 1024 * 1024 ))
if [ "$fill" -gt 0 ]; then
    head -c "$fill" /dev/zero >"$T/mnt/filler" 2>/dev/null
fi
sleep 0.5 # stitchd looks at the free space at most every 250 ms
code=$(send $B during)
if [ "$code" = 503 ] && grep -qi 'disk is full' "$T/resp" && grep -qi '^Retry-After:' "$T/hdr"; then
    ok "full disk: 503 + Retry-After, and the message says why"
else
    fail "full disk: HTTP $code $(cat "$T/resp")"
fi
[ "$(curl -s -o /dev/null -w '%{http_code}' "$HTTP/healthz")" = 200 ] && ok "healthy while the disk is full" || fail "healthz while full"
curl -s "$HTTP/metrics" | grep -q 'reason="disk_full"} [1-9]' && ok "refusals counted in /metrics" || fail "disk_full metric"
stored $A before && ok "the acknowledged span is still there" || fail "span stored before the disk filled"
stored $B during && fail "a refused span was stored anyway" || ok "the refused span was not stored"

rm -f "$T/mnt/filler"
code=""
for _ in $(seq 1 50); do
    code=$(send $C after)
    [ "$code" = 200 ] && break
    sleep 0.2
done
[ "$code" = 200 ] && ok "resumes by itself when space returns" || fail "after freeing space: HTTP $code $(cat "$T/resp")"
stored $A before && stored $C after && ok "nothing lost: the spans before and after are there" || fail "spans after recovery"
kill -0 "$PID" 2>/dev/null && ok "stitchd never exited" || fail "stitchd died"

if [ "$fails" -ne 0 ]; then
    echo "stitchd log:"; tail -20 "$T/stitchd.log"
    echo "$fails failure(s)"
    exit 1
fi
echo "all passed"
