#!/usr/bin/env bash
# install_deps.sh — installs what building and testing kaiwu needs, only
# where it is missing: Debian packages (compilers, cmake, ninja, clang with
# its sanitizer and libFuzzer runtimes, python3, libcurl and jansson for the
# model store, libmicrohttpd for the server) and, with "test", what the
# tests use: the PyPI reference packages (gguf, numpy, oras, onnx,
# onnxruntime, openai, selenium, Pillow, ddddocr), the ONNX test data
# (libonnx-testdata), the registry tools (docker-registry, skopeo,
# htpasswd), headless Chromium for the chat page and the CJK font the OCR
# test lines are drawn with (fonts-wqy-zenhei).
set -euo pipefail
need=()
command -v cc >/dev/null || need+=(gcc)
command -v cmake >/dev/null || need+=(cmake)
command -v ninja >/dev/null || need+=(ninja-build)
command -v clang >/dev/null || need+=(clang)
command -v python3 >/dev/null || need+=(python3 python3-pip)
command -v unzip >/dev/null || need+=(unzip)
command -v pkg-config >/dev/null || need+=(pkg-config)
dpkg -s libclang-rt-dev >/dev/null 2>&1 || need+=(libclang-rt-dev)
dpkg -s libcurl4-openssl-dev >/dev/null 2>&1 || need+=(libcurl4-openssl-dev)
dpkg -s libjansson-dev >/dev/null 2>&1 || need+=(libjansson-dev)
dpkg -s libjpeg62-turbo-dev >/dev/null 2>&1 || need+=(libjpeg62-turbo-dev)
dpkg -s libspng-dev >/dev/null 2>&1 || need+=(libspng-dev)
dpkg -s libmicrohttpd-dev >/dev/null 2>&1 || need+=(libmicrohttpd-dev)
if [ "${1:-}" = test ]; then
    command -v docker-registry >/dev/null || need+=(docker-registry)
    command -v skopeo >/dev/null || need+=(skopeo)
    command -v htpasswd >/dev/null || need+=(apache2-utils)
    command -v curl >/dev/null || need+=(curl)
    dpkg -s libonnx-testdata >/dev/null 2>&1 || need+=(libonnx-testdata)
    command -v chromium >/dev/null || need+=(chromium)
    command -v chromedriver >/dev/null || need+=(chromium-driver)
    dpkg -s fonts-wqy-zenhei >/dev/null 2>&1 || need+=(fonts-wqy-zenhei)
fi
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "missing packages: ${need[*]} (run as root or install them)" >&2
        exit 1
    fi
    echo "installing ${need[*]} ..." >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
if [ "${1:-}" = test ]; then
    python3 -c "import gguf, numpy, oras.client, onnx, onnxruntime, openai, selenium, PIL, ddddocr" \
        2>/dev/null ||
        python3 -m pip install --quiet gguf numpy oras==0.2.43 onnx==1.23.2 onnxruntime==1.32.0 \
            openai==3.57.0 selenium==4.51.0 pillow==13.0.0 ddddocr==1.6.1
fi
exit 0
