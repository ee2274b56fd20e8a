#!/usr/bin/env bash
# tests/clickhouse/test_stitchd.sh BIN_DIR — stitchd with --storage clickhouse
# end to end, against a throwaway clickhouse-server (clickhouse.sh):
#  1. two stitchd collectors write to one ClickHouse, each getting half of
#     the same traces, while a third stitchd (receivers off) serves queries:
#     traces come back whole, search and services answer as from one store;
#  2. ClickHouse is killed (-9) and restarted while three clients send: every span a
#     collector acknowledged (200) is there afterwards;
#  3. a database holding the first schema's tables: reported at start, left alone.
# Everything started here is stopped on exit, pass or fail.
set -u
BIN="${1:?usage: test_stitchd.sh BIN_DIR}"
. "$(dirname "$0")/clickhouse.sh"
ch_server_bin >/dev/null || { echo "clickhouse-server is not installed (scripts/setup.sh)"; exit 77; }
T=$(mktemp -d /tmp/stitch-ch-e2e.XXXXXX)
PIDS=""
fails=0
cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null; done
    for p in $PIDS; do wait "$p" 2>/dev/null; done
    ch_stop_all
    rm -rf "$T"
}
trap cleanup EXIT
trap "exit 1" INT TERM HUP PIPE # so the EXIT trap stops what was started
ok() { echo "ok   $1"; }
fail() { echo "FAIL $1"; shift; for l in "$@"; do echo "  $l"; done; fails=$((fails + 1)); }

ch_start one || exit 1
CHURL=http://127.0.0.1:$CH_one_HTTP

# start_stitchd NAME [ARGS...]: sets <NAME>_OTLP and <NAME>_HTTP
start_stitchd() {
    local name=$1
    shift
    "$BIN/stitchd" --data "$T/$name" --storage clickhouse --clickhouse-url "$CHURL" \
        --clickhouse-database e2e --zipkin off --http 127.0.0.1:0 --ready-file "$T/$name.ready" \
        --log-level warn "$@" 2>"$T/$name.log" &
    PIDS="$PIDS $!"
    for _ in $(seq 1 200); do
        [ -s "$T/$name.ready" ] && grep -q '^http=' "$T/$name.ready" && break
        sleep 0.05
    done
    eval "${name}_OTLP=$(sed -n 's/^otlp-http=//p' "$T/$name.ready")"
    eval "${name}_HTTP=$(sed -n 's/^http=//p' "$T/$name.ready")"
    if ! grep -q '^http=' "$T/$name.ready" 2>/dev/null; then
        echo "FAIL stitchd $name did not start"; cat "$T/$name.log"; exit 1
    fi
}
start_stitchd a --otlp-http 127.0.0.1:0
start_stitchd b --otlp-http 127.0.0.1:0
start_stitchd q --otlp-http off

NOW=$(( $(date +%s) * 1000000000 - 60000000000 ))
# body TRACE_HEX SVC FIRST_SPAN COUNT: COUNT spans of one trace, one service
body() {
    local tid=$1 svc=$2 first=$3 n=$4 spans="" i
    for i in $(seq "$first" $((first + n - 1))); do
        local parent=""
        [ "$i" -gt 1 ] && parent="\"parentSpanId\":\"$(printf '%016x' 1)\","
        spans="$spans${spans:+,}{\"traceId\":\"$tid\",\"spanId\":\"$(printf '%016x' "$i")\",$parent\"name\":\"op$i\",\"kind\":2,\"startTimeUnixNano\":\"$((NOW + i * 1000000))\",\"endTimeUnixNano\":\"$((NOW + i * 1000000 + 500000))\",\"attributes\":[{\"key\":\"shard.test\",\"value\":{\"stringValue\":\"$svc-$i\"}}]}"
    done
    printf '{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"%s"}}]},"scopeSpans":[{"spans":[%s]}]}]}' "$svc" "$spans"
}
post() { # ADDR BODY -> HTTP code
    curl -s -o /dev/null -w '%{http_code}' --max-time 60 -H 'Content-Type: application/json' \
        --data-binary "$2" "http://$1/v1/traces"
}

# ---- 1. two collectors, one query server -------------------------------------------
bad=0
for t in $(seq 1 20); do
    tid=$(printf 'c0ffee%026x' "$t")
    [ "$(post "$a_OTLP" "$(body "$tid" front 1 3)")" = 200 ] || bad=$((bad + 1))
    [ "$(post "$b_OTLP" "$(body "$tid" back 4 3)")" = 200 ] || bad=$((bad + 1))
done
[ $bad = 0 ] && ok "40 requests acknowledged by two collectors" || fail "collectors acknowledged" "$bad refused"
whole=0
for t in $(seq 1 20); do
    tid=$(printf 'c0ffee%026x' "$t")
    n=$(curl -s "http://$q_HTTP/api/traces/$tid" | jq '.data[0].spans | length')
    [ "$n" = 6 ] && whole=$((whole + 1))
done
[ $whole = 20 ] && ok "the query stitchd returns all 20 traces whole (6 spans from two collectors)" ||
    fail "traces whole" "$whole of 20"
svcs=$(curl -s "http://$q_HTTP/api/services" | jq -c '.data')
[ "$svcs" = '["back","front"]' ] && ok "services: both collectors' services" || fail "services" "$svcs"
n=$(curl -s "http://$q_HTTP/api/traces?service=back&tag=shard.test:back-5&limit=50" | jq '.data | length')
[ "$n" = 20 ] && ok "search by service and tag finds every trace" || fail "search" "got $n traces"
n=$(curl -s "http://$q_HTTP/api/traces?service=back&limit=7" | jq '[.data[].spans | length] | add')
[ "$n" = 42 ] && ok "search returns whole traces (7 x 6 spans)" || fail "search whole" "got $n spans"
deps=$(curl -s "http://$q_HTTP/api/dependencies?endTs=$(( $(date +%s) * 1000 ))&lookback=3600000" | jq -c '.data')
case "$deps" in *'"parent":"front","child":"back","callCount":60'*) ok "dependencies front -> back" ;;
    *) fail "dependencies" "$deps" ;; esac

# ---- 2. ClickHouse restarted during ingest --------------------------------------------
sender() { # ID ADDR: 20 traces of 4 spans, one request each; acknowledged ids to $T/acked.ID
    local id=$1 addr=$2 t
    for t in $(seq 1 20); do
        local tid
        tid=$(printf 'ab%02x%028x' "$id" "$t")
        if [ "$(post "$addr" "$(body "$tid" restart 1 4)")" = 200 ]; then echo "$tid" >>"$T/acked.$id"; fi
        sleep 0.02
    done
}
sender 1 "$a_OTLP" & s1=$!
sender 2 "$b_OTLP" & s2=$!
sender 3 "$a_OTLP" & s3=$!
sleep 0.4
ch_restart one KILL || fail "clickhouse restarted" "$(tail -3 "$CH_ROOT/one/log/error.log")"
wait $s1 $s2 $s3
acked=$(cat "$T"/acked.* 2>/dev/null | wc -l)
lost=0
for tid in $(cat "$T"/acked.* 2>/dev/null); do
    n=$(curl -s "http://$q_HTTP/api/traces/$tid" | jq '.data[0].spans | length' 2>/dev/null)
    [ "$n" = 4 ] || { lost=$((lost + 1)); echo "  lost: $tid ($n spans)"; }
done
[ "$acked" -gt 30 ] && [ $lost = 0 ] && ok "restart during ingest: $acked of 60 acknowledged, none lost" ||
    fail "restart during ingest" "$acked acknowledged, $lost lost"
grep -q "insert failed, retrying" "$T"/a.log "$T"/b.log && ok "the collectors retried while ClickHouse was down" ||
    echo "note: no insert hit the restart (timing)"

# ---- 3. a database with the first schema's tables ------------------------------------
# (spans + traces + spans_in, each span written twice): stitchd leaves them alone, says
# so, and works on its own tables beside them.
ch_query one "CREATE DATABASE old1" >/dev/null
ch_query one "CREATE TABLE old1.traces (day Date, trace_id FixedString(16), start_ns UInt64, span String) ENGINE = MergeTree PARTITION BY day ORDER BY (trace_id, start_ns)" >/dev/null
ch_query one "CREATE TABLE old1.spans_in (trace_id FixedString(16), span String) ENGINE = Null" >/dev/null
"$BIN/stitchd" --data "$T/old" --storage clickhouse --clickhouse-url "$CHURL" --clickhouse-database old1 \
    --zipkin off --otlp-http 127.0.0.1:0 --http 127.0.0.1:0 --ready-file "$T/old.ready" --log-level warn 2>"$T/old.log" &
PIDS="$PIDS $!"
for _ in $(seq 1 200); do grep -q '^http=' "$T/old.ready" 2>/dev/null && break; sleep 0.05; done
o_otlp=$(sed -n 's/^otlp-http=//p' "$T/old.ready")
o_http=$(sed -n 's/^http=//p' "$T/old.ready")
grep -q "tables of an older stitch schema found" "$T/old.log" && ok "an old-schema database is reported at start" ||
    fail "old schema reported" "$(cat "$T/old.log")"
tid=$(printf '01d5c4e3a%023x' 1)
code=$(post "$o_otlp" "$(body "$tid" oldsvc 1 2)")
n=$(curl -s "http://$o_http/api/traces/$tid" | jq '.data[0].spans | length')
[ "$code" = 200 ] && [ "$n" = 2 ] && ok "and stitchd works beside its tables" || fail "beside old tables" "post $code, $n spans"

if [ $fails -gt 0 ]; then
    for n in a b q old; do echo "--- stitchd $n log"; tail -20 "$T/$n.log" 2>/dev/null; done
    exit 1
fi
