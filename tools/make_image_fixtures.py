#!/usr/bin/env python3
"""make_image_fixtures.py — writes the seed corpus of the fuzz_image target
(tests/corpus/fuzz_image/): tiny JPEG and PNG files covering what the
decoders handle (gray, RGB, CMYK, progressive, EXIF-rotated JPEG; palette,
16-bit, RGBA, gray+alpha, interlaced PNG). Deterministic; needs Pillow and
numpy. Usage: python3 tools/make_image_fixtures.py [OUT_DIR]
"""
import io
import os
import struct
import sys
import zlib

import numpy as np
from PIL import Image


def chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data +
            struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))


def png16(a):
    """16-bit RGB PNG written by hand (Pillow cannot save 16-bit RGB)."""
    h, w, _ = a.shape
    raw = b"".join(b"\0" + a[y].astype(">u2").tobytes() for y in range(h))
    return (b"\x89PNG\r\n\x1a\n" +
            chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def save(im, fmt, **kw):
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(__file__), "..", "tests", "corpus", "fuzz_image")
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(4)
    h, w = 12, 20
    grad = np.zeros((h, w, 3), np.uint8)
    grad[..., 0] = np.arange(w)[None, :] * 12
    grad[..., 1] = np.arange(h)[:, None] * 20
    grad[..., 2] = rng.integers(0, 256, (h, w))
    rgb = Image.fromarray(grad)
    exif, exif8 = Image.Exif(), Image.Exif()
    exif[0x0112] = 6
    exif8[0x0112] = 8
    files = {
        "gray.jpg": save(rgb.convert("L"), "JPEG", quality=80),
        "rgb.jpg": save(rgb, "JPEG", quality=80),
        "rgb420.jpg": save(rgb, "JPEG", quality=60, subsampling=2),
        "cmyk.jpg": save(rgb.convert("CMYK"), "JPEG", quality=80),
        "progressive.jpg": save(rgb, "JPEG", quality=80, progressive=True),
        "exif_rot6.jpg": save(rgb, "JPEG", quality=80, exif=exif.tobytes()),
        "gray.png": save(rgb.convert("L"), "PNG"),
        "rgb.png": save(rgb, "PNG"),
        "palette.png": save(rgb.convert("P", palette=Image.ADAPTIVE,
                                        colors=16), "PNG"),
        "palette_trns.png": save(rgb.convert("P", palette=Image.ADAPTIVE,
                                             colors=8), "PNG",
                                 transparency=0),
        "rgba.png": save(rgb.convert("RGBA"), "PNG"),
        "gray_alpha.png": save(rgb.convert("LA"), "PNG"),
        "bilevel.png": save(rgb.convert("1"), "PNG"),
        "interlaced.png": save(rgb, "PNG", interlace=1),
        "exif_rot8.png": save(rgb, "PNG", exif=exif8.tobytes()),
        "rgb16.png": png16(grad.astype(np.uint16) * 257),
    }
    for name, data in sorted(files.items()):
        assert len(data) < 4096, (name, len(data))
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        print(f"{name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
