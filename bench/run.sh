#!/bin/sh
# Runs every benchmark of the SDK and prints their figures; `make bench`
# calls it with the build directory. The figures in bench/RESULTS.md come
# from this script (see the command noted there).
set -eu
B=${1:-build}
echo "## $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
"$B/bin/bench_span"
"$B/bin/bench_span" --threads 2
if [ -x "$B/bin/bench_propagation" ]; then
    "$B/bin/bench_propagation"
fi
if [ -x "$B/bin/bench_wire" ]; then
    "$B/bin/bench_wire"
fi
