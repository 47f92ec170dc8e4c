#!/usr/bin/env python3
"""`kaiwu detect` against ddddocr's detector (DdddOcr(det=True), running
the same ONNX file through onnxruntime): rendered characters on textured
backgrounds (tools/render_ocr_lines.py, sizes below and above the 416
input) plus every fifth ImageNet sample photo (JPEG) must give the same number of
boxes, each matching with IoU >= 0.99. Exit 77 when models/ddddocr_det.onnx
or the ddddocr package is missing (a failure when KW_REQUIRE_MODELS=1)."""
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vision_util import DATA, kaiwu_json, need_model, skip  # noqa: E402

try:
    import onnxruntime as ort
    import ddddocr
    from render_ocr_lines import render_det
except ImportError as e:
    skip("python package missing: %s" % e)


def iou(a, b):
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(w, 0) * max(h, 0)
    ua = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    if ua <= 0:
        return 1.0 if a == b else 0.0
    return inter / ua


def main():
    model = need_model("ddddocr_det.onnx")
    det = ddddocr.DdddOcr(det=True, show_ad=False)
    # the reference pipeline on exactly this model file
    det.detection_engine.session = ort.InferenceSession(
        model, providers=["CPUExecutionProvider"])
    with tempfile.TemporaryDirectory() as tmp:
        images = render_det(tmp, 6, seed=99)
        sample = os.path.join(DATA, "imagenet-sample")
        if os.path.isdir(sample):
            images += sorted(os.path.join(sample, n) for n in os.listdir(sample))[::5]
        out = kaiwu_json(["detect", "-m", model] + images)
        assert len(out) == len(images), "one JSON line per image"
        bad = total = 0
        for path, res in zip(images, out):
            assert res["image"] == path
            with open(path, "rb") as f:
                ref = det.detection(f.read())
            got = [[b["x1"], b["y1"], b["x2"], b["y2"]] for b in res["boxes"]]
            for b in res["boxes"]:
                assert set(b) == {"x1", "y1", "x2", "y2", "score", "class"}, b
            total += len(ref)
            name = os.path.basename(path)
            if len(got) != len(ref):
                print("FAIL %s: kaiwu %d boxes, ddddocr %d" % (name, len(got), len(ref)))
                bad += 1
                continue
            left = list(got)
            worst = 1.0
            for r in ref:  # one-to-one, best overlap first
                k = max(range(len(left)), key=lambda j: iou(r, left[j]))
                worst = min(worst, iou(r, left[k]))
                left.pop(k)
            status = "ok" if worst >= 0.99 else "FAIL"
            bad += worst < 0.99
            print("%s %s: %d boxes, worst IoU %.4f" % (status, name, len(ref), worst))
        print("detect: %d/%d images match ddddocr (%d boxes)"
              % (len(images) - bad, len(images), total))
        if bad:
            sys.exit(1)


if __name__ == "__main__":
    main()
