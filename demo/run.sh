#!/usr/bin/env bash
# demo/run.sh — the seed's e-commerce system for real (`make demo`;
# docs/demo.md): stitchd, nats-server, the product database and the five
# services, each its own process on 127.0.0.1; one "Add to Cart" request sent
# the way the shop page's button sends it; the whole trace waited for in
# stitchd, printed with `stitch trace`, with the trace's UI URL and the shop
# page's URL. Then it keeps everything running until Ctrl-C (or exits at
# once with ONCE=1) and stops every process it started — on success, on
# error and on a signal alike.
#
# Environment (the Makefile passes its variables of the same names):
#   ONCE=1                 exit after printing instead of waiting for Ctrl-C
#   SLOW=product-db:200ms  make the product query that much slower
#   FAIL=SERVICE           make SERVICE fail (frontend, api-gateway, cart-service,
#                          product-service, inventory-service)
#   DEMO_DB=sqlite|postgres  the product database (default sqlite: a file)
#   STITCH_BIN=DIR         where stitchd, stitch and demo-* are (default build/bin)
#   DEMO_LOG_DIR=DIR       keep every process's log there (default: a temporary
#                          directory, removed at exit)
#   DEMO_TIMEOUT=SECONDS   how long to wait for the trace (default 30)
#   DEMO_PORTS=free        never try the default ports (tests running beside a demo)
# Exit status: 0 the trace was printed; 1 something failed; 2 a bad knob.
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
BIN=${STITCH_BIN:-$SRC/build/bin}
ONCE=${ONCE:-0}
SLOW=${SLOW:-}
FAIL=${FAIL:-}
DEMO_DB=${DEMO_DB:-sqlite}
TIMEOUT=${DEMO_TIMEOUT:-30}
# shellcheck source=lib.sh
. "$SRC/demo/lib.sh"

die() { echo "demo: $*" >&2; exit 1; }
usage() { echo "demo: $*" >&2; exit 2; }

# ---- knobs --------------------------------------------------------------------
SERVICES="frontend api-gateway cart-service product-service inventory-service"
if [ -n "$FAIL" ]; then
    case " $SERVICES " in *" $FAIL "*) ;; *) usage "FAIL=$FAIL: want one of: $SERVICES" ;; esac
fi
DB_DELAY_MS=0
if [ -n "$SLOW" ]; then
    target=${SLOW%%:*}
    amount=${SLOW#*:}
    [ "$target" = product-db ] && [ "$amount" != "$SLOW" ] || usage "SLOW=$SLOW: want SLOW=product-db:DURATION (e.g. 200ms, 1s)"
    case "$amount" in
        *ms) DB_DELAY_MS=${amount%ms} ;;
        *s) DB_DELAY_MS=${amount%s}; case "$DB_DELAY_MS" in ''|*[!0-9]*) ;; *) DB_DELAY_MS=$(( DB_DELAY_MS * 1000 )) ;; esac ;;
        *) DB_DELAY_MS= ;;
    esac
    case "$DB_DELAY_MS" in ''|*[!0-9]*) usage "SLOW=$SLOW: the duration must be like 200ms or 2s" ;; esac
    DB_DELAY_MS=$(( 10#$DB_DELAY_MS ))
    [ "$DB_DELAY_MS" -le 60000 ] || usage "SLOW=$SLOW: at most 60s"
fi
case "$DEMO_DB" in sqlite|postgres) ;; *) usage "DEMO_DB=$DEMO_DB: want sqlite or postgres" ;; esac
for b in stitchd stitch demo-frontend demo-api-gateway demo-cart-service demo-product-service \
         demo-inventory-service; do
    [ -x "$BIN/$b" ] || die "$BIN/$b is missing: build first (make demo does)"
done
command -v curl >/dev/null || die "curl is not installed (scripts/setup.sh)"
command -v jq >/dev/null || die "jq is not installed (scripts/setup.sh)"

# ---- clean-up: every process started here, whatever happens -------------------
T=$(mktemp -d "${TMPDIR:-/tmp}/stitch-demo.XXXXXX") || die "cannot make a temporary directory"
LOGS=${DEMO_LOG_DIR:-$T/logs}
mkdir -p "$LOGS"
cleanup() {
    trap - EXIT INT TERM
    [ -n "$LIB_PIDS$LIB_PGDATA" ] && echo "demo: stopping everything" >&2
    lib_stop_all
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail_with_logs() {
    echo "demo: $*" >&2
    local f
    for f in "$LOGS"/*.log; do
        [ -s "$f" ] || continue
        echo "---- $(basename "$f")" >&2
        tail -n 15 "$f" >&2
    done
    exit 1
}

# ---- stitchd --------------------------------------------------------------------
# The default port when free (DEMO_PORTS=free: never), else 0 = the program picks one.
port_or_zero() { if [ "${DEMO_PORTS:-}" = free ] || port_in_use "$1"; then echo 0; else echo "$1"; fi; }
"$BIN/stitchd" --data "$T/stitch-data" --otlp-http "127.0.0.1:$(port_or_zero 4318)" --zipkin off \
    --http "127.0.0.1:$(port_or_zero 16686)" --ready-file "$T/stitchd.ready" --log-level warn \
    2>"$LOGS/stitchd.log" &
lib_track $!
wait_for_file "$T/stitchd.ready" '^http=' 20 $! || fail_with_logs "stitchd did not start"
OTLP=$(sed -n 's/^otlp-http=//p' "$T/stitchd.ready")
HTTP=$(sed -n 's/^http=//p' "$T/stitchd.ready")
SERVER="http://$HTTP"

# ---- nats-server and the database ----------------------------------------------------
start_nats "$T/nats" "$( [ "${DEMO_PORTS:-}" = free ] || echo 4222)" || fail_with_logs "nats-server did not start"
cp "$T/nats/nats.log" "$LOGS/nats-server.log" 2>/dev/null
if [ "$DEMO_DB" = postgres ]; then
    start_pg || fail_with_logs "PostgreSQL did not start"
    echo "$LIB_PGDIR" >"$LOGS/postgres.dir" # for tests/integration/test_demo.sh's leftover check
    DSN="postgres:$PG_CONNINFO"
    DB_DESC="PostgreSQL  postgresql://127.0.0.1:$PG_PORT/shop  (initdb in a temporary directory)"
else
    DSN="sqlite:$T/shop.db"
    DB_DESC="SQLite      $T/shop.db"
fi

# ---- the five services ---------------------------------------------------------------
# start NAME DEFAULT_PORT ARGS... — OTEL_* configures tracing; flags the rest.
start() {
    local name=$1 port=$2
    shift 2
    local extra=()
    [ "$FAIL" = "$name" ] && extra+=(--fail)
    [ "$port" != none ] && extra+=(--port "$(port_or_zero "$port")" --any-port)
    rm -f "$T/$name.ready"
    OTEL_SERVICE_NAME=$name OTEL_EXPORTER_OTLP_ENDPOINT="http://$OTLP" \
    OTEL_BSP_SCHEDULE_DELAY=100 OTEL_TRACES_EXPORTER=otlp \
        "$BIN/demo-$name" "$@" "${extra[@]}" --ready-file "$T/$name.ready" 2>"$LOGS/$name.log" &
    local pid=$!
    lib_track "$pid"
    wait_for_file "$T/$name.ready" '=' 20 "$pid" || fail_with_logs "$name did not start"
}
url_of() { sed -n 's/^url=//p' "$T/$1.ready"; }
note_port() { # URL DEFAULT_PORT — says when the default port was taken
    [ "${1##*:}" = "$2" ] || [ "${DEMO_PORTS:-}" = free ] || echo "  (port $2 was taken)"
}

start product-service 8083 --db "$DSN" --seed --db-delay-ms "$DB_DELAY_MS"
PRODUCT=$(url_of product-service)
start cart-service 8082 --product "$PRODUCT" --nats "$NATS_URL"
CART=$(url_of cart-service)
start inventory-service none --nats "$NATS_URL" --db "$DSN"
start api-gateway 8081 --cart "$CART"
GATEWAY=$(url_of api-gateway)
start frontend 8080 --gateway "$GATEWAY" --ui "$SERVER"
FRONTEND=$(url_of frontend)

echo "stitch demo: everything on 127.0.0.1"
printf '  %-18s OTLP http://%s, UI and query API %s\n' stitchd "$OTLP" "$SERVER"
printf '  %-18s %s\n' nats-server "$NATS_URL"
printf '  %-18s %s\n' database "$DB_DESC"
printf '  %-18s %s%s\n' frontend "$FRONTEND" "$(note_port "$FRONTEND" 8080)"
printf '  %-18s %s%s\n' api-gateway "$GATEWAY" "$(note_port "$GATEWAY" 8081)"
printf '  %-18s %s%s\n' cart-service "$CART" "$(note_port "$CART" 8082)"
printf '  %-18s %s%s\n' product-service "$PRODUCT" "$(note_port "$PRODUCT" 8083)"
printf '  %-18s %s\n' inventory-service "subscribed to cart.events"
[ -n "$SLOW" ] && echo "  knob: SLOW=$SLOW (the product query takes ${DB_DELAY_MS} ms longer)"
[ -n "$FAIL" ] && echo "  knob: FAIL=$FAIL (its main operation fails)"
echo

# ---- one click on "Add to Cart" ------------------------------------------------------
# What the page's script sends: POST /cart/add, JSON body, and it reads the
# trace id from the W3C traceresponse header of the answer.
echo "POST $FRONTEND/cart/add  {\"product_id\":\"XYZ\",\"quantity\":1}"
code=$(curl -s -m 20 -o "$T/answer" -D "$T/headers" -w '%{http_code}' -X POST \
    -H 'Content-Type: application/json' --data '{"product_id":"XYZ","quantity":1}' \
    "$FRONTEND/cart/add") || fail_with_logs "the frontend did not answer"
echo "  -> $code $(cat "$T/answer")"
TID=$(sed -n 's/^traceresponse: *00-\([0-9a-f]\{32\}\)-.*/\1/Ip' "$T/headers" | tr -d '\r')
[ -n "$TID" ] || fail_with_logs "no traceresponse header in the answer"

# The spans the trace must hold before it is complete: every service's, which
# depends on where FAIL stops the request.
case "$FAIL" in
    "") WANT=14 ;;
    frontend) WANT=1 ;;
    api-gateway) WANT=3 ;;
    cart-service|product-service) WANT=10 ;;
    inventory-service) WANT=13 ;;
esac
n=0
for _ in $(seq 1 $(( TIMEOUT * 10 ))); do
    n=$(curl -s -m 5 "$SERVER/api/traces/$TID" | jq '[.data[]?.spans[]?] | length' 2>/dev/null)
    [ "${n:-0}" -ge "$WANT" ] && break
    sleep 0.1
done
[ "${n:-0}" -ge "$WANT" ] || fail_with_logs "after ${TIMEOUT}s stitchd holds ${n:-0} of the trace's $WANT spans"
curl -s -m 5 -o "$LOGS/trace.json" "$SERVER/api/traces/$TID" # kept with the logs (tests read it)
echo

# ---- the waterfall -------------------------------------------------------------------
"$BIN/stitch" trace "$TID" --server "$SERVER" || fail_with_logs "stitch trace failed"
echo
echo "The trace in the UI:  $SERVER/trace/$TID"
echo "The shop page:        $FRONTEND/"
echo "(each click on its Add to Cart buttons makes a new trace; stitch search --server $SERVER --service frontend lists them)"

if [ "$ONCE" = 1 ]; then
    exit 0
fi
echo
echo "Everything keeps running; press Ctrl-C to stop it all."
while :; do
    for p in $LIB_PIDS; do
        kill -0 "$p" 2>/dev/null || fail_with_logs "a process of the demo exited (pid $p)"
    done
    sleep 1
done
