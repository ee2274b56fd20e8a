#!/bin/bash
# The README's example, run as a user would: two spans on stdout, the
# database span a child of the request span, in the same trace.
set -euo pipefail
bin=$1
out=$(OTEL_SERVICE_NAME=shop "$bin/stitch-quickstart")
echo "$out"
[ "$(echo "$out" | wc -l)" -eq 2 ] || { echo "FAIL: expected 2 spans"; exit 1; }
db=$(echo "$out" | grep 'name="SELECT products"')
req=$(echo "$out" | grep 'name="POST /cart/add"')
field() { echo "$1" | tr ' ' '\n' | grep "^$2=" | cut -d= -f2; }
[ "$(field "$db" trace_id)" = "$(field "$req" trace_id)" ] || { echo "FAIL: trace ids differ"; exit 1; }
[ "$(field "$db" parent_id)" = "$(field "$req" span_id)" ] || { echo "FAIL: db span is not the request's child"; exit 1; }
[ "$(field "$req" parent_id)" = "0000000000000000" ] || { echo "FAIL: request span is not a root"; exit 1; }
[ "$(field "$req" kind)" = "server" ] || { echo "FAIL: kind"; exit 1; }
echo "$req" | grep -q 'http.response.status_code=200' || { echo "FAIL: status code attribute"; exit 1; }
# Sampled out: OTEL_TRACES_SAMPLER=always_off records nothing.
out=$(OTEL_TRACES_SAMPLER=always_off "$bin/stitch-quickstart")
[ -z "$out" ] || { echo "FAIL: always_off printed spans"; exit 1; }
echo "1 passed, 0 failed"
