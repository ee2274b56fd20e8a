#!/bin/sh
# tests/fuzz/run.sh BUILD_DIR SECONDS [TARGET...] — run each libFuzzer
# target in BUILD_DIR/fuzz (all fuzz_* when none named) for SECONDS on its
# seed corpus tests/fuzz/corpus/<name>/ (read only). New inputs go to the
# scratch dir BUILD_DIR/fuzz-work/<name>/corpus, crashers and logs to
# BUILD_DIR/fuzz-work/<name>/. Prints libFuzzer's executions per target;
# exits 1 if any target crashed, leaked, hit UB or broke an invariant, after
# printing the crashing input's path and the end of its log.
set -u

build=${1:?usage: run.sh BUILD_DIR SECONDS [TARGET...]}
secs=${2:?usage: run.sh BUILD_DIR SECONDS [TARGET...]}
shift 2
src=$(cd "$(dirname "$0")" && pwd)
work=$build/fuzz-work

if [ $# -eq 0 ]; then
    set -- $(cd "$build/fuzz" && ls fuzz_* 2>/dev/null)
fi
[ $# -gt 0 ] || { echo "run.sh: no fuzz targets in $build/fuzz" >&2; exit 1; }

export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=0
npass=0
nfail=0
for t in "$@"; do
    name=${t#fuzz_}
    seeds=$src/corpus/$name
    out=$work/$name
    mkdir -p "$out/corpus"
    log=$out/fuzz.log
    # the scratch dir first: libFuzzer writes new inputs to the first corpus dir
    "$build/fuzz/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$out/" "$out/corpus" "$seeds" >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    if [ $rc -eq 0 ]; then
        echo "fuzz: $t: ok, ${execs:-?} executions in ${secs}s"
        npass=$((npass + 1))
    else
        failed=1
        nfail=$((nfail + 1))
        echo "fuzz: $t: FAILED (exit $rc), log $log"
        tail -n 40 "$log"
        sed -n 's/.*Test unit written to \(.*\)$/fuzz: crashing input: \1/p' "$log"
    fi
done
echo "fuzz: $npass passed, $nfail failed"
exit $failed
