#!/usr/bin/env python3
"""onnx_ops.py - times kaiwu's heavy ONNX operators against onnxruntime
(PyPI) on the same shapes and thread counts.

Each case is a one-node ONNX model (opset 13; weights, biases, scales are
initializers, as in real models) written with the `onnx` package. kaiwu
runs it with `kaiwu onnx bench MODEL -t T --runs R --json` (fixed-seed
random inputs of the declared shapes); onnxruntime with
intra_op_num_threads=T, sequential execution, all graph optimizations,
one warm-up run and R timed runs. Prints the median ms of each and the
ratio kaiwu/onnxruntime (below 1: kaiwu is faster).

Usage: python3 bench/onnx_ops.py [--bin build/kaiwu] [--threads 1,2]
         [--runs 20] [--filter REGEX] [--json FILE]
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OPSET = 13
RNG = np.random.default_rng(0)


def init(name, shape, scale=0.1):
    a = (RNG.standard_normal(shape) * scale).astype(np.float32)
    return numpy_helper.from_array(a, name)


def model(op, inputs, out_shape, inits=(), **attrs):
    """inputs: [(name, shape)] runtime inputs; inits: TensorProtos."""
    ins = [helper.make_tensor_value_info(n, TensorProto.FLOAT, s)
           for n, s in inputs]
    out = helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)
    names = [n for n, _ in inputs] + [t.name for t in inits]
    if op == "Resize":  # X, roi (empty), scales
        names = [inputs[0][0], "", "scales"]
    node = helper.make_node(op, names, ["y"], **attrs)
    g = helper.make_graph([node], op.lower(), ins, [out], list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)],
                          producer_name="kaiwu-bench")
    m.ir_version = 8
    return m


def conv(name, n, c, h, w, k, r, stride=1, group=1):
    pad = r // 2
    oh, ow = (h + 2 * pad - r) // stride + 1, (w + 2 * pad - r) // stride + 1
    return name, model(
        "Conv", [("x", [n, c, h, w])], [n, k, oh, ow],
        [init("W", [k, c // group, r, r]), init("B", [k])],
        kernel_shape=[r, r], strides=[stride, stride], pads=[pad] * 4,
        group=group)


def cases():
    yield conv("Conv 7x7/2 3->64 224 (ResNet stem)", 1, 3, 224, 224, 64, 7, 2)
    yield conv("Conv 3x3 64->64 56 (ResNet)", 1, 64, 56, 56, 64, 3)
    yield conv("Conv 1x1 256->64 56 (ResNet)", 1, 256, 56, 56, 64, 1)
    yield conv("Conv 3x3/2 128->128 56 (ResNet)", 1, 128, 56, 56, 128, 3, 2)
    yield conv("Conv 3x3 256->256 14 (ResNet)", 1, 256, 14, 14, 256, 3)
    yield conv("Conv dw 3x3 32 112 (MobileNet)", 1, 32, 112, 112, 32, 3, 1, 32)
    yield conv("Conv dw 3x3/2 96 112 (MobileNet)", 1, 96, 112, 112, 96, 3, 2,
               96)
    yield conv("Conv 1x1 32->64 112 (MobileNet)", 1, 32, 112, 112, 64, 1)
    yield "Gemm 1x2048 . 2048x1000^T + b (FC)", model(
        "Gemm", [("x", [1, 2048])], [1, 1000],
        [init("W", [1000, 2048]), init("C", [1000])], transB=1)
    yield "Gemm 64x1024 . 1024x1024", model(
        "Gemm", [("x", [64, 1024])], [64, 1024], [init("W", [1024, 1024])])
    yield "MatMul 128x768 . 768x3072", model(
        "MatMul", [("x", [1, 128, 768])], [1, 128, 3072],
        [init("W", [768, 3072])])
    yield "MatMul batched 12x128x64 . 12x64x128", model(
        "MatMul", [("a", [12, 128, 64]), ("b", [12, 64, 128])],
        [12, 128, 128])
    yield "MaxPool 3x3/2 64x112", model(
        "MaxPool", [("x", [1, 64, 112, 112])], [1, 64, 56, 56],
        kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    yield "AveragePool 3x3 256x56", model(
        "AveragePool", [("x", [1, 256, 56, 56])], [1, 256, 56, 56],
        kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    yield "GlobalAveragePool 2048x7", model(
        "GlobalAveragePool", [("x", [1, 2048, 7, 7])], [1, 2048, 1, 1])
    ch = 64
    yield "BatchNormalization 64x112", model(
        "BatchNormalization", [("x", [1, ch, 112, 112])], [1, ch, 112, 112],
        [init("scale", [ch]), init("bias", [ch]), init("mean", [ch]),
         numpy_helper.from_array(
             (RNG.random(ch) + 0.5).astype(np.float32), "var")])
    yield "Softmax 128x1000", model(
        "Softmax", [("x", [128, 1000])], [128, 1000], axis=-1)
    yield "Softmax 12x128x128 (attention)", model(
        "Softmax", [("x", [12, 128, 128])], [12, 128, 128], axis=-1)
    yield "Relu 64x112x112", model(
        "Relu", [("x", [1, 64, 112, 112])], [1, 64, 112, 112])
    yield "Add 64x112x112 + same", model(
        "Add", [("a", [1, 64, 112, 112]), ("b", [1, 64, 112, 112])],
        [1, 64, 112, 112])
    yield "Add 64x112x112 + bias 64x1x1", model(
        "Add", [("a", [1, 64, 112, 112])], [1, 64, 112, 112],
        [init("b", [1, 64, 1, 1])])
    for mode in ("nearest", "linear"):
        yield "Resize %s x2 64x56" % mode, model(
            "Resize", [("x", [1, 64, 56, 56])], [1, 64, 112, 112],
            [numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32),
                                     "scales")], mode=mode)


def time_kaiwu(kw_bin, path, threads, runs):
    p = subprocess.run([kw_bin, "onnx", "bench", path, "-t", str(threads),
                        "--runs", str(runs), "--json"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True)
    if p.returncode != 0:
        last = (p.stderr.strip().splitlines() or ["failed"])[-1]
        return None, [last.split(path + ": ", 1)[-1]]
    return json.loads(p.stdout)["median_ms"], None


def time_ort(m, path, threads, runs):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    feed = {}
    for i in m.graph.input:
        shape = [d.dim_value for d in i.type.tensor_type.shape.dim]
        feed[i.name] = RNG.uniform(-1, 1, shape).astype(np.float32)
    s.run(None, feed)
    t = []
    for _ in range(runs):
        t0 = time.perf_counter()
        s.run(None, feed)
        t.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(t)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "kaiwu"))
    ap.add_argument("--threads", default="1,2",
                    help="comma-separated thread counts (default 1,2)")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--filter", default="", help="regex on the case name")
    ap.add_argument("--json", help="also write the results to this file")
    a = ap.parse_args()
    threads = [int(t) for t in a.threads.split(",")]
    rows = []
    hdr = "%-42s %3s %10s %10s %7s" % ("case", "thr", "kaiwu ms", "ort ms",
                                       "ratio")
    print(hdr)
    print("-" * len(hdr))
    with tempfile.TemporaryDirectory() as tmp:
        for k, (name, m) in enumerate(cases()):
            if a.filter and not re.search(a.filter, name):
                continue
            onnx.checker.check_model(m)
            path = os.path.join(tmp, "case%d.onnx" % k)
            onnx.save(m, path)
            for t in threads:
                kw, err = time_kaiwu(a.bin, path, t, a.runs)
                ort_ms = time_ort(m, path, t, a.runs)
                ratio = kw / ort_ms if kw is not None and ort_ms > 0 else None
                rows.append({"case": name, "threads": t, "kaiwu_ms": kw,
                             "ort_ms": ort_ms, "ratio": ratio,
                             "error": err[0] if err else None})
                print("%-42s %3d %10s %10.3f %7s%s" % (
                    name[:42], t, "%.3f" % kw if kw is not None else "-",
                    ort_ms, "%.2f" % ratio if ratio is not None else "-",
                    "  (%s)" % err[0][:60] if err else ""))
                sys.stdout.flush()
    ok = [r["ratio"] for r in rows if r["ratio"]]
    if ok:
        geo = float(np.exp(np.mean(np.log(ok))))
        print("\ngeometric mean ratio kaiwu/onnxruntime: %.2f over %d runs"
              % (geo, len(ok)))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
