#!/usr/bin/env python3
"""`kaiwu classify` against onnxruntime on the 100 ImageNet sample photos:
the same model file (models/efficientnet_lite0.onnx, or KW_CLASSIFY_MODEL)
and ImageNet preprocessing done with PIL and numpy (shorter side to 256,
bilinear; centre crop 224; mean/std), top-1 must agree on >= 99 of 100.
Also prints top-1 accuracy of both against the class in each file name
(n01440764_tench.JPEG; class order from imagenet-classes.tsv) and checks
the --json contract. Exit 77 when the model, data or Python packages are
missing (a failure for the model when KW_REQUIRE_MODELS=1)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vision_util import DATA, kaiwu_json, need_model, skip  # noqa: E402

try:
    import numpy as np
    import onnxruntime as ort
    from PIL import Image
except ImportError as e:
    skip("python package missing: %s" % e)

MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)


def preprocess(path):
    """torchvision's Resize(256) + CenterCrop(224) + Normalize, in PIL."""
    img = Image.open(path)
    img = img.convert("RGB")
    w, h = img.size
    if w <= h:
        rw, rh = 256, 256 * h // w
    else:
        rw, rh = 256 * w // h, 256
    img = img.resize((rw, rh), Image.BILINEAR)
    left, top = int(round((rw - 224) / 2.0)), int(round((rh - 224) / 2.0))
    img = img.crop((left, top, left + 224, top + 224))
    a = (np.asarray(img, np.float32) / 255.0 - MEAN) / STD
    return a.transpose(2, 0, 1)[None].astype(np.float32)


def main():
    model = os.environ.get("KW_CLASSIFY_MODEL") or need_model("efficientnet_lite0.onnx")
    sample = os.path.join(DATA, "imagenet-sample")
    classes = os.path.join(DATA, "imagenet-classes.tsv")
    if not os.path.isdir(sample) or not os.path.exists(classes):
        skip("missing sample data in %s" % DATA, required=False)
    wnid_index = {}
    with open(classes, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                i, wnid, _ = line.rstrip("\n").split("\t", 2)
                wnid_index[wnid] = int(i)
    images = sorted(os.path.join(sample, n) for n in os.listdir(sample)
                    if n.lower().endswith((".jpeg", ".jpg", ".png")))
    if not images:
        skip("no images in %s" % sample, required=False)

    out = kaiwu_json(["classify", "-m", model, "--top", "5"] + images)
    assert len(out) == len(images), "one JSON line per image"
    sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    agree = kw_ok = ort_ok = 0
    for path, res in zip(images, out):
        assert res["image"] == path, res
        top = res["top"]
        assert len(top) == 5 and all(set(t) == {"index", "label", "prob"} for t in top)
        assert all(top[j]["prob"] >= top[j + 1]["prob"] for j in range(4))
        logits = sess.run(None, {name: preprocess(path)})[0].reshape(-1)
        ref = int(np.argmax(logits))
        truth = wnid_index.get(os.path.basename(path).split("_", 1)[0])
        kw = top[0]["index"]
        agree += kw == ref
        kw_ok += kw == truth
        ort_ok += ref == truth
        if kw != ref:
            srt = np.sort(logits)[::-1]
            print("differs: %s kaiwu %d (%s) onnxruntime %d, logit margin %.4f"
                  % (os.path.basename(path), kw, top[0]["label"], ref,
                     srt[0] - srt[1]))
    n = len(images)
    print("top-1 agreement with onnxruntime: %d/%d" % (agree, n))
    print("top-1 accuracy vs file names: kaiwu %d/%d, onnxruntime %d/%d"
          % (kw_ok, n, ort_ok, n))
    need = n - max(1, n // 100)
    if agree < need:
        sys.exit("FAIL: top-1 agreement %d/%d, need %d" % (agree, n, need))
    print("ok")


if __name__ == "__main__":
    main()
