# openami: the two commands of the README and a few conveniences.
#
#   make check              install what is missing, build (release, -Werror), run every test, lint
#   make check BUILD=asan   the same with AddressSanitizer + UndefinedBehaviorSanitizer (clang)
#   make check BUILD=debug  plain debug build
#   make fuzz               build the libFuzzer targets and run each for FUZZ_SECONDS
#   make bench              build and run the benchmarks (figures for BENCHMARKS.md)
#   make demo               a fleet of 100 virtual meters read with `ami dlms` (scripts/demo)
#   make lint | format | install | clean
#
# SPDX-License-Identifier: Apache-2.0

BUILD        ?= release
BUILD_DIR    ?= build/$(BUILD)
JOBS         ?= $(shell nproc 2>/dev/null || echo 2)
FUZZ_SECONDS ?= 30
PREFIX       ?= /usr/local

CMAKE_FLAGS_release := -DCMAKE_BUILD_TYPE=Release -DAMI_WERROR=ON
CMAKE_FLAGS_debug   := -DCMAKE_BUILD_TYPE=Debug
CMAKE_FLAGS_asan    := -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang -DAMI_SANITIZE=address,undefined
CMAKE_FLAGS_fuzz    := -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang -DAMI_SANITIZE=address,undefined \
                       -DAMI_FUZZ=ON -DAMI_BUILD_APPS=OFF -DAMI_BUILD_BENCH=OFF

.PHONY: all deps configure build test check lint format fuzz bench demo install clean

all: build

deps:
	@scripts/deps

configure:
	cmake -S . -B $(BUILD_DIR) $(CMAKE_FLAGS_$(BUILD)) $(CMAKE_ARGS)

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

test:
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS)

check: deps build test lint

lint:
	@scripts/lint

format:
	@scripts/lint --fix

fuzz: deps
	@$(MAKE) --no-print-directory build BUILD=fuzz
	@scripts/fuzz build/fuzz $(FUZZ_SECONDS)

bench: deps
	@$(MAKE) --no-print-directory build BUILD=release
	@scripts/bench build/release

demo: deps
	@$(MAKE) --no-print-directory build BUILD=release
	@scripts/demo build/release

install: build
	cmake --install $(BUILD_DIR) --prefix $(PREFIX)

clean:
	rm -rf build
