#!/bin/sh
# kernel_parity.sh — builds and runs tools/peer/kernel_parity.c: kaiwu's
# quantized kernels against the peer llama.cpp's libggml-cpu, bit for bit.
# Dev tool only (not in make test). Env: KW_BUILD (kaiwu build dir holding
# libkaiwu.a, default /tmp/build-kernel-parity, configured+built here if
# missing), KW_PEER (llama.cpp source tree with build/bin), KW_MODELS_DIR,
# KW_PARITY_BENCH=1 for timings, KW_FORCE_REF=1 to check the references.
set -eu
SRC=$(cd "$(dirname "$0")/../.." && pwd)
PEER=${KW_PEER:-/root/.cache/kaiwu-peer/llama_cpp_python-0.3.36/vendor/llama.cpp}
BUILD=${KW_BUILD:-/tmp/build-kernel-parity}
MODELS=${KW_MODELS_DIR:-$SRC/models}
if [ ! -f "$BUILD/libkaiwu.a" ]; then
    cmake -S "$SRC" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$BUILD" --target kaiwu_static >/dev/null 2>&1 ||
    cmake --build "$BUILD" >/dev/null
LIB="$PEER/build/bin"
OUT="$BUILD/kernel_parity"
cc -O2 -std=gnu11 -Wall -Wextra -I"$SRC/src" -I"$SRC/include" \
    -I"$PEER/ggml/include" "$SRC/tools/peer/kernel_parity.c" \
    "$BUILD/libkaiwu.a" -L"$LIB" -lggml-cpu -lggml-base -lggml \
    -Wl,-rpath,"$LIB" -lm -lpthread -o "$OUT"
exec "$OUT" "$MODELS"
