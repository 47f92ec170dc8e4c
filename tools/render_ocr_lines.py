#!/usr/bin/env python3
"""Renders test images for `kaiwu ocr` and `kaiwu detect` with known content.

Text lines (Latin, digits, Chinese, mixes) are drawn with PIL and the Debian
CJK font fonts-wqy-zenhei onto light backgrounds with mild noise; detection
images scatter single characters over a textured background. Everything is
deterministic for a given seed.

  python3 tools/render_ocr_lines.py OUTDIR [--count N] [--seed S] [--det N]

writes OUTDIR/line_NNN.png with OUTDIR/lines.tsv (file, text) and, with
--det, OUTDIR/det_NNN.png. The tests import render_lines / render_det.
"""
import argparse
import os
import random
import sys

FONT = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"

LATIN = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"
DIGITS = "0123456789"
WORDS = ["kaiwu", "Hello", "World", "Python", "Linux", "ONNX", "model",
         "image", "camera", "Debian", "edge", "token", "Vision", "river",
         "orange", "CPU", "test", "Zebra", "quick", "brown"]
CHINESE = ["中国", "北京", "上海", "你好", "世界", "天气", "今天", "明天",
           "学习", "工作", "电脑", "手机", "图片", "文字", "识别", "开物",
           "人工智能", "模型", "数据", "山水", "春夏秋冬", "东南西北",
           "大小多少", "上下左右", "日月星辰", "花草树木", "读书", "朋友",
           "时间", "快乐", "城市", "火车", "飞机", "米饭", "茶", "水果"]


def _font(size):
    from PIL import ImageFont
    return ImageFont.truetype(FONT, size)


def _line_text(rng, i):
    kind = i % 6
    if kind == 0:
        return "".join(rng.choice(DIGITS) for _ in range(rng.randint(4, 9)))
    if kind == 1:
        return "".join(rng.choice(LATIN) for _ in range(rng.randint(4, 7)))
    if kind == 2:
        return rng.choice(WORDS) + "".join(rng.choice(DIGITS)
                                           for _ in range(rng.randint(1, 3)))
    if kind == 3:
        return "".join(rng.choice(CHINESE) for _ in range(rng.randint(1, 3)))
    if kind == 4:
        return rng.choice(CHINESE) + "".join(rng.choice(DIGITS)
                                             for _ in range(rng.randint(2, 4)))
    return (rng.choice(LATIN) + rng.choice(LATIN) + rng.choice(DIGITS) +
            rng.choice(CHINESE))


def _noise(img, rng, amount):
    """Adds uniform per-pixel noise of +-amount and a few specks."""
    from PIL import Image
    import numpy as np
    a = np.asarray(img).astype(np.int16)
    nrng = np.random.default_rng(rng.randint(0, 2**31))
    a = a + nrng.integers(-amount, amount + 1, size=a.shape)
    h, w = a.shape[:2]
    for _ in range(w * h // 400):
        y, x = nrng.integers(0, h), nrng.integers(0, w)
        a[y, x] = nrng.integers(0, 256, size=a.shape[2])
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8), "RGB")


def render_lines(outdir, count=60, seed=1234):
    """Renders count text lines; returns [(path, text)]."""
    from PIL import Image, ImageDraw
    rng = random.Random(seed)
    os.makedirs(outdir, exist_ok=True)
    out = []
    for i in range(count):
        text = _line_text(rng, i)
        size = rng.randint(28, 44)
        font = _font(size)
        left, top, right, bottom = font.getbbox(text)
        pad_x, pad_y = rng.randint(6, 16), rng.randint(5, 12)
        w, h = right - left + 2 * pad_x, bottom - top + 2 * pad_y
        bg = tuple(rng.randint(215, 255) for _ in range(3))
        fg = tuple(rng.randint(0, 70) for _ in range(3))
        img = Image.new("RGB", (w, h), bg)
        ImageDraw.Draw(img).text((pad_x - left, pad_y - top), text, font=font,
                                 fill=fg)
        img = _noise(img, rng, 12)
        path = os.path.join(outdir, "line_%03d.png" % i)
        img.save(path)
        out.append((path, text))
    with open(os.path.join(outdir, "lines.tsv"), "w", encoding="utf-8") as f:
        for path, text in out:
            f.write("%s\t%s\n" % (os.path.basename(path), text))
    return out


def render_det(outdir, count=6, seed=99):
    """Scatters 3-6 large characters over textured backgrounds of several
    sizes (smaller and larger than the detector's 416 input); returns
    the paths."""
    from PIL import Image, ImageDraw
    rng = random.Random(seed)
    os.makedirs(outdir, exist_ok=True)
    sizes = [(320, 160), (416, 416), (600, 300), (250, 400), (800, 520),
             (344, 130)]
    paths = []
    pool = "".join(CHINESE) + LATIN + DIGITS
    for i in range(count):
        w, h = sizes[i % len(sizes)]
        img = Image.new("RGB", (w, h))
        d = ImageDraw.Draw(img)
        for y in range(h):  # a colour gradient with stripes
            c = (int(120 + 100 * y / h), 150 + (y * 7) % 60, 200 - y % 90)
            d.line([(0, y), (w, y)], fill=c)
        for _ in range(8):
            x0, y0 = rng.randint(0, w), rng.randint(0, h)
            d.ellipse([x0, y0, x0 + rng.randint(10, 60), y0 + rng.randint(10, 60)],
                      outline=tuple(rng.randint(0, 255) for _ in range(3)))
        n = rng.randint(3, 6)
        size = max(28, min(w, h) // 4)
        font = _font(size)
        cols = max(1, w // (size + 10))
        cells = rng.sample(range(cols * max(1, h // (size + 10))),
                           min(n, cols * max(1, h // (size + 10))))
        for cell in cells:
            cx, cy = cell % cols, cell // cols
            ch = rng.choice(pool)
            x = cx * (size + 10) + rng.randint(0, 8)
            y = cy * (size + 10) + rng.randint(0, 8)
            d.text((x, y), ch, font=font,
                   fill=tuple(rng.randint(0, 90) for _ in range(3)))
        img = _noise(img, rng, 8)
        path = os.path.join(outdir, "det_%03d.png" % i)
        img.save(path)
        paths.append(path)
    return paths


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--count", type=int, default=60)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--det", type=int, default=0,
                    help="also render N detection images")
    a = ap.parse_args()
    if not os.path.exists(FONT):
        sys.exit("missing font %s (Debian package fonts-wqy-zenhei)" % FONT)
    lines = render_lines(a.outdir, a.count, a.seed)
    print("%d lines in %s" % (len(lines), a.outdir))
    if a.det:
        print("%d detection images" % len(render_det(a.outdir, a.det, a.seed)))


if __name__ == "__main__":
    main()
