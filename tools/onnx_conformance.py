#!/usr/bin/env python3
"""onnx_conformance.py - writes docs/conformance.md: kaiwu's results on the
ONNX backend-test suites (Debian's libonnx-testdata, ONNX 1.12): totals per
suite and every test that does not pass, with the reason.

The results come from one `kaiwu onnx test --json --isolate` run over every
folder of DATA/{node,pytorch-converted,pytorch-operator,simple}, or from a
file holding the output of such a run (--from-json).

Usage: python3 tools/onnx_conformance.py [--bin build/kaiwu] [-t THREADS]
         [--data DIR] [--from-json FILE] [--save-json FILE] [--out FILE]
"""
import argparse
import collections
import datetime
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SUITES = ["node", "pytorch-converted", "pytorch-operator", "simple"]
NODE_GOAL = 0.97


def collect_dirs(data):
    dirs = []
    for s in SUITES:
        root = os.path.join(data, s)
        if not os.path.isdir(root):
            continue
        for name in sorted(os.listdir(root)):
            d = os.path.join(root, name)
            if os.path.isfile(os.path.join(d, "model.onnx")):
                dirs.append(d)
    return dirs


def run_kaiwu(kw_bin, dirs, threads, timeout):
    cmd = [kw_bin, "onnx", "test", "--json", "--isolate", "--timeout",
           str(timeout), "-t", str(threads)] + dirs
    p = subprocess.run(cmd, stdout=subprocess.PIPE, universal_newlines=True)
    if p.returncode not in (0, 1):
        sys.exit("kaiwu onnx test exited with %d" % p.returncode)
    return p.stdout


def parse(text):
    results, totals = [], None
    for line in text.splitlines():
        if line.strip():
            obj = json.loads(line)
            if "total" in obj:
                totals = obj
            else:
                results.append(obj)
    return results, totals


# Why a test cannot pass, where the cause is outside kaiwu (prefix match).
KNOWN = {
    "test_bernoulli": "expected values are draws from numpy's global random "
                      "generator; kaiwu draws its own, correctly distributed values",
    "test_training_dropout": "training-mode dropout: the expected mask comes from "
                             "numpy's random generator",
    "test_adam_multiple": "bad test data: the expected values were made with "
                          "epsilon=1e-2 but the model omits epsilon, so the "
                          "spec's 1e-6 applies (onnx/onnx#7749); ONNX's own "
                          "reference evaluator gives kaiwu's numbers",
    "test_gradient_of_add": "the training-only Gradient operator is not implemented",
}


def known_cause(name):
    for prefix, why in KNOWN.items():
        if name.startswith(prefix):
            return why
    return ""


def suite_of(r):
    parent = os.path.basename(os.path.dirname(r["dir"].rstrip("/")))
    return parent if parent in SUITES else "other"


def md_cell(s, limit=240):
    s = " ".join(str(s).split())
    if len(s) > limit:
        s = s[:limit - 3] + "..."
    return s.replace("|", "\\|").replace("<", "&lt;")


def op_of(message):
    """The operator an UNSUPPORTED message names, when it names one:
    "operator [DOMAIN:]OP (opset N)" or "node 'NAME' (OP)"."""
    m = re.search(r"operator\s+'?((?:[\w.]+:)?\w+)'?", message)
    if not m:
        m = re.search(r"node '[^']*' \(((?:[\w.]+:)?\w+)\)", message)
    return m.group(1) if m else None


def kaiwu_version(kw_bin):
    try:
        return subprocess.run([kw_bin, "--version"], stdout=subprocess.PIPE,
                              universal_newlines=True).stdout.strip()
    except OSError:
        return "kaiwu (version unknown)"


def render(results, source):
    groups = collections.OrderedDict((s, []) for s in SUITES)
    for r in results:
        groups.setdefault(suite_of(r), []).append(r)
    out = ["# ONNX conformance", "",
           "kaiwu on the ONNX backend-test suites of ONNX 1.12 (Debian's "
           "`libonnx-testdata`), measured by `kaiwu onnx test` "
           "(tolerance rtol 1e-3, atol 1e-7 as in ONNX's backend runner; "
           "one process per test). Regenerate with "
           "`python3 tools/onnx_conformance.py --bin build/kaiwu`.", "",
           "Measured %s with %s." % (datetime.date.today().isoformat(),
                                     source), "",
           "| suite | tests | pass | fail | unsupported | error | pass rate |",
           "|---|---:|---:|---:|---:|---:|---:|"]
    tot = collections.Counter()
    for s, rs in groups.items():
        if not rs:
            continue
        c = collections.Counter(r["status"] for r in rs)
        tot.update(c)
        tot["n"] += len(rs)
        out.append("| %s | %d | %d | %d | %d | %d | %.1f%% |" % (
            s, len(rs), c["pass"], c["fail"], c["unsupported"], c["error"],
            100.0 * c["pass"] / len(rs)))
    if tot["n"]:
        out.append("| **all** | %d | %d | %d | %d | %d | %.1f%% |" % (
            tot["n"], tot["pass"], tot["fail"], tot["unsupported"],
            tot["error"], 100.0 * tot["pass"] / tot["n"]))
    node = groups.get("node", [])
    if node:
        n_pass = sum(r["status"] == "pass" for r in node)
        out += ["", "Node tests: %d of %d pass (%.1f%%; the goal is %d%%, "
                "i.e. %d)." % (n_pass, len(node), 100.0 * n_pass / len(node),
                               round(NODE_GOAL * 100),
                               int(-(-NODE_GOAL * len(node) // 1)))]
    unsup = collections.Counter()
    for r in results:
        if r["status"] == "unsupported":
            unsup[op_of(r["message"]) or "(other)"] += 1
    if unsup:
        out += ["", "## Unsupported, by operator", "",
                "| operator | tests |", "|---|---:|"]
        for op, n in sorted(unsup.items(), key=lambda x: (-x[1], x[0])):
            out.append("| %s | %d |" % (md_cell(op), n))
    for s, rs in groups.items():
        bad = [r for r in rs if r["status"] != "pass"]
        if not rs:
            continue
        out += ["", "## %s: tests that do not pass (%d)" % (s, len(bad)), ""]
        if not bad:
            out.append("All %d tests pass." % len(rs))
            continue
        out += ["| test | result | reason | cause |", "|---|---|---|---|"]
        for r in sorted(bad, key=lambda r: r["name"]):
            out.append("| %s | %s | %s | %s |" % (md_cell(r["name"]),
                                                   r["status"].upper(),
                                                   md_cell(r["message"]),
                                                   md_cell(known_cause(r["name"]))))
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "kaiwu"))
    ap.add_argument("--data", default="/usr/share/libonnx-testdata/data")
    ap.add_argument("-t", "--threads", type=int, default=2)
    ap.add_argument("--timeout", type=int, default=300,
                    help="seconds per test")
    ap.add_argument("--from-json", help="output of a `kaiwu onnx test "
                    "--json` run to use instead of running kaiwu")
    ap.add_argument("--save-json", help="also keep the raw --json output")
    ap.add_argument("--out", default=os.path.join(ROOT, "docs",
                                                  "conformance.md"))
    a = ap.parse_args()
    if a.from_json:
        with open(a.from_json) as f:
            text = f.read()
        source = "results from %s" % os.path.basename(a.from_json)
    else:
        dirs = collect_dirs(a.data)
        if not dirs:
            sys.exit("no test folders under %s (apt install "
                     "libonnx-testdata)" % a.data)
        text = run_kaiwu(a.bin, dirs, a.threads, a.timeout)
        source = "%s, `-t %d`" % (kaiwu_version(a.bin), a.threads)
    if a.save_json:
        with open(a.save_json, "w") as f:
            f.write(text)
    results, totals = parse(text)
    if not results:
        sys.exit("no results")
    doc = render(results, source)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w") as f:
        f.write(doc)
    if totals:
        print("%(passed)d passed, %(failed)d failed, %(unsupported)d "
              "unsupported, %(errors)d errors of %(total)d" % totals)
    print("wrote", a.out)


if __name__ == "__main__":
    main()
