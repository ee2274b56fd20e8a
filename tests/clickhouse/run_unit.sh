#!/bin/bash
# tests/clickhouse/run_unit.sh BINDIR — the store-level and query-API tests
# (test_store, test_query) against a throwaway ClickHouse server: the same
# test binaries as unit/, with STITCH_TEST_STORE=clickhouse.
set -u
BIN=$1
. "$(dirname "$0")/clickhouse.sh"
trap ch_stop_all EXIT
trap "exit 1" INT TERM HUP PIPE # so the EXIT trap stops what was started
ch_server_bin >/dev/null || { echo "clickhouse-server is not installed (scripts/setup.sh)"; exit 77; }
ch_start one || exit 1
export STITCH_TEST_STORE=clickhouse
export STITCH_TEST_CLICKHOUSE_URL=http://127.0.0.1:$CH_one_HTTP
rc=0
for t in test_store test_query; do
    echo "== $t against ClickHouse ($STITCH_TEST_CLICKHOUSE_URL)"
    "$BIN/$t" || rc=1
done
exit $rc
