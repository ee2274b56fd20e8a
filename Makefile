# The front door: CMake does the work. `make`, `make test`, `make bench`,
# `make install`, `make asan`. Every target first runs scripts/setup.sh, which
# installs the Debian packages that are missing (and nothing else).
B ?= build
BA ?= build-asan
PREFIX ?= /usr/local
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_ARGS ?=
CTEST_ARGS ?=

.PHONY: all setup build test unit asan bench install clean

all: build

setup:
	@scripts/setup.sh

build: setup
	cmake -S . -B $(B) -DCMAKE_INSTALL_PREFIX=$(PREFIX) $(CMAKE_ARGS)
	cmake --build $(B) -j $(JOBS)

# Every test twice: the normal build, then the whole suite under ASan+UBSan.
test: build
	ctest --test-dir $(B) --output-on-failure -j $(JOBS) $(CTEST_ARGS)
	$(MAKE) --no-print-directory asan

unit: build
	ctest --test-dir $(B) --output-on-failure -j $(JOBS) $(CTEST_ARGS)

asan: setup
	cmake -S . -B $(BA) -DSTITCH_SANITIZE=ON -DSTITCH_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=Debug $(CMAKE_ARGS)
	cmake --build $(BA) -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --test-dir $(BA) --output-on-failure -j $(JOBS) $(CTEST_ARGS)

bench: build
	bench/run.sh $(B)

install: build
	cmake --install $(B)

clean:
	rm -rf $(B) $(BA)
