#!/usr/bin/env bash
# install_deps.sh — installs what building and testing kaiwu needs, only
# where it is missing: Debian packages (compilers, cmake, ninja, clang with
# its sanitizer and libFuzzer runtimes, python3) and the PyPI packages the
# tests use as references (gguf, numpy).
set -euo pipefail
need=()
command -v cc >/dev/null || need+=(gcc)
command -v cmake >/dev/null || need+=(cmake)
command -v ninja >/dev/null || need+=(ninja-build)
command -v clang >/dev/null || need+=(clang)
command -v python3 >/dev/null || need+=(python3 python3-pip)
command -v unzip >/dev/null || need+=(unzip)
dpkg -s libclang-rt-dev >/dev/null 2>&1 || need+=(libclang-rt-dev)
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
    python3 -c "import gguf, numpy" 2>/dev/null ||
        python3 -m pip install --quiet gguf numpy
fi
exit 0
