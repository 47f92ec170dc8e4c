#!/usr/bin/env python3
"""test_onnx_conformance.py - the ONNX backend-test suites (Debian's
libonnx-testdata, ONNX 1.12) through `$KW_BIN onnx test --json --isolate`.

Runs every folder of data/{node,pytorch-converted,pytorch-operator,simple}
(one forked process per test, so a crashing operator fails only its test),
prints the totals per suite and every test that does not pass, and fails
when the node suite's pass count is below the floor in
tests/onnx/conformance_floor.txt (raise the floor as operators land).
Exit 77 (skip) when the test data is missing, unless KW_REQUIRE_MODELS=1.

Environment: KW_BIN (the kaiwu CLI), KW_SOURCE_DIR, KW_ONNX_TESTDATA (data
folder, default /usr/share/libonnx-testdata/data), KW_ONNX_THREADS (-t,
default 2), KW_ONNX_TIMEOUT (seconds per test, default 300).
"""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("KW_SOURCE_DIR") or os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SRC, "tools"))
from onnx_conformance import SUITES, collect_dirs, parse, suite_of  # noqa: E402

DATA = os.environ.get("KW_ONNX_TESTDATA", "/usr/share/libonnx-testdata/data")
FLOOR_FILE = os.path.join(SRC, "tests", "onnx", "conformance_floor.txt")


def read_floor(path):
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                return int(line)
    raise ValueError("%s holds no number" % path)


def main():
    kw_bin = os.environ.get("KW_BIN")
    if not kw_bin:
        print("KW_BIN must point to the kaiwu binary")
        return 1
    if not os.path.isdir(os.path.join(DATA, "node")):
        msg = "ONNX test data missing: %s (apt install libonnx-testdata)" % DATA
        if os.environ.get("KW_REQUIRE_MODELS", "") not in ("", "0"):
            print(msg)
            return 1
        print(msg + "; skipped")
        return 77
    dirs = collect_dirs(DATA)
    floor = read_floor(FLOOR_FILE)
    cmd = [kw_bin, "onnx", "test", "--json", "--isolate",
           "--timeout", os.environ.get("KW_ONNX_TIMEOUT", "300"),
           "-t", os.environ.get("KW_ONNX_THREADS", "2")] + dirs
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True)
    if p.returncode not in (0, 1):
        print("kaiwu onnx test exited with %d:\n%s" % (p.returncode,
                                                      p.stderr[-2000:]))
        return 1
    results, totals = parse(p.stdout)
    if totals is None or totals["total"] != len(dirs) or \
            len(results) != len(dirs):
        print("incomplete output: %d results for %d folders" %
              (len(results), len(dirs)))
        print(p.stderr[-2000:])
        return 1

    per = {s: {"pass": 0, "fail": 0, "unsupported": 0, "error": 0}
           for s in SUITES + ["other"]}
    for r in results:
        per[suite_of(r)][r["status"]] += 1
    for r in results:
        if r["status"] != "pass":
            print("%-11s %s/%s: %s" % (r["status"].upper(), suite_of(r),
                                       r["name"], r["message"][:300]))
    print()
    print("%-18s %6s %6s %6s %6s %6s" % ("suite", "tests", "pass", "fail",
                                         "unsup", "error"))
    for s in SUITES:
        c = per[s]
        n = sum(c.values())
        if n:
            print("%-18s %6d %6d %6d %6d %6d" % (s, n, c["pass"], c["fail"],
                                                 c["unsupported"], c["error"]))
    print("total: %(passed)d passed, %(failed)d failed, %(unsupported)d "
          "unsupported, %(errors)d errors of %(total)d" % totals)
    node_pass = per["node"]["pass"]
    node_n = sum(per["node"].values())
    print("node: %d of %d pass (%.1f%%); floor %d" %
          (node_pass, node_n, 100.0 * node_pass / max(node_n, 1), floor))
    if node_pass < floor:
        print("FAIL: node pass count %d is below the floor %d" %
              (node_pass, floor))
        return 1
    if node_pass > floor:
        print("note: %d node tests above the floor; raise %s to %d" %
              (node_pass - floor, os.path.relpath(FLOOR_FILE, SRC), node_pass))
    return 0


if __name__ == "__main__":
    sys.exit(main())
