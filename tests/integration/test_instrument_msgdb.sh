#!/usr/bin/env bash
# tests/integration/test_instrument_msgdb.sh — the NATS, SQLite and libpq
# adapters against real servers ($1 = the build's bin directory): a
# nats-server and a PostgreSQL cluster (initdb/pg_ctl) on free loopback
# ports in a temporary directory, then <build>/tests/instrument_msgdb (cmocka),
# then both servers stopped and the directory removed.
set -u
BIN="${1:?usage: test_instrument_msgdb.sh BIN_DIR}"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
PROG="$BIN/../tests/instrument_msgdb"
# shellcheck source=../../demo/lib.sh
. "$SRC/demo/lib.sh"

T=$(mktemp -d /tmp/stitch-msgdb.XXXXXX)
cleanup() { lib_stop_all; rm -rf "$T"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

[ -x "$PROG" ] || { echo "FAIL $PROG is not built"; exit 1; }
start_nats "$T/nats" || { echo "FAIL nats-server did not start"; exit 1; }
start_pg || { echo "FAIL PostgreSQL did not start"; exit 1; }

NATS_URL=$NATS_URL PG_CONNINFO=$PG_CONNINFO TMPDIR=$T "$PROG"
rc=$?
[ $rc -eq 0 ] || echo "FAIL instrument_msgdb exited $rc"
exit $rc
