# The front door: CMake does the work. `make`, `make test`, `make bench`,
# `make install`, `make asan`, `make fuzz`. Every target first runs scripts/setup.sh, which
# installs the Debian packages that are missing (and nothing else).
B ?= build
BA ?= build-asan
BF ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TEST_SECONDS ?= 5
PREFIX ?= /usr/local
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_ARGS ?=
CTEST_ARGS ?=

.PHONY: all setup build test unit asan fuzz fuzz-build bench install run clean

all: build

setup:
	@scripts/setup.sh

build: setup
	cmake -S . -B $(B) -DCMAKE_INSTALL_PREFIX=$(PREFIX) $(CMAKE_ARGS)
	cmake --build $(B) -j $(JOBS)

# Every test twice: the normal build, then the whole suite under ASan+UBSan;
# then each fuzz target for FUZZ_TEST_SECONDS.
test: build
	ctest --test-dir $(B) --output-on-failure -j $(JOBS) $(CTEST_ARGS)
	$(MAKE) --no-print-directory asan
	$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(FUZZ_TEST_SECONDS)

unit: build
	ctest --test-dir $(B) --output-on-failure -j $(JOBS) $(CTEST_ARGS)

asan: setup
	cmake -S . -B $(BA) -DSTITCH_SANITIZE=ON -DSTITCH_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=Debug $(CMAKE_ARGS)
	cmake --build $(BA) -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --test-dir $(BA) --output-on-failure -j $(JOBS) $(CTEST_ARGS)

# libFuzzer targets (tests/fuzz, docs/fuzzing.md): clang, the whole project
# instrumented, each target run FUZZ_SECONDS on its corpus.
fuzz-build: setup
	cmake -S . -B $(BF) -DCMAKE_C_COMPILER=clang -DSTITCH_FUZZ=ON -DSTITCH_SANITIZE=ON \
		-DSTITCH_BUILD_TESTS=OFF -DSTITCH_BUILD_BENCH=OFF $(CMAKE_ARGS)
	cmake --build $(BF) -j $(JOBS)

fuzz: fuzz-build
	tests/fuzz/run.sh $(BF) $(FUZZ_SECONDS)

bench: build
	bench/run.sh $(B)

# The e-commerce demo (docs/demo.md): stitchd, nats-server, the database and
# the five demo services, one "Add to Cart" trace printed. Knobs:
#   make demo ONCE=1  SLOW=product-db:200ms  FAIL=product-service  DEMO_DB=postgres
ONCE ?=
SLOW ?=
FAIL ?=
DEMO_DB ?= sqlite
DEMO_TARGETS = stitchd stitch_cli demo-frontend demo-api-gateway demo-cart-service \
	demo-product-service demo-inventory-service
demo: setup
	cmake -S . -B $(B) -DCMAKE_INSTALL_PREFIX=$(PREFIX) $(CMAKE_ARGS)
	cmake --build $(B) -j $(JOBS) --target $(DEMO_TARGETS)
	ONCE="$(ONCE)" SLOW="$(SLOW)" FAIL="$(FAIL)" DEMO_DB="$(DEMO_DB)" STITCH_BIN="$(CURDIR)/$(B)/bin" \
		demo/run.sh

install: build
	cmake --install $(B)

# stitchd in the foreground with the defaults (docs/stitchd.md); extra flags with
# `make run ARGS="--retention 24h"`. Ctrl-C stops it cleanly.
run: build
	$(B)/bin/stitchd $(ARGS)

clean:
	rm -rf $(B) $(BA) $(BF)
