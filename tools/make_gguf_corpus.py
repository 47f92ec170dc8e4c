#!/usr/bin/env python3
"""make_gguf_corpus.py — writes the seed corpus for tests/fuzz/fuzz_gguf.c.

Small hand-made GGUF files (a few hundred bytes each): valid ones covering
every value type, v2/v3, general.alignment and tensors, plus crafted bad ones
(each breaking one rule the reader enforces). Usage:
    python3 tools/make_gguf_corpus.py [outdir]   (default tests/corpus/fuzz_gguf)
"""
import os
import struct
import sys

U8, I8, U16, I16, U32, I32, F32, BOOL, STR, ARR, U64, I64, F64 = range(13)
SCALAR_FMT = {U8: "<B", I8: "<b", U16: "<H", I16: "<h", U32: "<I", I32: "<i",
              F32: "<f", BOOL: "<B", U64: "<Q", I64: "<q", F64: "<d"}


def s(text):
    b = text.encode() if isinstance(text, str) else text
    return struct.pack("<Q", len(b)) + b


def header(n_tensors, n_kv, version=3, magic=b"GGUF"):
    return magic + struct.pack("<IQQ", version, n_tensors, n_kv)


def kv(key, vtype, value):
    out = s(key) + struct.pack("<I", vtype)
    if vtype == STR:
        return out + s(value)
    if vtype == ARR:
        etype, items = value
        out += struct.pack("<IQ", etype, len(items))
        for it in items:
            out += s(it) if etype == STR else struct.pack(SCALAR_FMT[etype], it)
        return out
    return out + struct.pack(SCALAR_FMT[vtype], value)


def tensor(name, ne, ttype, offset):
    return (s(name) + struct.pack("<I", len(ne)) +
            b"".join(struct.pack("<Q", d & (2**64 - 1)) for d in ne) +
            struct.pack("<IQ", ttype, offset))


def pad(b, align):
    return b + b"\0" * (-len(b) % align)


def all_types_kvs():
    return [
        kv("u8", U8, 200), kv("i8", I8, -5), kv("u16", U16, 60000),
        kv("i16", I16, -3), kv("u32", U32, 4000000000), kv("i32", I32, -7),
        kv("f32", F32, 1.5), kv("bool", BOOL, 1), kv("str", STR, "hello"),
        kv("u64", U64, 2**63 + 5), kv("i64", I64, -2**40), kv("f64", F64, 0.1),
        kv("a.u8", ARR, (U8, [1, 2, 255])), kv("a.i8", ARR, (I8, [-128, 127])),
        kv("a.u16", ARR, (U16, [65535])), kv("a.i16", ARR, (I16, [-1, 7])),
        kv("a.u32", ARR, (U32, [1, 2])), kv("a.i32", ARR, (I32, [-1, 5])),
        kv("a.f32", ARR, (F32, [0.5, -2.25])), kv("a.bool", ARR, (BOOL, [1, 0])),
        kv("a.str", ARR, (STR, ["a", "", "ccc"])), kv("a.u64", ARR, (U64, [7])),
        kv("a.i64", ARR, (I64, [-1])), kv("a.f64", ARR, (F64, [1e300])),
        kv("a.empty", ARR, (I32, [])),
    ]


def model(kvs, tensors, align=32, version=3, data=None):
    """tensors: (name, ne, type, offset, nbytes); data defaults to a ramp."""
    b = header(len(tensors), len(kvs), version) + b"".join(kvs)
    b += b"".join(tensor(n, ne, t, off) for n, ne, t, off, _ in tensors)
    if tensors:
        b = pad(b, align)
        end = max(off + nb for _, _, _, off, nb in tensors)
        b += data if data is not None else bytes(i * 7 & 255 for i in range(end))
    return b


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/corpus/fuzz_gguf"
    os.makedirs(out, exist_ok=True)
    tens = [("a", [3, 2], 0, 0, 24), ("blk.0.b", [64], 8, 32, 68),
            ("c", [5, 1, 1, 2], 1, 128, 20)]
    vocab = ["<s>", "</s>", "a", "b", "ab", "\u0120the", "\u00e9"]
    files = {
        "valid_all_types_v3.gguf": model(all_types_kvs(), tens),
        "valid_all_types_v2.gguf": model(all_types_kvs(), tens, version=2),
        "valid_align64.gguf": model(
            [kv("general.alignment", U32, 64), kv("general.name", STR, "x")],
            [("w", [16], 0, 0, 64), ("v", [32, 2], 8, 64, 68)], align=64),
        "valid_no_tensors.gguf": model([kv("general.name", STR, "t")], []),
        "valid_vocab.gguf": model([
            kv("general.architecture", STR, "llama"),
            kv("llama.block_count", U32, 1),
            kv("tokenizer.ggml.model", STR, "gpt2"),
            kv("tokenizer.ggml.tokens", ARR, (STR, vocab)),
            kv("tokenizer.ggml.token_type", ARR, (I32, [3, 3] + [1] * 5)),
            kv("tokenizer.ggml.merges", ARR, (STR, ["a b"])),
            kv("tokenizer.ggml.add_bos_token", BOOL, 0),
            kv("llama.rope.freq_base", F32, 10000.0)],
            [("token_embd.weight", [32, 7], 8, 0, 238),
             ("output_norm.weight", [32], 0, 256, 128)]),
        # bad ones: each breaks one rule
        "bad_magic.gguf": b"GGUX" + header(0, 0)[4:],
        "bad_v1.gguf": header(0, 0, version=1),
        "bad_big_endian.gguf": header(0, 0, version=0x03000000),
        "bad_huge_n_kv.gguf": header(0, 2**62) + kv("k", U8, 1),
        "bad_huge_n_tensors.gguf": header(2**63 - 1, 0) + b"\0" * 40,
        "bad_huge_string.gguf": header(0, 1) + s("k") +
            struct.pack("<IQ", STR, 99999999999) + b"abc",
        "bad_huge_array.gguf": header(0, 1) + s("k") +
            struct.pack("<IIQ", ARR, STR, 99999999999) + s("a"),
        "bad_nested_array.gguf": header(0, 1) + s("k") +
            struct.pack("<IIQIQ", ARR, ARR, 1, U8, 1) + b"\1",
        "bad_value_type.gguf": header(0, 1) + s("k") + struct.pack("<IQ", 13, 0),
        "bad_dup_key.gguf": header(0, 2) + kv("k", U8, 1) + kv("k", U8, 2),
        "bad_empty_key.gguf": header(0, 1) + kv("", U32, 1),
        "bad_alignment.gguf": model([kv("general.alignment", U32, 48)], []),
        "bad_alignment_type.gguf": model([kv("general.alignment", U64, 32)], []),
        "bad_dup_tensor.gguf": model([], [("a", [8], 0, 0, 32),
                                          ("a", [8], 0, 32, 32)]),
        "bad_ndims5.gguf": header(1, 0) + tensor("w", [1] * 5, 0, 0) +
            b"\0" * 32,
        "bad_zero_dim.gguf": model([], [("w", [4, 0], 0, 0, 16)]),
        "bad_dim_overflow.gguf": model([], [("w", [2**32, 2**32], 0, 0, 16)]),
        "bad_tensor_type.gguf": model([], [("w", [32], 4, 0, 32)]),
        "bad_block_multiple.gguf": model([], [("w", [33], 8, 0, 64)]),
        "bad_misaligned.gguf": model([], [("w", [4], 0, 16, 16)]),
        "bad_out_of_range.gguf": model([], [("w", [4], 0, 2**40, 16)],
                                       data=b"\0" * 16),
        "bad_overlap.gguf": model([], [("a", [16], 0, 0, 64),
                                       ("b", [8], 0, 32, 32)]),
        "bad_long_name.gguf": model([], [("n" * 64, [4], 0, 0, 16)]),
        "bad_truncated.gguf": model(all_types_kvs(), tens)[:300],
    }
    for name, data in files.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    print(f"wrote {len(files)} files to {out}")


if __name__ == "__main__":
    main()
