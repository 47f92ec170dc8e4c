#!/usr/bin/env python3
"""vision_vs_onnxruntime.py - kaiwu against ONNX Runtime (PyPI) on the vision
models, batch 1, at 1 and 2 threads, same file and input shape, same run.

kaiwu: `kaiwu onnx bench MODEL -t T --runs R --json` (fixed-seed random input
of the declared shape, --dim for the dynamic ones). onnxruntime: a fresh
Python process per case, InferenceSession(intra_op_num_threads=T), one first
run then R timed runs of a random input of the same shape. The two alternate
for --rounds rounds and each side's best median is kept (shared machines). Reported: median
latency and the ratio kaiwu/onnxruntime, load time, peak RSS of each process
(wait4's ru_maxrss; onnxruntime's includes the Python interpreter, whose
size after `import onnxruntime` is shown as "base").

Usage: bench/vision_vs_onnxruntime.py [--kaiwu build/kaiwu] [--models models]
         [--runs 20] [--rounds 3] [--threads 1,2] [--only NAME,...]
         [--ocr-width 256] [--json]
Models come from `make models-vision`.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# name -> (file, {input name: shape}); symbolic dims resolved here.
# ddddocr: the detector is fixed at 416x416 (it letterboxes every image); the
# recogniser resizes to height 64 keeping the aspect ratio, so its width is
# the text line's: --ocr-width (256 ~ a 4:1 captcha or a short line).
def cases(ocr_width):
    return [
        ("efficientnet_lite0", "efficientnet_lite0.onnx", [1, 3, 224, 224], {"N": 1}),
        ("resnet50", "resnet50.onnx", [1, 3, 224, 224], {"N": 1}),
        ("mobilenetv2", "mobilenetv2.onnx", [1, 3, 224, 224], {"N": 1}),
        ("ddddocr_det", "ddddocr_det.onnx", [1, 3, 416, 416], {}),
        ("ddddocr_ocr", "ddddocr_ocr.onnx", [1, 1, 64, ocr_width], {"image_width": ocr_width}),
    ]


def run_child(cmd):
    """Runs cmd to completion; returns (stdout, stderr, rc, its own peak RSS
    in MiB). Output goes through temporary files so the child can be reaped
    with wait4, which gives that one child's rusage."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        p = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return (out.read().decode(errors="replace"), err.read().decode(errors="replace"),
                p.returncode, ru.ru_maxrss / 1024.0)


def bench_kaiwu(kaiwu, path, threads, runs, dims):
    cmd = [kaiwu, "onnx", "bench", path, "-t", str(threads), "--runs", str(runs), "--json"]
    for k, v in dims.items():
        cmd += ["--dim", "%s=%d" % (k, v)]
    out, err, rc, rss = run_child(cmd)
    if rc != 0:
        raise RuntimeError("kaiwu failed (%d) on %s: %s" % (rc, path, err.strip()[-1500:]))
    line = [l for l in out.splitlines() if l.strip().startswith("{")][-1]
    j = json.loads(line)
    return {"median_ms": j["median_ms"], "min_ms": j.get("min_ms"),
            "first_ms": j.get("first_ms"), "load_ms": j["load_ms"],
            "peak_rss_mb": round(rss, 1), "isa": j.get("isa")}


def bench_ort(path, threads, runs, shape):
    cmd = [sys.executable, os.path.abspath(__file__), "--ort-worker", path,
           str(threads), str(runs), json.dumps(shape)]
    out, err, rc, rss = run_child(cmd)
    if rc != 0:
        raise RuntimeError("onnxruntime failed (%d) on %s: %s" % (rc, path, err.strip()[-1500:]))
    j = json.loads(out.strip().splitlines()[-1])
    j["peak_rss_mb"] = round(rss, 1)
    return j


def ort_worker(path, threads, runs, shape):
    """Child process: one onnxruntime measurement, JSON on stdout."""
    import resource
    import numpy as np
    import onnxruntime as ort
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.log_severity_level = 3  # ddddocr's OCR file declares a wrong output shape
    t0 = time.perf_counter()
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    load_ms = (time.perf_counter() - t0) * 1e3
    name = sess.get_inputs()[0].name
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    t0 = time.perf_counter()
    sess.run(None, {name: x})
    first_ms = (time.perf_counter() - t0) * 1e3
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        sess.run(None, {name: x})
        times.append((time.perf_counter() - t0) * 1e3)
    print(json.dumps({"median_ms": statistics.median(times), "min_ms": min(times),
                      "first_ms": first_ms, "load_ms": load_ms,
                      "base_rss_mb": round(base, 1), "version": ort.__version__}))


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--ort-worker":
        ort_worker(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), json.loads(sys.argv[5]))
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kaiwu", default=os.path.join(ROOT, "build", "kaiwu"))
    ap.add_argument("--models", default=os.path.join(ROOT, "models"))
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3,
                    help="alternating rounds per case; the best median of each side counts")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--only", help="comma-separated model names")
    ap.add_argument("--ocr-width", type=int, default=256)
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    a = ap.parse_args()
    threads = [int(t) for t in a.threads.split(",")]
    only = set(a.only.split(",")) if a.only else None
    if not os.access(a.kaiwu, os.X_OK):
        sys.exit("%s: not found (build kaiwu, or pass --kaiwu)" % a.kaiwu)

    results = []
    for name, fname, shape, dims in cases(a.ocr_width):
        if only and name not in only:
            continue
        path = os.path.join(a.models, fname)
        if not os.path.exists(path):
            sys.exit("%s missing: run `make models-vision`" % path)
        for t in threads:
            # Alternate the two runtimes; keep each one's best round, so a
            # burst of load from other processes hits neither for good.
            ks, os_ = [], []
            for _ in range(a.rounds):
                ks.append(bench_kaiwu(a.kaiwu, path, t, a.runs, dims))
                os_.append(bench_ort(path, t, a.runs, shape))
            k = min(ks, key=lambda x: x["median_ms"])
            o = min(os_, key=lambda x: x["median_ms"])
            r = {"model": name, "input_shape": shape, "threads": t, "runs": a.runs,
                 "rounds": a.rounds,
                 "kaiwu": k, "onnxruntime": o,
                 "ratio": round(k["median_ms"] / o["median_ms"], 3)}
            results.append(r)
            if not a.json:
                print("  %-18s t=%d  kaiwu %8.2f ms  onnxruntime %8.2f ms  ratio %.2f"
                      % (name, t, k["median_ms"], o["median_ms"], r["ratio"]),
                      file=sys.stderr, flush=True)

    if a.json:
        print(json.dumps({"kaiwu": a.kaiwu, "cpus": os.cpu_count(),
                          "loadavg_1min": round(os.getloadavg()[0], 2),
                          "results": results}, indent=1))
        return
    ver = results[0]["onnxruntime"].get("version", "?") if results else "?"
    isa = results[0]["kaiwu"].get("isa", "?") if results else "?"
    print("\nbatch 1, median of %d runs after a first run, best of %d alternating rounds; "
          "kaiwu isa %s, onnxruntime %s; %d CPUs, load average %.2f"
          % (a.runs, a.rounds, isa, ver, os.cpu_count(), os.getloadavg()[0]))
    hdr = ("| model | input | threads | kaiwu ms | onnxruntime ms | kaiwu/ort | "
           "load ms kaiwu / ort | peak RSS MB kaiwu / ort (base) |")
    print(hdr)
    print("|" + "---|" * 8)
    for r in results:
        k, o = r["kaiwu"], r["onnxruntime"]
        print("| %s | %s | %d | %.2f | %.2f | **%.2f** | %.0f / %.0f | %.0f / %.0f (%.0f) |"
              % (r["model"], "x".join(str(d) for d in r["input_shape"]), r["threads"],
                 k["median_ms"], o["median_ms"], r["ratio"], k["load_ms"], o["load_ms"],
                 k["peak_rss_mb"], o["peak_rss_mb"], o["base_rss_mb"]))


if __name__ == "__main__":
    main()
