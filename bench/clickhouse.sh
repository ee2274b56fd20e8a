#!/bin/bash
# bench/clickhouse.sh BIN_DIR [SPANS] — stitchd with --storage clickhouse under
# bench_ingest's load: a throwaway clickhouse-server (tests/clickhouse/clickhouse.sh),
# one stitchd in front of it, SPANS acknowledged spans (default 1,000,000), then
# bytes per span from system.parts and the query checks through stitchd's API.
# Everything it starts is stopped on exit. Figures: bench/RESULTS.md, "ClickHouse".
set -u
BIN=${1:?usage: bench/clickhouse.sh BIN_DIR [SPANS] [CONNECTIONS]}
SPANS=${2:-1000000}
CONNS=${3:-4}
. "$(dirname "$0")/../tests/clickhouse/clickhouse.sh"
T=$(mktemp -d /tmp/stitch-ch-bench.XXXXXX)
SPID=
cleanup() {
    [ -n "$SPID" ] && kill "$SPID" 2>/dev/null && wait "$SPID" 2>/dev/null
    ch_stop_all
    rm -rf "$T"
}
trap cleanup EXIT
trap "exit 1" INT TERM HUP PIPE
ch_start bench || exit 1
"$BIN/stitchd" --data "$T/data" --storage clickhouse --clickhouse-url "http://127.0.0.1:$CH_bench_HTTP" \
    --clickhouse-database bench --otlp-http 127.0.0.1:0 --zipkin off --http 127.0.0.1:0 \
    --ready-file "$T/ready" --log-level warn 2>"$T/stitchd.log" &
SPID=$!
for _ in $(seq 1 200); do grep -q '^http=' "$T/ready" 2>/dev/null && break; sleep 0.05; done
OTLP=$(sed -n 's/^otlp-http=//p' "$T/ready")
HTTP=$(sed -n 's/^http=//p' "$T/ready")
echo "clickhouse $(ch_query bench 'SELECT version()'), stitchd pid $SPID"
t0=$(cut -d' ' -f14,15 /proc/$SPID/stat)
c0=$(cut -d' ' -f14,15 /proc/$CH_bench_PID/stat)
ch_query bench "SELECT event, value FROM system.events WHERE event IN ('InsertQuery', 'InsertedRows', 'MergedRows', 'MergedUncompressedBytes', 'MergesTimeMilliseconds') FORMAT TSV" >"$T/ev0"
"$BIN/bench_ingest" --endpoint "http://$OTLP/v1/traces" --query "http://$HTTP" --total "$SPANS" \
    --connections "$CONNS" --query-checks 50
t1=$(cut -d' ' -f14,15 /proc/$SPID/stat)
c1=$(cut -d' ' -f14,15 /proc/$CH_bench_PID/stat)
ch_query bench "SELECT event, value FROM system.events WHERE event IN ('InsertQuery', 'InsertedRows', 'MergedRows', 'MergedUncompressedBytes', 'MergesTimeMilliseconds') FORMAT TSV" >"$T/ev1"
read -r u0 s0 <<<"$t0"
read -r u1 s1 <<<"$t1"
read -r cu0 cs0 <<<"$c0"
read -r cu1 cs1 <<<"$c1"
hz=$(getconf CLK_TCK)
echo "stitchd CPU: $(( (u1 + s1 - u0 - s0) * 1000 / hz )) ms; clickhouse-server CPU: $(( (cu1 + cs1 - cu0 - cs0) * 1000 / hz )) ms (ingest and queries)"
echo "clickhouse during the run (system.events):"
join -a2 <(sort "$T/ev0") <(sort "$T/ev1") | awk '{ if (NF == 3) print "  " $1, $3 - $2; else print "  " $1, $2 }'
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
# the schema of either version: every MergeTree table of the database
for t in $(ch_query bench "SELECT name FROM system.tables WHERE database = 'bench' AND engine LIKE '%MergeTree' FORMAT TSV"); do
    ch_query bench "OPTIMIZE TABLE bench.$t FINAL" >/dev/null
done
SPANS_TABLE=$(ch_query bench "SELECT name FROM system.tables WHERE database = 'bench' AND name IN ('spans', 'spans_v2') ORDER BY name DESC LIMIT 1 FORMAT TSV")
ch_query bench "SELECT table, sum(rows) AS n, sum(bytes_on_disk) AS bytes, round(bytes / n, 1) AS per_row FROM system.parts WHERE active AND database = 'bench' GROUP BY table ORDER BY table FORMAT PrettyCompact"
ch_query bench "SELECT round(sum(bytes_on_disk) / (SELECT count() FROM bench.$SPANS_TABLE), 1) AS bytes_per_span FROM system.parts WHERE active AND database = 'bench' FORMAT PrettyCompact"
ch_query bench "SELECT table, name, formatReadableSize(sum(data_compressed_bytes)) AS c, formatReadableSize(sum(data_uncompressed_bytes)) AS u FROM system.columns WHERE database = 'bench' GROUP BY table, name ORDER BY sum(data_compressed_bytes) DESC LIMIT 12 FORMAT PrettyCompact"
