#!/usr/bin/env python3
"""`kaiwu ocr` against ddddocr (DdddOcr(), its preprocessing and CTC
decoding, running the same ONNX file and charset through onnxruntime) on
60 text lines rendered by tools/render_ocr_lines.py (Latin, digits,
Chinese, mixed; light noise; some saved gray or RGBA with a partly
transparent background): the text must be identical for every line.
Also prints how many lines both read exactly as rendered. Exit 77 when
models/ddddocr_ocr.onnx, models/ddddocr_charset.txt, the font or ddddocr
are missing (a failure for the models when KW_REQUIRE_MODELS=1)."""
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vision_util import kaiwu_json, need_model, skip  # noqa: E402

try:
    import onnxruntime as ort
    import ddddocr
    from render_ocr_lines import FONT, render_lines
except ImportError as e:
    skip("python package missing: %s" % e)

N_LINES = 60


def read_charset(path):
    with open(path, "rb") as f:
        text = f.read().decode("utf-8")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [l[:-1] if l.endswith("\r") else l for l in lines]


def restore_modes(paths):
    """Saves some lines as gray PNGs and some as RGBA with a partly
    transparent background, so those decoding paths are compared too."""
    import numpy as np
    from PIL import Image
    rng = np.random.default_rng(5)
    for i, p in enumerate(paths):
        if i % 10 == 3:
            Image.open(p).convert("L").save(p)
        elif i % 10 == 7:
            a = np.asarray(Image.open(p).convert("RGBA")).copy()
            light = a[..., :3].mean(axis=2) > 150
            a[..., 3] = np.where(light, rng.integers(0, 256, light.shape), 255)
            Image.fromarray(a.astype(np.uint8), "RGBA").save(p)


def main():
    model = need_model("ddddocr_ocr.onnx")
    charset_path = need_model("ddddocr_charset.txt")
    if not os.path.exists(FONT):
        skip("missing font %s (fonts-wqy-zenhei)" % FONT, required=False)
    ocr = ddddocr.DdddOcr(show_ad=False)
    eng = ocr.ocr_engine
    # the reference pipeline on exactly this model file and charset
    eng.session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    eng.charset_manager.charset = read_charset(charset_path)
    eng.charset_manager._update_valid_indices()
    with tempfile.TemporaryDirectory() as tmp:
        lines = render_lines(tmp, N_LINES, seed=1234)
        paths = [p for p, _ in lines]
        restore_modes(paths)
        out = kaiwu_json(["ocr", "-m", model, "--charset", charset_path] + paths)
        assert len(out) == len(paths), "one JSON line per image"
        same = exact = 0
        for (path, truth), res in zip(lines, out):
            assert res["image"] == path
            with open(path, "rb") as f:
                ref = ocr.classification(f.read())
            same += res["text"] == ref
            exact += ref == truth
            if res["text"] != ref:
                print("FAIL %s: kaiwu %r ddddocr %r (rendered %r)"
                      % (os.path.basename(path), res["text"], ref, truth))
        print("ocr: %d/%d lines identical to ddddocr; ddddocr read %d/%d as "
              "rendered" % (same, len(paths), exact, len(paths)))
        if same != len(paths) or len(paths) < 50:
            sys.exit(1)


if __name__ == "__main__":
    main()
