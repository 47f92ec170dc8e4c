#!/usr/bin/env bash
# test_cli_onnx.sh — the `kaiwu onnx` subcommands ($KW_BIN): --help and
# usage errors (exit 2) of info/run/test/bench, then info, run, test (text,
# --json, --isolate) and bench --json on the tiny backend-test folders in
# tests/fixtures/onnx (made by tools/make_onnx_fixtures.py): one passes, one
# has a wrong expected value (FAIL), one uses an unknown operator
# (UNSUPPORTED). Output values are checked with numpy+onnx when installed.
. "$(dirname "${BASH_SOURCE[0]}")/cli_common.sh"
SRC=${KW_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
FX=$SRC/tests/fixtures/onnx
ADD=$FX/test_tiny_add
WRONG=$FX/test_tiny_add_wrong
UNSUP=$FX/test_tiny_unsupported

grep_out() { grep_file "$1" "$tmp/out" "$2"; } # DESC PATTERN
grep_err() { grep_file "$1" "$tmp/err" "$2"; }
pycheck() { # DESC PYTHON-EXPR over d = the JSON in $tmp/out
    if python3 -c "import json,sys; d=json.load(open(sys.argv[1])); \
assert $2, d" "$tmp/out" 2>"$tmp/py"; then ok "$1"; else
        bad "$1"; tail -3 "$tmp/py" | sed 's/^/     /'
    fi
}
jsonl_check() { # DESC PYTHON-EXPR over L = list of the JSON lines in $tmp/out
    if python3 -c "import json,sys; \
L=[json.loads(x) for x in open(sys.argv[1]) if x.strip()]; \
assert $2, L" "$tmp/out" 2>"$tmp/py"; then ok "$1"; else
        bad "$1"; tail -3 "$tmp/py" | sed 's/^/     /'
    fi
}

# ---- help and usage errors ---------------------------------------------
run onnx --help; expect_rc "onnx --help" 0
grep_out "onnx --help lists run" "run"
run onnx; expect_rc "onnx without subcommand" 2
run onnx frobnicate; expect_rc "onnx unknown subcommand" 2
grep_err "onnx unknown subcommand message" "unknown subcommand"
for c in info run test bench; do
    run onnx "$c" --help; expect_rc "onnx $c --help" 0
    grep_out "onnx $c --help shows usage" "usage: kaiwu onnx $c"
    run onnx "$c" --no-such-option; expect_rc "onnx $c unknown option" 2
    grep_err "onnx $c unknown option message" "kaiwu: onnx $c: "
done
run onnx info; expect_rc "info without MODEL" 2
run onnx info a.onnx b.onnx; expect_rc "info with two models" 2
run onnx run "$ADD/model.onnx"; expect_rc "run without --output-dir" 2
run onnx run --output-dir "$tmp/o"; expect_rc "run without MODEL" 2
run onnx run "$ADD/model.onnx" --output-dir "$tmp/o" --input
expect_rc "run --input without value" 2
run onnx run "$ADD/model.onnx" -t x --output-dir "$tmp/o"
expect_rc "run -t x" 2
run onnx test; expect_rc "test without DIR" 2
run onnx test --timeout 5 "$ADD"; expect_rc "test --timeout without --isolate" 2
run onnx bench "$ADD/model.onnx" --runs 0; expect_rc "bench --runs 0" 2
run onnx bench; expect_rc "bench without MODEL" 2
run onnx info "$tmp/missing.onnx"; expect_rc "info missing file" 1
grep_err "info missing file names it" "$tmp/missing.onnx"
printf 'not a model' >"$tmp/junk.onnx"
run onnx info "$tmp/junk.onnx"; expect_rc "info on junk" 1
grep_err "info on junk message" "kaiwu: "

if [ ! -f "$ADD/model.onnx" ]; then
    bad "fixtures missing: run tools/make_onnx_fixtures.py"; finish
fi

# ---- info ----------------------------------------------------------------
run onnx info "$ADD/model.onnx"; expect_rc "info" 0
grep_out "info shows the dynamic dim" "float[N,3]"
grep_out "info shows Add" "Add"
grep_out "info shows supported" "supported"
run onnx info "$ADD/model.onnx" --json; expect_rc "info --json" 0
pycheck "info --json inputs" \
    "[i['name'] for i in d['inputs']] == ['a', 'b'] and d['inputs'][0]['shape'] == ['N', 3] and d['inputs'][0]['dtype'] == 'float'"
pycheck "info --json outputs" "[o['name'] for o in d['outputs']] == ['c', 'r']"
pycheck "info --json ops" \
    "sorted(o['op_type'] for o in d['ops']) == ['Add', 'Relu'] and all(o['supported'] for o in d['ops']) and d['all_supported']"
pycheck "info --json opsets" \
    "{'domain': '', 'version': 13} in d['opsets']"
run onnx info "$UNSUP/model.onnx"; expect_rc "info on an unsupported op" 0
grep_out "info marks the unknown op" "UNSUPPORTED"
run onnx info "$UNSUP/model.onnx" --json
pycheck "info --json unsupported" \
    "not d['all_supported'] and [o['op_type'] for o in d['ops'] if not o['supported']] == ['Frobnicate']"

# ---- run -------------------------------------------------------------------
DS=$ADD/test_data_set_0
run onnx run "$ADD/model.onnx" "$DS/input_0.pb" "$DS/input_1.pb" \
    --output-dir "$tmp/o1"
expect_rc "run positional inputs" 0
[ -f "$tmp/o1/output_0.pb" ] && [ -f "$tmp/o1/output_1.pb" ] &&
    ok "run wrote output_0.pb and output_1.pb" || bad "run wrote outputs"
run onnx run "$ADD/model.onnx" --input "b=$DS/input_1.pb" \
    --input="a=$DS/input_0.pb" -o "$tmp/o2" -q
expect_rc "run named inputs" 0
[ ! -s "$tmp/out" ] && ok "run -q prints nothing" || bad "run -q prints nothing"
cmp -s "$tmp/o1/output_0.pb" "$tmp/o2/output_0.pb" &&
    ok "named and positional inputs agree" ||
    bad "named and positional inputs agree"
if python3 -c "import onnx, numpy" 2>/dev/null; then
    if python3 - "$tmp/o1" "$DS" <<'PY' 2>"$tmp/py"; then
import sys, numpy as np, onnx
from onnx import numpy_helper
def load(p):
    t = onnx.TensorProto()
    t.ParseFromString(open(p, "rb").read())
    return t.name, numpy_helper.to_array(t)
for k, name in enumerate(["c", "r"]):
    gn, got = load("%s/output_%d.pb" % (sys.argv[1], k))
    _, want = load("%s/output_%d.pb" % (sys.argv[2], k))
    assert gn == name, (gn, name)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=0)
PY
        ok "run outputs decode (onnx) and match"
    else
        bad "run outputs decode (onnx) and match"; tail -3 "$tmp/py" |
            sed 's/^/     /'
    fi
fi
run onnx run "$ADD/model.onnx" --input "nosuch=$DS/input_0.pb" -o "$tmp/o3"
expect_rc "run --input with an unknown name" 1
grep_err "run unknown input named" "nosuch"
run onnx run "$ADD/model.onnx" "$DS/input_0.pb" --input "a=$DS/input_0.pb" \
    -o "$tmp/o3"
expect_rc "run with an input given twice" 1
run onnx run "$ADD/model.onnx" "$DS/input_0.pb" "$DS/input_1.pb" \
    "$DS/input_1.pb" -o "$tmp/o3"
expect_rc "run with too many inputs" 1
run onnx run "$ADD/model.onnx" "$tmp/missing.pb" "$DS/input_1.pb" -o "$tmp/o3"
expect_rc "run with a missing input file" 1
grep_err "run missing input named" "$tmp/missing.pb"
run onnx run "$UNSUP/model.onnx" "$UNSUP/test_data_set_0/input_0.pb" \
    -o "$tmp/o4"
if [ "$rc" -ne 0 ]; then ok "run an unsupported op fails"; else
    bad "run an unsupported op fails"; fi
grep_err "run names the unsupported op" "Frobnicate"
grep_err "run names the unsupported node" "frob0"

# ---- test ------------------------------------------------------------------
run onnx test "$ADD"; expect_rc "test a passing folder" 0
grep_out "test PASS line" "PASS test_tiny_add"
grep_out "test total line" "1 passed, 0 failed, 0 unsupported, 0 errors of 1"
for mode in "" --isolate; do
    run onnx test $mode -t 1 "$ADD" "$WRONG/" "$UNSUP" "$tmp/nodir"
    expect_rc "test $mode mixed folders" 1
    grep_out "test $mode FAIL line" \
        "FAIL test_tiny_add_wrong: worst abs err 0.5 at index 5 (got 0, want 0.5) in output_0"
    grep_out "test $mode UNSUPPORTED line" "UNSUPPORTED test_tiny_unsupported: "
    grep_out "test $mode ERROR line" "ERROR nodir: "
    grep_out "test $mode total" \
        "1 passed, 1 failed, 1 unsupported, 1 errors of 4"
done
run onnx test --json --isolate --timeout 60 "$ADD" "$WRONG" "$UNSUP"
expect_rc "test --json" 1
jsonl_check "test --json lines" \
    "[x.get('status') for x in L[:3]] == ['pass', 'fail', 'unsupported'] and L[3] == {'passed': 1, 'failed': 1, 'unsupported': 1, 'errors': 0, 'total': 3}"
jsonl_check "test --json failure detail" \
    "L[1]['index'] == 5 and L[1]['output'] == 0 and abs(L[1]['abs_err'] - 0.5) < 1e-6 and L[1]['want'] == 0.5"
run onnx test --failures-only "$ADD" "$WRONG"
grep -q "PASS" "$tmp/out" && bad "--failures-only hides PASS" ||
    ok "--failures-only hides PASS"

# ---- bench -----------------------------------------------------------------
run onnx bench "$ADD/model.onnx" --dim N=4 --runs 3 -t 1 --json
expect_rc "bench --json" 0
pycheck "bench --json keys" \
    "all(d[k] >= 0 for k in ('load_ms', 'first_ms', 'median_ms', 'min_ms', 'peak_rss_mb')) and d['min_ms'] <= d['median_ms']"
run onnx bench "$ADD/model.onnx" "$DS/input_0.pb" --runs 2
expect_rc "bench with one input file" 0
grep_out "bench text output" "median"
run onnx bench "$ADD/model.onnx" --dim N=x --json
expect_rc "bench --dim N=x" 1
finish
