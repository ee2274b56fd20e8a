#!/bin/sh
# Runs every benchmark and prints their figures; `make bench` calls it with
# the build directory. The figures in bench/RESULTS.md come from these
# programs (each section there names the command).
set -eu
B=${1:-build}
echo "## $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
"$B/bin/bench_span"
"$B/bin/bench_span" --threads 2
"$B/bin/bench_propagation"
"$B/bin/bench_wire"
"$B/bin/bench_decode"
for mode in "" --json --gzip; do
    # shellcheck disable=SC2086
    "$B/bin/bench_pipeline" --seconds 10 $mode
done
# stitchd's store alone, then stitchd itself under the load generator
"$B/bin/bench_store" --spans 1000000 --runs 3
"$B/bin/bench_ingest" --seconds 10 --connections 4 --query-checks 100
# the UI needs Chromium and tests/ui/node_modules (tests/ui/run.sh installs them)
if [ -d tests/ui/node_modules ] && command -v chromium >/dev/null 2>&1; then
    node bench/ui_bench.mjs "$B/bin" --loads 3
fi
