#!/usr/bin/env bash
# tests/integration/test_demo.sh — `make demo ONCE=1` for real ($1 = the
# build's bin directory): demo/run.sh runs four times — SQLite; PostgreSQL
# with SLOW=product-db:200ms; FAIL=product-service; a bad knob — and each
# trace is checked in the query API's answer (GET /api/traces/{id}, Jaeger
# JSON) that run.sh fetched once the trace was complete and kept with its
# logs (DEMO_LOG_DIR). Checked: one trace; the frontend →
# api-gateway → cart-service → product-service → database chain of parents;
# the publish span and the process span whose parent it is; the database
# statement attributes; children inside their parents' time; SLOW in the
# database span's duration; FAIL as error status on the failing span and its
# callers only; and that no process of the demo is left behind.
set -u
BIN="${1:?usage: test_demo.sh BIN_DIR}"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
fails=0
passes=0
T=$(mktemp -d /tmp/stitch-test-demo.XXXXXX)
trap 'rm -rf "$T"' EXIT

ok() { echo "ok   $1"; passes=$((passes + 1)); }
fail() { echo "FAIL $1"; shift; for l in "$@"; do echo "  $l"; done; fails=$((fails + 1)); }
check() { # NAME JQ-EXPRESSION (must be true on the trace JSON in $J)
    local r
    r=$(jq -e "$2" "$J" 2>&1) && ok "$1" || fail "$1" "jq: $2" "got: $r"
}

# The processes a run left: any live process whose command line names the
# run's temporary directory, or its PostgreSQL directory.
leftovers() { # DIR [PGDIR]
    ps -eo stat=,args= | awk '$1 !~ /^Z/' | grep -F -e "$1" ${2:+-e "$2"} | grep -v -F -e "grep -F" || true
}

# run NAME [VAR=VALUE...] — demo/run.sh with ONCE=1; its stdout in $OUT, the
# trace's JSON in $J.
run() {
    local name=$1
    shift
    local d="$T/$name"
    mkdir -p "$d/tmp" "$d/logs"
    env "$@" ONCE=1 STITCH_BIN="$BIN" TMPDIR="$d/tmp" DEMO_LOG_DIR="$d/logs" DEMO_TIMEOUT=60 DEMO_PORTS=free \
        bash "$SRC/demo/run.sh" >"$d/out" 2>"$d/err" </dev/null
    RC=$?
    OUT=$(cat "$d/out")
    local pgdir
    pgdir=$(cat "$d/logs/postgres.dir" 2>/dev/null)
    local left
    left=$(leftovers "$d/tmp" "$pgdir")
    [ -z "$left" ] && ok "$name: no process left behind" || fail "$name: no process left behind" "$left"
    [ -z "$(ls -A "$d/tmp")" ] && ok "$name: temporary files removed" || fail "$name: temporary files removed" "$(ls -A "$d/tmp")"
    [ -z "$pgdir" ] || [ ! -e "$pgdir" ] || fail "$name: PostgreSQL directory removed" "$pgdir"
    if grep -l -E "AddressSanitizer|runtime error:|LeakSanitizer" "$d/logs"/*.log >/dev/null 2>&1; then
        fail "$name: sanitizers quiet" "$(grep -h -A5 -E "AddressSanitizer|runtime error:|LeakSanitizer" "$d/logs"/*.log | head -40)"
    fi
    if [ "$RC" -ne 0 ]; then
        fail "$name: run.sh exit 0" "exit $RC" "$(tail -n 40 "$d/err")" "$(tail -n 20 "$d/out")"
        return 1
    fi
    ok "$name: run.sh exit 0"
    TID=$(echo "$OUT" | sed -n 's/^trace \([0-9a-f]\{32\}\) .*/\1/p' | head -n 1)
    SERVER=$(echo "$OUT" | sed -n 's|^The trace in the UI: *\(http://[^/]*\)/trace/.*|\1|p')
    [ -n "$TID" ] && ok "$name: waterfall printed" || { fail "$name: waterfall printed" "$OUT"; return 1; }
    case "$OUT" in *"/trace/$TID"*) ok "$name: UI URL printed" ;; *) fail "$name: UI URL printed" "$OUT" ;; esac
    case "$OUT" in *"The shop page:        http://127.0.0.1:"*/) ok "$name: shop URL printed" ;;
        *) echo "$OUT" | grep -q '^The shop page: *http://127.0.0.1:[0-9]*/$' && ok "$name: shop URL printed" ||
            fail "$name: shop URL printed" "$OUT" ;; esac
    # The JSON the API served while the demo ran: run.sh is gone now, so the
    # demo keeps a copy of the last API answer in its log directory.
    J="$d/logs/trace.json"
    [ -s "$J" ] || { fail "$name: trace JSON kept" "no $J"; return 1; }
    return 0
}

# jq helpers, prepended to the expressions below; $T is the whole answer.
H='. as $T |
def spans: [$T.data[0].spans[]];
def proc($s): $T.data[0].processes[$s.processID].serviceName;
def tag($s; $k): ($s.tags[] | select(.key == $k) | .value) // null;
def byname($n): [spans[] | select(.operationName == $n)];
def one($n): byname($n) | if length == 1 then .[0] else error("\(length) spans named \($n)") end;
def parent($s): ($s.references[0].spanID // null) as $p | [spans[] | select(.spanID == $p)][0];
def chain($s): if $s == null then [] else [$s] + chain(parent($s)) end;
def services($s): [chain($s)[] | proc(.)] as $c | reduce $c[] as $x ([]; if length > 0 and .[-1] == $x then . else . + [$x] end);
def errored($s): tag($s; "otel.status_code") == "ERROR";'

common_checks() { # NAME DBSYSTEM QUERYTEXT
    local n=$1
    check "$n: one trace, all spans in it" "$H (.data | length) == 1 and ([spans[] | .traceID] | unique | length) == 1"
    check "$n: one root, the frontend's SERVER span" "$H [spans[] | select(.references == [])] | length == 1 and (.[0] | .operationName == \"POST /cart/add\")"
    check "$n: database span's ancestors: product → cart → gateway → frontend" \
        "$H services(one(\"SELECT products\")) == [\"product-service\",\"cart-service\",\"api-gateway\",\"frontend\"]"
    check "$n: getProduct is the database span's parent" "$H parent(one(\"SELECT products\")).operationName == \"getProduct\""
    check "$n: db.system.name = $2" "$H tag(one(\"SELECT products\"); \"db.system.name\") == \"$2\""
    check "$n: db.query.text" "$H tag(one(\"SELECT products\"); \"db.query.text\") == \"$3\""
    check "$n: db.namespace set" "$H (tag(one(\"SELECT products\"); \"db.namespace\") // \"\") | length > 0"
    check "$n: the database span is a CLIENT span" "$H tag(one(\"SELECT products\"); \"span.kind\") == \"client\""
    # In one process a child lies inside its parent (µs rounding: 1 µs of
    # slack). Across processes the callee's SERVER span starts inside the
    # caller's CLIENT span; it may end a little after it, since libmicrohttpd
    # reports the request complete only after the last byte left, which the
    # caller may already have read.
    check "$n: children inside their parents' time" \
        "$H [spans[] | . as \$c | parent(\$c) as \$p | select(\$p != null and tag(\$c; \"span.kind\") != \"consumer\")
             | select(\$c.startTime < \$p.startTime or
                      (proc(\$c) == proc(\$p) and \$c.startTime + \$c.duration > \$p.startTime + \$p.duration + 1) or
                      (\$c.startTime > \$p.startTime + \$p.duration))
             | {child: \$c.operationName, parent: \$p.operationName}] | if length == 0 then true else error(tostring) end"
}

messaging_checks() {
    local n=$1
    check "$n: publish cart.events is a PRODUCER span of cart-service, under addItem" \
        "$H one(\"publish cart.events\") as \$p | tag(\$p; \"span.kind\") == \"producer\" and proc(\$p) == \"cart-service\" and parent(\$p).operationName == \"addItem\""
    check "$n: process cart.events is a CONSUMER span of inventory-service whose parent is the producer" \
        "$H one(\"process cart.events\") as \$c | tag(\$c; \"span.kind\") == \"consumer\" and proc(\$c) == \"inventory-service\" and \$c.references[0].spanID == one(\"publish cart.events\").spanID"
    check "$n: messaging attributes" \
        "$H [one(\"publish cart.events\"), one(\"process cart.events\")] | all(tag(.; \"messaging.system\") == \"nats\" and tag(.; \"messaging.destination.name\") == \"cart.events\")"
    check "$n: the consumer starts after the producer" \
        "$H one(\"process cart.events\").startTime >= one(\"publish cart.events\").startTime"
    check "$n: the stock is reserved in the database inside process cart.events" \
        "$H services(one(\"UPDATE products\"))[0:2] == [\"inventory-service\",\"cart-service\"] and parent(parent(one(\"UPDATE products\"))).operationName == \"process cart.events\""
    check "$n: no span in error" "$H [spans[] | select(errored(.))] | length == 0"
}

# 1. the default: SQLite
if run sqlite; then
    common_checks sqlite sqlite "SELECT * FROM products WHERE id = ?"
    check "sqlite: 14 spans" "$H spans | length == 14"
    messaging_checks sqlite
fi

# 2. PostgreSQL, with a slow query
if run postgres-slow DEMO_DB=postgres SLOW=product-db:200ms; then
    common_checks postgres-slow postgresql 'SELECT * FROM products WHERE id = $1'
    messaging_checks postgres-slow
    check "postgres-slow: the database span takes the 200 ms" "$H one(\"SELECT products\").duration >= 200000"
    check "postgres-slow: getProduct contains it" "$H one(\"getProduct\").duration >= 200000"
    echo "$OUT" | grep -q 'SELECT products.*2[0-9][0-9]\.[0-9] ms' && ok "postgres-slow: the waterfall shows it" ||
        fail "postgres-slow: the waterfall shows it" "$OUT"
fi

# 3. a failing product service: its span and every caller in error, the
#    database span not, and no event published.
if run fail-product FAIL=product-service; then
    common_checks fail-product sqlite "SELECT * FROM products WHERE id = ?"
    check "fail-product: getProduct in error, with its message" \
        "$H errored(one(\"getProduct\")) and (tag(one(\"getProduct\"); \"otel.status_description\") | test(\"FAIL=product-service\"))"
    check "fail-product: every ancestor of getProduct in error" "$H [chain(one(\"getProduct\"))[] | errored(.)] | all"
    check "fail-product: 9 spans in error (getProduct and its 8 ancestors)" "$H [spans[] | select(errored(.))] | length == 9"
    check "fail-product: the database span is fine" "$H errored(one(\"SELECT products\")) | not"
    check "fail-product: nothing published" "$H byname(\"publish cart.events\") | length == 0"
    echo "$OUT" | grep -q '^  -> 502 ' && ok "fail-product: the shop answers 502" || fail "fail-product: the shop answers 502" "$OUT"
fi

# 4. a bad knob: refused before anything starts
d="$T/bad"
mkdir -p "$d/tmp"
env ONCE=1 SLOW=product-db:fast STITCH_BIN="$BIN" TMPDIR="$d/tmp" bash "$SRC/demo/run.sh" >"$d/out" 2>&1 </dev/null
rc=$?
[ $rc -eq 2 ] && grep -q 'SLOW=product-db:fast' "$d/out" && ok "bad knob: exit 2 with a message" ||
    fail "bad knob: exit 2 with a message" "exit $rc" "$(cat "$d/out")"
[ -z "$(leftovers "$d/tmp")" ] && ok "bad knob: nothing started" || fail "bad knob: nothing started" "$(leftovers "$d/tmp")"

echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
