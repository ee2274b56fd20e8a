#!/usr/bin/env bash
# tests/clickhouse/test_cluster.sh BIN_DIR — stitchd on a two-shard ClickHouse
# cluster on one machine: two clickhouse-server processes whose remote_servers
# name both as shards of cluster "stitch2" (no ZooKeeper: stitchd creates its
# schema on each server it is pointed at). A collector writes through shard
# 1's Distributed tables, a query stitchd reads through shard 2's: every trace
# comes back whole, and each trace's spans (and its index rows) live on
# exactly one shard.
# Everything started here is stopped on exit, pass or fail.
set -u
BIN="${1:?usage: test_cluster.sh BIN_DIR}"
. "$(dirname "$0")/clickhouse.sh"
ch_server_bin >/dev/null || { echo "clickhouse-server is not installed (scripts/setup.sh)"; exit 77; }
T=$(mktemp -d /tmp/stitch-ch-cluster.XXXXXX)
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

CH_PORTS_s1="$(ch_free_port) $(ch_free_port) $(ch_free_port)"
CH_PORTS_s2="$(ch_free_port) $(ch_free_port) $(ch_free_port)"
tcp1=$(echo "$CH_PORTS_s1" | cut -d' ' -f2)
tcp2=$(echo "$CH_PORTS_s2" | cut -d' ' -f2)
REMOTE="<remote_servers><stitch2>
  <shard><replica><host>127.0.0.1</host><port>$tcp1</port></replica></shard>
  <shard><replica><host>127.0.0.1</host><port>$tcp2</port></replica></shard>
</stitch2></remote_servers>"
ch_start s1 "$REMOTE" || exit 1
ch_start s2 "$REMOTE" || exit 1

start_stitchd() { # NAME SHARD_HTTP [ARGS...]
    local name=$1 port=$2
    shift 2
    "$BIN/stitchd" --data "$T/$name" --storage clickhouse --clickhouse-url "http://127.0.0.1:$port" \
        --clickhouse-database traces --clickhouse-cluster stitch2 --zipkin off --http 127.0.0.1:0 \
        --ready-file "$T/$name.ready" --log-level warn "$@" 2>"$T/$name.log" &
    PIDS="$PIDS $!"
    for _ in $(seq 1 200); do
        grep -q '^http=' "$T/$name.ready" 2>/dev/null && break
        sleep 0.05
    done
    if ! grep -q '^http=' "$T/$name.ready" 2>/dev/null; then
        echo "FAIL stitchd $name did not start"; cat "$T/$name.log"; exit 1
    fi
    eval "${name}_OTLP=$(sed -n 's/^otlp-http=//p' "$T/$name.ready")"
    eval "${name}_HTTP=$(sed -n 's/^http=//p' "$T/$name.ready")"
}
start_stitchd q "$CH_s2_HTTP" --otlp-http off # creates the schema on shard 2
start_stitchd c "$CH_s1_HTTP" --otlp-http 127.0.0.1:0

NOW=$(( $(date +%s) * 1000000000 - 60000000000 ))
body() { # TRACE_HEX SVC FIRST COUNT
    local tid=$1 svc=$2 first=$3 n=$4 spans="" i
    for i in $(seq "$first" $((first + n - 1))); do
        local parent=""
        [ "$i" -gt 1 ] && parent="\"parentSpanId\":\"$(printf '%016x' 1)\","
        spans="$spans${spans:+,}{\"traceId\":\"$tid\",\"spanId\":\"$(printf '%016x' "$i")\",$parent\"name\":\"op$i\",\"kind\":2,\"startTimeUnixNano\":\"$((NOW + i * 1000000))\",\"endTimeUnixNano\":\"$((NOW + i * 1000000 + 500000))\"}"
    done
    printf '{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"%s"}}]},"scopeSpans":[{"spans":[%s]}]}]}' "$svc" "$spans"
}
bad=0
for t in $(seq 1 20); do
    tid=$(printf '5ead%028x' "$t")
    for part in "front 1 3" "back 4 3"; do
        set -- $part
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 30 -H 'Content-Type: application/json' \
            --data-binary "$(body "$tid" "$1" "$2" "$3")" "http://$c_OTLP/v1/traces")
        [ "$code" = 200 ] || bad=$((bad + 1))
    done
done
[ $bad = 0 ] && ok "40 requests acknowledged through shard 1's Distributed tables" || fail "acknowledged" "$bad refused"
whole=0
for t in $(seq 1 20); do
    n=$(curl -s "http://$q_HTTP/api/traces/$(printf '5ead%028x' "$t")" | jq '.data[0].spans | length')
    [ "$n" = 6 ] && whole=$((whole + 1))
done
[ $whole = 20 ] && ok "all 20 traces whole through shard 2" || fail "traces whole" "$whole of 20"
n=$(curl -s "http://$q_HTTP/api/traces?service=back&limit=100" | jq '.data | length')
[ "$n" = 20 ] && ok "search across both shards" || fail "search" "$n traces"
ids() { ch_query "$1" "SELECT DISTINCT hex(trace_id) FROM traces.spans_v2_local ORDER BY 1" | sort; }
ids s1 >"$T/ids1"
ids s2 >"$T/ids2"
n1=$(wc -l <"$T/ids1")
n2=$(wc -l <"$T/ids2")
both=$(comm -12 "$T/ids1" "$T/ids2" | wc -l)
[ "$n1" -gt 0 ] && [ "$n2" -gt 0 ] && [ $((n1 + n2)) = 20 ] && [ "$both" = 0 ] &&
    ok "each trace on one shard ($n1 + $n2)" || fail "sharding by trace id" "shard 1: $n1, shard 2: $n2, on both: $both"
# a trace's index rows (trace_ix_v2) are on the shard of its spans
ixids() { ch_query "$1" "SELECT DISTINCT hex(trace_id) FROM traces.trace_ix_v2_local ORDER BY 1" | sort; }
if [ "$(ixids s1)" = "$(cat "$T/ids1")" ] && [ "$(ixids s2)" = "$(cat "$T/ids2")" ]; then
    ok "each trace's index rows on the shard of its spans"
else
    fail "index rows with their spans" "shard 1: $(ixids s1 | wc -l), shard 2: $(ixids s2 | wc -l)"
fi
rows=$(ch_query s1 "SELECT count() FROM traces.spans_v2_local")
rows2=$(ch_query s2 "SELECT count() FROM traces.spans_v2_local")
[ $((rows + rows2)) = 120 ] && ok "120 spans stored once ($rows + $rows2)" || fail "span rows" "$rows + $rows2"

if [ $fails -gt 0 ]; then
    for n in c q; do echo "--- stitchd $n log"; tail -20 "$T/$n.log"; done
    exit 1
fi
