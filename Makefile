# Entry points. `make demo` and `make test` work on a fresh Debian 12 machine: both run the
# set-up script first (installs the Debian packages; a no-op when they are present).
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=Release

.PHONY: all setup configure build test demo bench clean

all: build

setup:
	@bash scripts/setup.sh

$(BUILD_DIR)/build.ninja: CMakeLists.txt
	cmake -S . -B $(BUILD_DIR) -G Ninja $(CMAKE_FLAGS)

configure: setup $(BUILD_DIR)/build.ninja

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS)

demo: build
	@bash scripts/demo.sh $(BUILD_DIR)

bench: build
	@bash bench/run_all.sh $(BUILD_DIR)

clean:
	rm -rf $(BUILD_DIR)

# Fuzzing (docs/reliability.md): the targets of fuzz/ built with clang, libFuzzer, ASan and
# UBSan in their own folder, each run FUZZ_SECONDS from its seeds; a crash leaves its input in
# build-fuzz/findings/<target>/ (copy it to tests/fuzz/<target>/ with the fix: the tests
# replay it). Needs clang and libFuzzer (scripts/setup.sh --fuzz).
FUZZ_DIR ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS = delimited tokens aliccp_raw data_config vocabulary cache_meta bundle request
.PHONY: fuzz
fuzz:
	@bash scripts/setup.sh --fuzz
	cmake -S . -B $(FUZZ_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
	  -DFUNNEL_FUZZ=ON -DFUNNEL_BUILD_TESTS=OFF -DFUNNEL_BUILD_BENCH=OFF \
	  "-DCMAKE_CXX_FLAGS=-fsanitize=address,undefined -fsanitize=fuzzer-no-link -fno-sanitize-recover=undefined"
	cmake --build $(FUZZ_DIR) -j $(JOBS) --target $(addprefix fuzz_,$(FUZZ_TARGETS))
	@bash scripts/fuzz.sh $(FUZZ_DIR) $(FUZZ_SECONDS) $(FUZZ_TARGETS)
