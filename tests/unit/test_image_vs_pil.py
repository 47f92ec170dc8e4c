#!/usr/bin/env python3
"""test_image_vs_pil.py — kaiwu's image decoding and preprocessing against
PIL/numpy, through libkaiwu's C API (ctypes):
- ImageNet preprocessing (shorter side 256 with PIL BILINEAR, centre crop
  224 as torchvision, /255, mean/std) on the 100 photos of
  ../shared/data/imagenet-sample beside the source tree (or
  KW_IMAGENET_SAMPLE),
- resize to odd sizes (BILINEAR and BOX, up and down) against PIL,
- EXIF orientations 1..8, CMYK JPEG, palette/16-bit/RGBA/gray PNG decodes.
Skips (77) when numpy/PIL or the shared library are missing, unless
KW_REQUIRE_MODELS=1. Prints the max abs differences and timings.
"""
import ctypes as C
import glob
import io
import os
import sys
import time

REQUIRE = os.environ.get("KW_REQUIRE_MODELS") == "1"


def skip(why):
    print("skip:", why)
    sys.exit(1 if REQUIRE else 77)


try:
    import numpy as np
    from PIL import Image, ImageOps
except ImportError as e:  # pragma: no cover
    skip(f"needs numpy and pillow ({e})")


def find_lib():
    cands = []
    if os.environ.get("KW_LIB"):
        cands.append(os.environ["KW_LIB"])
    if os.environ.get("KW_BIN"):
        cands.append(os.path.join(os.path.dirname(os.environ["KW_BIN"]),
                                  "libkaiwu.so"))
    src = os.environ.get("KW_SOURCE_DIR",
                         os.path.join(os.path.dirname(__file__), "..", ".."))
    cands.append(os.path.join(src, "build", "libkaiwu.so"))
    for c in cands:
        if os.path.exists(c):
            return c
    return None


class KwImage(C.Structure):
    _fields_ = [("width", C.c_int), ("height", C.c_int),
                ("channels", C.c_int), ("data", C.POINTER(C.c_uint8))]


class KwPreprocess(C.Structure):
    _fields_ = [("resize_shorter", C.c_int), ("resize_w", C.c_int),
                ("resize_h", C.c_int), ("letterbox", C.c_int),
                ("crop_w", C.c_int), ("crop_h", C.c_int),
                ("method", C.c_int), ("scale", C.c_float),
                ("mean", C.c_float * 4), ("std", C.c_float * 4),
                ("pad_value", C.c_float), ("channels", C.c_int),
                ("bgr", C.c_int), ("nhwc", C.c_int)]


class KwValue(C.Structure):
    _fields_ = [("kind", C.c_int), ("dtype", C.c_int), ("rank", C.c_int),
                ("dims", C.c_int64 * 8), ("data", C.c_void_p),
                ("nbytes", C.c_size_t), ("items", C.c_void_p),
                ("n_items", C.c_size_t), ("elem_dtype", C.c_int),
                ("owns_data", C.c_int)]


class KwXform(C.Structure):
    _fields_ = [("sx", C.c_float), ("sy", C.c_float), ("dx", C.c_float),
                ("dy", C.c_float)]


path = find_lib()
if not path:
    skip("libkaiwu.so not found (set KW_BIN or KW_LIB)")
try:
    lib = C.CDLL(path)
except OSError as e:
    # a sanitizer build's library needs its runtime loaded first, which a
    # Python process does not have; the plain and KW_FORCE_REF runs cover this
    if "__asan_" in str(e) or "__ubsan_" in str(e):
        print("skip: %s is a sanitizer build (%s)" % (path, e))
        sys.exit(77)
    raise
lib.kw_image_decode.argtypes = [C.c_void_p, C.c_size_t, C.c_char_p, C.c_int,
                                C.c_void_p, C.POINTER(C.POINTER(KwImage)),
                                C.c_char_p, C.c_size_t]
lib.kw_image_load.argtypes = [C.c_char_p, C.c_int, C.c_void_p,
                              C.POINTER(C.POINTER(KwImage)), C.c_char_p,
                              C.c_size_t]
lib.kw_image_free.argtypes = [C.POINTER(KwImage)]
lib.kw_preprocess_imagenet.argtypes = [C.POINTER(KwPreprocess)]
lib.kw_image_to_tensor.argtypes = [C.POINTER(C.POINTER(KwImage)), C.c_int,
                                   C.POINTER(KwPreprocess),
                                   C.POINTER(C.POINTER(KwValue)),
                                   C.POINTER(KwXform), C.c_char_p, C.c_size_t]
lib.kw_onnx_value_free.argtypes = [C.POINTER(KwValue)]
_probe = C.POINTER(KwImage)()
if lib.kw_image_decode(b"\x89PNG\r\n\x1a\n", 8, b"probe", 0, None,
                       C.byref(_probe), None, 0) == 5:
    skip("libkaiwu was built without image support (KW_IMAGE=OFF)")

failures = 0


def check(cond, msg):
    global failures
    if not cond:
        failures += 1
        print("FAIL:", msg)


def image_to_np(img):
    im = img.contents
    a = np.ctypeslib.as_array(im.data, shape=(im.height, im.width,
                                              im.channels)).copy()
    return a


def decode(data, channels=0, name=b"mem"):
    out = C.POINTER(KwImage)()
    err = C.create_string_buffer(512)
    st = lib.kw_image_decode(data, len(data), name, channels, None,
                             C.byref(out), err, 512)
    if st != 0:
        return None, err.value.decode()
    a = image_to_np(out)
    lib.kw_image_free(out)
    return a, None


def to_tensor(imgs, pp):
    arr = (C.POINTER(KwImage) * len(imgs))(*imgs)
    out = C.POINTER(KwValue)()
    xf = (KwXform * len(imgs))()
    err = C.create_string_buffer(512)
    st = lib.kw_image_to_tensor(arr, len(imgs), C.byref(pp), C.byref(out), xf,
                                err, 512)
    if st != 0:
        raise RuntimeError(err.value.decode())
    v = out.contents
    shape = tuple(v.dims[i] for i in range(v.rank))
    t = np.ctypeslib.as_array(C.cast(v.data, C.POINTER(C.c_float)),
                              shape=shape).copy()
    lib.kw_onnx_value_free(out)
    return t, [(x.sx, x.sy, x.dx, x.dy) for x in xf]


def np_image(a):
    """A kw_image viewing numpy HWC uint8 data (kept alive by caller)."""
    a = np.ascontiguousarray(a, dtype=np.uint8)
    if a.ndim == 2:
        a = a[:, :, None]
    im = KwImage(a.shape[1], a.shape[0], a.shape[2],
                 a.ctypes.data_as(C.POINTER(C.c_uint8)))
    return C.pointer(im), a


MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)


def pil_imagenet(path):
    im = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
    w, h = im.size
    if w <= h:
        nw, nh = 256, int(256 * h / w)
    else:
        nw, nh = int(256 * w / h), 256
    im = im.resize((nw, nh), Image.BILINEAR)
    left = int(round((nw - 224) / 2.0))
    top = int(round((nh - 224) / 2.0))
    im = im.crop((left, top, left + 224, top + 224))
    x = np.asarray(im, np.float32) / np.float32(255)
    x = (x - MEAN) / STD
    return x.transpose(2, 0, 1)


def test_imagenet():
    src = os.environ.get("KW_SOURCE_DIR", os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    d = os.environ.get("KW_IMAGENET_SAMPLE", os.path.abspath(
        os.path.join(src, "..", "shared", "data", "imagenet-sample")))
    files = sorted(glob.glob(os.path.join(d, "*")))
    if not files:
        print("imagenet sample not found at", d, "- skipped that part")
        return
    pp = KwPreprocess()
    lib.kw_preprocess_imagenet(C.byref(pp))
    worst, worst_file, n_off = 0.0, None, 0
    t_dec = t_pre = 0.0
    for f in files:
        out = C.POINTER(KwImage)()
        err = C.create_string_buffer(512)
        t0 = time.perf_counter()
        st = lib.kw_image_load(f.encode(), 3, None, C.byref(out), err, 512)
        t1 = time.perf_counter()
        check(st == 0, f"{f}: {err.value.decode()}")
        if st != 0:
            continue
        t, xf = to_tensor([out], pp)
        t2 = time.perf_counter()
        t_dec += t1 - t0
        t_pre += t2 - t1
        lib.kw_image_free(out)
        ref = pil_imagenet(f)
        check(t.shape == (1, 3, 224, 224), f"{f}: shape {t.shape}")
        diff = np.abs(t[0] - ref)
        m = float(diff.max())
        n_off += int((diff > 1e-5).sum())
        if m > worst:
            worst, worst_file = m, f
    # one 8-bit step is 1/255/0.225 = 0.0174 after normalisation
    print(f"imagenet: {len(files)} photos, max abs diff vs PIL {worst:.3g} "
          f"({os.path.basename(worst_file or '-')}), values off by more than "
          f"1e-5: {n_off}; decode {1e3 * t_dec / len(files):.2f} ms, "
          f"preprocess {1e3 * t_pre / len(files):.2f} ms per photo")
    check(worst <= 1.0 / 255 / 0.225 + 1e-4, f"imagenet max diff {worst}")


def test_resize():
    rng = np.random.default_rng(1)
    worst = 0
    sizes = [((500, 375), (341, 256)), ((37, 23), (100, 61)), ((64, 48), (7, 5)),
             ((300, 200), (150, 100)), ((20, 30), (20, 11)), ((1, 9), (3, 4)),
             ((123, 77), (123, 200))]
    for (w, h), (ow, oh) in sizes:
        for ch in (1, 3):
            a = rng.integers(0, 256, (h, w, ch), dtype=np.uint8)
            # smooth + noise, so both filters see gradients and edges
            a[: h // 2] = (np.arange(w)[None, :, None] * 255 // max(w - 1, 1))
            for method, pil_m in ((0, Image.BILINEAR), (1, Image.BOX)):
                pim = Image.fromarray(a[:, :, 0] if ch == 1 else a)
                ref = np.asarray(pim.resize((ow, oh), pil_m), np.float32)
                if ref.ndim == 2:
                    ref = ref[:, :, None]
                pp = KwPreprocess(resize_w=ow, resize_h=oh, method=method,
                                  scale=1.0, channels=ch)
                for c in range(4):
                    pp.std[c] = 1.0
                ip, keep = np_image(a)
                t, xf = to_tensor([ip], pp)
                got = t[0].transpose(1, 2, 0)
                m = float(np.abs(got - ref).max())
                worst = max(worst, m)
                check(m <= 1, f"resize {w}x{h}->{ow}x{oh} c{ch} m{method}: {m}")
    print(f"resize: max abs diff vs PIL {worst} (8-bit units)")


def test_orientation():
    rng = np.random.default_rng(2)
    a = rng.integers(0, 256, (24, 40, 3), dtype=np.uint8)
    a = np.kron(a[::8, ::8], np.ones((8, 8, 1), np.uint8))  # 8x8 blocks
    for o in range(1, 9):
        ex = Image.Exif()
        ex[0x0112] = o
        for fmt in ("JPEG", "PNG"):
            buf = io.BytesIO()
            kw = {"quality": 95} if fmt == "JPEG" else {}
            Image.fromarray(a).save(buf, fmt, exif=ex.tobytes(), **kw)
            data = buf.getvalue()
            ref = np.asarray(ImageOps.exif_transpose(
                Image.open(io.BytesIO(data))).convert("RGB"))
            got, e = decode(data, 3)
            check(e is None, f"orientation {o} {fmt}: {e}")
            if e is None:
                check(got.shape == ref.shape and
                      int(np.abs(got.astype(int) - ref).max()) <= 1,
                      f"orientation {o} {fmt}: shape {got.shape} vs "
                      f"{ref.shape}")
    print("orientation: 8 EXIF orientations x JPEG/PNG checked")


def test_formats():
    rng = np.random.default_rng(3)
    rgb = rng.integers(0, 256, (16, 24, 3), dtype=np.uint8)
    cases = []
    buf = io.BytesIO()
    Image.fromarray(rgb).convert("CMYK").save(buf, "JPEG", quality=95)
    cases.append(("cmyk jpeg", buf.getvalue(), 3))
    buf = io.BytesIO()
    Image.fromarray(rgb).convert("P", palette=Image.ADAPTIVE).save(buf, "PNG")
    cases.append(("palette png", buf.getvalue(), 3))
    buf = io.BytesIO()
    Image.fromarray(rgb).convert("RGBA").save(buf, "PNG")
    cases.append(("rgba png", buf.getvalue(), 4))
    buf = io.BytesIO()
    Image.fromarray(rgb).convert("L").save(buf, "PNG")
    cases.append(("gray png", buf.getvalue(), 1))
    buf = io.BytesIO()
    Image.fromarray(rgb).convert("L").save(buf, "JPEG", progressive=True)
    cases.append(("progressive gray jpeg", buf.getvalue(), 1))
    for name, data, ch in cases:
        ref = np.asarray(Image.open(io.BytesIO(data)).convert(
            {1: "L", 3: "RGB", 4: "RGBA"}[ch]))
        if ref.ndim == 2:
            ref = ref[:, :, None]
        got, e = decode(data, ch)
        check(e is None, f"{name}: {e}")
        if e is None:
            m = int(np.abs(got.astype(int) - ref).max())
            check(m <= 1, f"{name}: max diff {m}")
    # 16-bit RGB PNG: high byte, as PIL reads it
    v16 = (rgb.astype(np.uint16) * 257 + 100)
    buf = io.BytesIO()
    import struct
    import zlib
    raw = b"".join(b"\0" + v16[y].astype(">u2").tobytes() for y in range(16))

    def chunk(t, d):
        return (struct.pack(">I", len(d)) + t + d +
                struct.pack(">I", zlib.crc32(t + d) & 0xffffffff))
    png = (b"\x89PNG\r\n\x1a\n" +
           chunk(b"IHDR", struct.pack(">IIBBBBB", 24, 16, 16, 2, 0, 0, 0)) +
           chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    got, e = decode(png, 0)
    check(e is None and got.shape == (16, 24, 3) and
          np.array_equal(got, (v16 >> 8).astype(np.uint8)),
          f"16-bit png: {e}")
    print(f"formats: {len(cases) + 1} decodes checked")


def test_corpus():
    src = os.environ.get("KW_SOURCE_DIR",
                         os.path.join(os.path.dirname(__file__), "..", ".."))
    files = sorted(glob.glob(os.path.join(src, "tests", "corpus",
                                          "fuzz_image", "*")))
    for f in files:
        data = open(f, "rb").read()
        ref = np.asarray(ImageOps.exif_transpose(
            Image.open(io.BytesIO(data))).convert("RGB"))
        got, e = decode(data, 3, os.path.basename(f).encode())
        check(e is None, f"{f}: {e}")
        if e is None:
            m = int(np.abs(got.astype(int) - ref).max()) \
                if got.shape == ref.shape else 999
            check(m <= 1, f"{f}: max diff {m} (shape {got.shape})")
    print(f"corpus: {len(files)} files decoded like PIL")


test_resize()
test_corpus()
test_orientation()
test_formats()
test_imagenet()
if failures:
    print(f"test_image_vs_pil: {failures} failure(s)")
    sys.exit(1)
print("test_image_vs_pil: ok")
