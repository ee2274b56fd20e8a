#!/bin/sh
# Installs the Debian packages stitch's build and tests use — only those that
# are missing, so running it again does nothing. `make` and `make test` call
# it; on a fresh Debian machine nothing else is needed by hand.
set -eu

PACKAGES="
build-essential
cmake
pkg-config
libcurl4-openssl-dev
libmicrohttpd-dev
libgnutls28-dev
openssl
libjansson-dev
libcmocka-dev
zlib1g-dev
libprotobuf-c-dev
protobuf-c-compiler
libsqlite3-dev
nats-server
libnats-dev
postgresql
libpq-dev
jq
python3
libzstd-dev
libyaml-dev
curl
clang
libclang-rt-14-dev
chromium
clickhouse-server
clickhouse-client
"

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $p"
    fi
done
# The web UI's browser test (tests/ui/run.sh) also needs Node.js (>= 20 for
# playwright-core) and npm. Debian's nodejs and npm are installed only when
# there is no node/npm at all: a machine with NodeSource's nodejs (which
# bundles npm and conflicts with Debian's npm package) keeps its own.
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
[ -z "$missing" ] && exit 0

echo "setup: installing missing Debian packages:$missing"
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
else
    echo "setup: need root (or sudo) to install:$missing" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
