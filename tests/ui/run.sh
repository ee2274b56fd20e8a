#!/usr/bin/env bash
# tests/ui/run.sh BIN_DIR [OUT_DIR] — the web UI's tests: model.test.mjs (node --test)
# and the browser test (ui.test.mjs)
# against BIN_DIR/stitchd, screenshots in OUT_DIR (default BIN_DIR/../tests/ui-out).
# Needs Debian's chromium and Node.js (scripts/setup.sh installs both); installs
# playwright-core with `npm ci` into tests/ui/node_modules when it is missing or
# older than package-lock.json (never a browser download).
set -eu
BIN="${1:?usage: run.sh BIN_DIR [OUT_DIR]}"
OUT="${2:-$BIN/../tests/ui-out}"
HERE="$(cd "$(dirname "$0")" && pwd)"

fail() { echo "FAIL $*"; echo "0 passed, 1 failed"; exit 1; }
command -v node >/dev/null || fail "node not found: run scripts/setup.sh"
command -v npm >/dev/null || fail "npm not found: run scripts/setup.sh"
[ "$(node -p 'process.versions.node.split(".")[0]')" -ge 20 ] ||
    fail "node $(node --version) is too old: playwright-core needs Node.js 20 or later"
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || fail "chromium not found: run scripts/setup.sh"
[ -x "$BIN/stitchd" ] || fail "no stitchd in $BIN"

want=$(sha256sum "$HERE/package-lock.json" | cut -d' ' -f1)
stamp="$HERE/node_modules/.stitch-lock-sha256"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    (
        flock 9
        if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
            echo "ui: npm ci (playwright-core, no browser download)"
            cd "$HERE" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
            echo "$want" > "$stamp"
        fi
    ) 9>"${TMPDIR:-/tmp}/stitch-ui-npm.lock" || fail "npm ci failed"
fi

mkdir -p "$OUT"
# ui/js/model.js on its own (tree, self time, critical path), then the browser
rc=0
node --test --test-reporter=spec "$HERE/model.test.mjs" || rc=1
node "$HERE/ui.test.mjs" "$BIN" "$OUT" || rc=1
exit $rc
