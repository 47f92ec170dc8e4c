#!/usr/bin/env python3
"""test_dequant_vs_gguf.py — kaiwu's reference dequantizers must equal the
`gguf` package's (gguf.quants.dequantize) bit for bit.

Two parts: (1) random blocks of every type kaiwu dequantizes (so types no
model file holds, like q2_K, are covered), (2) real tensors of every type in
every *.gguf under KW_MODELS_DIR. kaiwu's side runs through the dual-mode
test binary `test_quant_ref dequant TYPE N IN OUT`, found next to KW_BIN in
tests/. gguf and numpy are required (failure, not skip); the test is skipped
(77) only when no model file exists and KW_REQUIRE_MODELS is not 1.
"""
import glob
import os
import struct
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import gguf
    from gguf import GGMLQuantizationType as QT
except ImportError as e:  # CI installs them: missing means a broken setup
    print(f"FAIL: python packages gguf and numpy are required ({e})")
    sys.exit(1)

REQUIRED_MODEL = "SmolLM2-135M-Instruct.Q4_1.gguf"
ROWS_EACH_END = 32     # rows taken from the start and from the end of a tensor
TENSORS_PER_TYPE = 3   # per file and type

# Types kaiwu dequantizes -> offsets of their fp16 scale fields in a block
# (random bytes there could be inf/nan; everything else may be random).
SUPPORTED = {
    QT.F32: None, QT.F16: None, QT.BF16: None,
    QT.Q4_0: [0], QT.Q4_1: [0, 2], QT.Q5_0: [0], QT.Q5_1: [0, 2],
    QT.Q8_0: [0], QT.Q2_K: [80, 82], QT.Q3_K: [108], QT.Q4_K: [0, 2],
    QT.Q5_K: [0, 2], QT.Q6_K: [208], QT.IQ4_NL: [0], QT.IQ4_XS: [0],
}


def find_dumper():
    kw_bin = os.environ.get("KW_BIN", "")
    base = os.path.dirname(os.path.abspath(kw_bin)) if kw_bin else os.getcwd()
    for cand in (os.path.join(base, "tests", "test_quant_ref"),
                 os.path.join(base, "test_quant_ref")):
        if os.access(cand, os.X_OK):
            return cand
    print(f"FAIL: test_quant_ref not found under {base}/tests (KW_BIN={kw_bin!r})")
    sys.exit(1)


DUMPER = find_dumper()
TMP = tempfile.mkdtemp(prefix="kw_dequant_")
failures = []


def kaiwu_dequant(qtype, raw, n):
    src = os.path.join(TMP, "in.bin")
    dst = os.path.join(TMP, "out.bin")
    with open(src, "wb") as f:
        f.write(raw)
    r = subprocess.run([DUMPER, "dequant", str(int(qtype)), str(n), src, dst],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"dumper failed ({r.returncode}): {r.stderr.strip()}")
    return np.fromfile(dst, dtype=np.float32)


def compare(label, qtype, raw, n):
    """Bitwise equality (NaN positions must agree, payloads aside)."""
    want = gguf.quants.dequantize(np.frombuffer(raw, dtype=np.uint8), qtype)
    want = np.ascontiguousarray(want, dtype=np.float32).reshape(-1)
    try:
        got = kaiwu_dequant(qtype, raw, n)
    except RuntimeError as e:
        failures.append(f"{label}: {e}")
        return
    if got.shape != want.shape:
        failures.append(f"{label}: {got.shape[0]} values, gguf gives {want.shape[0]}")
        return
    nan_g, nan_w = np.isnan(got), np.isnan(want)
    bad = (got.view(np.uint32) != want.view(np.uint32)) & ~(nan_g & nan_w)
    if bad.any():
        i = int(np.argmax(bad))
        diff = np.nanmax(np.abs(got.astype(np.float64) - want))
        failures.append(f"{label}: {int(bad.sum())}/{n} values differ, first at "
                        f"{i}: kaiwu {got[i]!r} gguf {want[i]!r}; max abs diff {diff}")


def synthetic(rng):
    """Random blocks of every supported type, 37 blocks (odd on purpose)."""
    for qtype, scale_offsets in SUPPORTED.items():
        blck, size = gguf.GGML_QUANT_SIZES[qtype]
        nb = 37 * (32 if blck == 1 else 1)
        n = nb * blck
        if qtype == QT.F32:
            raw = rng.standard_normal(n).astype(np.float32).tobytes()
        elif qtype == QT.F16:
            bits = rng.integers(0, 1 << 16, n, dtype=np.uint32).astype(np.uint16)
            bits[(bits & 0x7C00) == 0x7C00] &= 0xBFFF  # no inf/nan
            raw = bits.tobytes()
        elif qtype == QT.BF16:
            bits = rng.integers(0, 1 << 16, n, dtype=np.uint32).astype(np.uint16)
            bits[(bits & 0x7F80) == 0x7F80] &= 0xBFFF
            raw = bits.tobytes()
        else:
            blocks = rng.integers(0, 256, (nb, size), dtype=np.uint32).astype(np.uint8)
            for off in scale_offsets:
                # normal and subnormal magnitudes, both signs
                scale = (rng.standard_normal(nb) * 10.0 ** rng.integers(-7, 1, nb))
                blocks[:, off:off + 2] = (scale.astype(np.float16)
                                          .view(np.uint8).reshape(nb, 2))
            raw = blocks.tobytes()
        compare(f"random {qtype.name}", qtype, raw, n)


class Tensor:
    def __init__(self, name, dims, qtype, offset):
        self.name, self.dims, self.qtype, self.offset = name, dims, qtype, offset
        self.n_elements = int(np.prod(dims, dtype=np.int64))


def read_tensor_infos(path):
    """Tensor names, dims, types and absolute data offsets of a GGUF file.
    (gguf.GGUFReader would do, but it decodes every metadata array in Python,
    ~9 s per file here; this only walks over them.)"""
    with open(path, "rb") as f:
        buf = f.read(64 << 20)  # metadata and tensor infos live up front
    pos = 0

    def take(fmt):
        nonlocal pos
        v = struct.unpack_from("<" + fmt, buf, pos)
        pos += struct.calcsize("<" + fmt)
        return v[0] if len(v) == 1 else v

    def string():
        nonlocal pos
        n = take("Q")
        s = buf[pos:pos + n]
        pos += n
        return s.decode("utf-8", "replace")

    scalar = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "B",
              10: "Q", 11: "q", 12: "d"}

    def value(vtype):
        nonlocal pos
        if vtype == 8:
            return string()
        if vtype == 9:
            etype, count = take("I"), take("Q")
            if etype in scalar:  # skip fixed-size arrays in one step
                pos += count * struct.calcsize(scalar[etype])
                return None
            for _ in range(count):
                value(etype)
            return None
        return take(scalar[vtype])

    magic, version, n_tensors, n_kv = take("I"), take("I"), take("Q"), take("Q")
    if magic != 0x46554747 or version < 2:
        raise ValueError(f"{path}: not a GGUF v2+ file")
    alignment = 32
    for _ in range(n_kv):
        key = string()
        v = value(take("I"))
        if key == "general.alignment":
            alignment = int(v)
    infos = []
    for _ in range(n_tensors):
        name = string()
        n_dims = take("I")
        dims = [take("Q") for _ in range(n_dims)]
        qtype, offset = take("I"), take("Q")
        infos.append((name, dims, qtype, offset))
    data_start = (pos + alignment - 1) // alignment * alignment
    known = {int(q) for q in QT}
    return [Tensor(n, d, QT(q) if q in known else q, data_start + o)
            for n, d, q, o in infos]


def tensor_sample(path, t):
    """Raw bytes and element count of the first and last rows of a tensor."""
    blck, size = gguf.GGML_QUANT_SIZES[t.qtype]
    n_per_row = int(t.dims[0])  # gguf dims are innermost first
    row_bytes = n_per_row // blck * size
    n_rows = t.n_elements // n_per_row
    mm = np.memmap(path, dtype=np.uint8, mode="r", offset=t.offset,
                   shape=(n_rows * row_bytes,))
    if n_rows > 2 * ROWS_EACH_END:
        head = mm[:ROWS_EACH_END * row_bytes]
        tail = mm[(n_rows - ROWS_EACH_END) * row_bytes:]
        return np.concatenate([head, tail]).tobytes(), 2 * ROWS_EACH_END * n_per_row
    return mm.tobytes(), n_rows * n_per_row


def real_models(models):
    found, tested = set(), set()
    for path in models:
        by_type = {}
        for t in read_tensor_infos(path):
            by_type.setdefault(t.qtype, []).append(t)
        for qtype, tensors in sorted(by_type.items(), key=lambda kv: int(kv[0])):
            found.add(qtype)
            if qtype not in SUPPORTED:
                failures.append(f"{os.path.basename(path)}: type "
                                f"{getattr(qtype, 'name', qtype)} is not "
                                f"dequantized by kaiwu")
                continue
            # the smallest, the largest and one in between
            tensors = sorted(tensors, key=lambda t: int(t.n_elements))
            picks = {0, len(tensors) - 1, len(tensors) // 2}
            for i in sorted(picks)[:TENSORS_PER_TYPE]:
                t = tensors[i]
                raw, n = tensor_sample(path, t)
                compare(f"{os.path.basename(path)}:{t.name} ({qtype.name})",
                        qtype, raw, n)
            tested.add(qtype)
    return found, tested


def main():
    rng = np.random.default_rng(20240531)
    synthetic(rng)
    models_dir = os.environ.get("KW_MODELS_DIR", "models")
    models = sorted(glob.glob(os.path.join(models_dir, "*.gguf")))
    require = os.environ.get("KW_REQUIRE_MODELS") == "1"
    if not models:
        if failures:
            print("\n".join(failures))
            print(f"FAIL: {len(failures)} comparison(s) differ")
            return 1
        if require:
            print(f"FAIL: no *.gguf in {models_dir} (KW_REQUIRE_MODELS=1)")
            return 1
        print(f"skipping: no *.gguf in {models_dir} (random blocks passed)")
        return 77
    if not os.path.exists(os.path.join(models_dir, REQUIRED_MODEL)) and require:
        failures.append(f"required model missing: {REQUIRED_MODEL}")
    found, tested = real_models(models)
    missing = found - tested
    if missing:
        failures.append("types found but not compared: " +
                        ", ".join(sorted(getattr(q, 'name', str(q)) for q in missing)))
    for f in failures:
        print("FAIL:", f)
    print(f"{len(models)} model file(s); types compared on real tensors: "
          f"{', '.join(sorted(q.name for q in tested))}; "
          f"random blocks: {', '.join(q.name for q in SUPPORTED)}")
    if failures:
        print(f"FAIL: {len(failures)} problem(s)")
        return 1
    print("test_dequant_vs_gguf: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
