#!/bin/bash
# `make install` as another C project uses it: install into a temporary
# prefix, then build the README's example against it twice — with
# pkg-config, and with CMake's find_package(stitch) — and run both.
set -euo pipefail
bin=$1
build=$(cd "$bin/.." && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
extra=()
if [ "${STITCH_SANITIZE:-OFF}" = ON ]; then extra=(-fsanitize=address,undefined); fi

cmake --install "$build" --prefix "$tmp/prefix" > "$tmp/install.log"
pcdir=$(dirname "$(find "$tmp/prefix" -name stitch.pc)")
libdir=$(dirname "$pcdir")
[ -f "$tmp/prefix/include/stitch/stitch.h" ] || { echo "FAIL: headers not installed"; exit 1; }
[ -f "$pcdir/stitch-curl.pc" ] && [ -f "$pcdir/stitch-microhttpd.pc" ] || { echo "FAIL: adapter .pc files"; exit 1; }

check_output() {
    local out=$1
    [ "$(echo "$out" | grep -c '^span ')" -eq 2 ] || { echo "FAIL: expected 2 spans, got: $out"; exit 1; }
}

# 1. pkg-config
flags=$(PKG_CONFIG_PATH=$pcdir pkg-config --cflags --libs stitch)
cc "${extra[@]}" -o "$tmp/app-pc" "$src/examples/quickstart.c" $flags
check_output "$(LD_LIBRARY_PATH=$libdir "$tmp/app-pc")"
echo "pkg-config: ok ($flags)"

# 2. CMake package
mkdir -p "$tmp/proj"
cat > "$tmp/proj/CMakeLists.txt" <<CM
cmake_minimum_required(VERSION 3.18)
project(app C)
find_package(stitch 0.1 REQUIRED)
add_executable(app $src/examples/quickstart.c)
target_compile_options(app PRIVATE ${extra[*]:-})
target_link_options(app PRIVATE ${extra[*]:-})
target_link_libraries(app stitch::stitch)
CM
cmake -S "$tmp/proj" -B "$tmp/proj/build" -DCMAKE_PREFIX_PATH="$tmp/prefix" > "$tmp/cmake.log"
cmake --build "$tmp/proj/build" > "$tmp/build.log"
check_output "$(LD_LIBRARY_PATH=$libdir "$tmp/proj/build/app")"
echo "find_package(stitch): ok"
echo "2 passed, 0 failed"
