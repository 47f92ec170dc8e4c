#!/usr/bin/env python3
"""Pointwise (or stem) -> depthwise -> pointwise (-> pointwise) Conv chains (MobileNet / EfficientNet
blocks) and ResNet bottlenecks whose intermediate values kaiwu hands over
in its channel-blocked c16 layout with AVX-512 (fuse.c plan_c16,
plan_c16_stream): odd planes, strides 1 and 2,
3x3 and 5x5, dilation, asymmetric pads, fused activations (in-register and
not), residual Adds, batches, expansions that are and are not a multiple of
16 channels, values with a second reader. Each model runs through
`kaiwu onnx run` at 1 and 2 threads, with fusions on and off
(KW_ONNX_NO_FUSE=1: planes only), and through onnxruntime; all must agree,
and `kaiwu onnx info --json` must report the blocked values the case
expects (none without AVX-512). Skips (77) without the onnx / onnxruntime
packages unless KW_REQUIRE_MODELS is set."""
import json, os, subprocess, sys, tempfile

try:
    import numpy as np
    from onnx import helper, numpy_helper, TensorProto
    import onnx
    import onnxruntime as ort
except ImportError as e:
    print(f"skip: {e}")
    sys.exit(1 if os.environ.get("KW_REQUIRE_MODELS") else 77)

KW = os.environ.get("KW_BIN", "build/kaiwu")
rng = np.random.default_rng(11)


def const(name, a):
    return numpy_helper.from_array(np.asarray(a, dtype=np.float32), name)


def act_nodes(act, x, y, tag, inits):
    """the activation node from x to y (None: y is x)"""
    if act is None:
        return []
    if act == "Clip":
        inits += [const(f"lo{tag}", 0.0), const(f"hi{tag}", 6.0)]
        return [helper.make_node("Clip", [x, f"lo{tag}", f"hi{tag}"], [y])]
    return [helper.make_node(act, [x], [y])]


def block(cin, e, cout, k, s, hw, batch=1, pads=None, dil=1, act1="Clip",
          act2="Relu", residual=False, expand=True, project=True,
          share=False, ek=1, es=1):
    """x -> [1x1 to e, act1] -> kxk depthwise (stride s), act2 ->
    [1x1 to cout] (+ x); share: the expanded value also goes to the
    output through a Neg (a second reader); ek, es: an image stem's
    kernel and stride in place of the 1x1"""
    inits, nodes = [], []
    if pads is None:
        pads = [dil * (k // 2)] * 4
    cur = "x"
    if expand:
        inits += [const("We", rng.normal(size=(e, cin, ek, ek)) / np.sqrt(cin) / ek),
                  const("Be", rng.normal(size=e) * 0.1)]
        nodes.append(helper.make_node("Conv", ["x", "We", "Be"],
                                      ["e0" if act1 else "e1"],
                                      strides=[es, es], pads=[ek // 2] * 4))
        nodes += act_nodes(act1, "e0", "e1", "1", inits)
        cur = "e1"
    ch = e if expand else cin
    inits += [const("Wd", rng.normal(size=(ch, 1, k, k)) / k),
              const("Bd", rng.normal(size=ch) * 0.1)]
    nodes.append(helper.make_node("Conv", [cur, "Wd", "Bd"],
                                  ["d0" if act2 else "d1"], group=ch,
                                  strides=[s, s], pads=pads,
                                  dilations=[dil, dil]))
    nodes += act_nodes(act2, "d0", "d1", "2", inits)
    last = "d1"
    if project:
        inits += [const("Wp", rng.normal(size=(cout, ch, 1, 1)) / np.sqrt(ch)),
                  const("Bp", rng.normal(size=cout) * 0.1)]
        nodes.append(helper.make_node("Conv", ["d1", "Wp", "Bp"],
                                      ["p0" if residual or share else "y"]))
        last = "p0"
        if residual:
            nodes.append(helper.make_node("Add", ["p0", "x"],
                                          ["r0" if share else "y"]))
            last = "r0"
    elif not share:
        nodes.append(helper.make_node("Identity", ["d1"], ["y"]))
    outs = ["y"]
    if share:
        # the expanded value read twice: it must stay in planes
        nodes.append(helper.make_node("ReduceMean", [cur], ["em"], axes=[1, 2, 3],
                                      keepdims=0))
        nodes.append(helper.make_node("Identity", [last], ["y"]))
        nodes.append(helper.make_node("Neg", ["em"], ["z"]))
        outs.append("z")
    h, w = hw
    h, w = (h + ek // 2 * 2 - ek) // es + 1, (w + ek // 2 * 2 - ek) // es + 1
    oh = (h + pads[0] + pads[2] - dil * (k - 1) - 1) // s + 1
    ow = (w + pads[1] + pads[3] - dil * (k - 1) - 1) // s + 1
    oc = cout if project else ch
    shapes = {"y": [batch, oc, oh, ow], "z": [batch]}
    return nodes, inits, [batch, cin, *hw], [(o, shapes[o]) for o in outs]


def chain(*parts):
    """blocks in a row, each block's y the next one's x"""
    nodes_all, inits_all, prev = [], [], "x"
    for i, (nodes, inits, _, _) in enumerate(parts):
        last = i == len(parts) - 1

        def ren(n, i=i, prev=prev, last=last):
            return prev if n == "x" else "y" if n == "y" and last else f"b{i}_{n}"
        for nd in nodes:
            for j, n in enumerate(nd.input):
                nd.input[j] = ren(n)
            for j, n in enumerate(nd.output):
                nd.output[j] = ren(n)
        for t in inits:
            t.name = ren(t.name)
        nodes_all += nodes
        inits_all += inits
        prev = ren("y")
    return nodes_all, inits_all, parts[0][2], parts[-1][3]


def bottlenecks(cin, specs, hw, batch=1, stem=False, tail="gap",
                act="Relu", side=False, late=False):
    """ResNet bottlenecks: x [-> 7x7/2 stem 3 -> cin, Relu, 3x3/2 MaxPool]
    -> per (mid, cout, stride) spec: 1x1 to mid, Relu, 3x3 (stride), Relu,
    1x1 to cout, + x (through a 1x1 of that stride when the shape
    changes), act; tail "gap": GlobalAveragePool, "none": the last block
    is the output; side: the first block's output is read by a Neg too
    (a reader that is no Conv); late: and by a 1x1 layer after the last
    block, added to its output (so the second block's residual is not
    its last use, and its output may not take the residual's buffer)"""
    inits, nodes, k = [], [], [0]

    def conv(x, cin_, cout_, ker, st, y):
        k[0] += 1
        w, b = f"W{k[0]}", f"B{k[0]}"
        inits.extend([const(w, rng.normal(size=(cout_, cin_, ker, ker)) /
                            np.sqrt(cin_ * ker * ker)),
                      const(b, rng.normal(size=cout_) * 0.1)])
        nodes.append(helper.make_node("Conv", [x, w, b], [y],
                                      strides=[st, st], pads=[ker // 2] * 4))

    h, w = hw
    cur, c = "x", 3 if stem else cin
    if stem:
        conv("x", 3, cin, 7, 2, "s0")
        nodes += act_nodes("Relu", "s0", "s1", "s", inits)
        nodes.append(helper.make_node("MaxPool", ["s1"], ["s2"],
                                      kernel_shape=[3, 3], strides=[2, 2],
                                      pads=[1, 1, 1, 1]))
        cur, c = "s2", cin
        for _ in range(2):
            h, w = (h - 1) // 2 + 1, (w - 1) // 2 + 1
    outs = []
    for i, (mid, cout, st) in enumerate(specs):
        p = f"k{i}_"
        conv(cur, c, mid, 1, 1, p + "a")
        nodes += act_nodes("Relu", p + "a", p + "ar", p + "1", inits)
        conv(p + "ar", mid, mid, 3, st, p + "b")
        nodes += act_nodes("Relu", p + "b", p + "br", p + "2", inits)
        conv(p + "br", mid, cout, 1, 1, p + "c")
        res = cur
        if st != 1 or c != cout:
            conv(cur, c, cout, 1, st, p + "ds")
            res = p + "ds"
        nodes.append(helper.make_node("Add", [p + "c", res], [p + "s"]))
        nodes += act_nodes(act, p + "s", p + "o", p + "3", inits)
        cur, c = p + "o", cout
        h, w = (h - 1) // st + 1, (w - 1) // st + 1
        if side and i == 0:
            nodes.append(helper.make_node("Neg", [cur], ["z"]))
            outs.append(("z", [batch, c, h, w]))
    if late:
        conv("k0_o", specs[0][1], c, 1, 1, "late")
        nodes.append(helper.make_node("Add", ["late", cur], ["lsum"]))
        cur = "lsum"
    if tail == "gap":
        nodes.append(helper.make_node("GlobalAveragePool", [cur], ["y"]))
        outs.insert(0, ("y", [batch, c, 1, 1]))
    else:
        nodes.append(helper.make_node("Identity", [cur], ["y"]))
        outs.insert(0, ("y", [batch, c, h, w]))
    return nodes, inits, [batch, 3 if stem else cin, *hw], outs


# name -> (model, blocked values expected with AVX-512)
CASES = {
    # 48 = 32 + 16: a half panel; residual; the odd plane goes through the
    # zero-bordered copy (edges over an eighth of a row)
    "mb_s1_residual": (lambda: block(5, 48, 5, 3, 1, (13, 11), batch=2,
                                     residual=True), 2),
    "mb_5x5_s2": (lambda: block(24, 64, 40, 5, 2, (9, 17)), 2),
    # a wide plane: taps checked at the edges, interior in runs
    "mb_wide_dilated": (lambda: block(16, 32, 24, 3, 1, (6, 70), dil=2,
                                      act1="Relu", act2=None), 2),
    "mb_tf_pads_s2": (lambda: block(8, 96, 16, 3, 2, (40, 40),
                                    pads=[0, 0, 1, 1]), 2),
    # activations the kernels leave to a pass over the block
    "mb_hardswish": (lambda: block(12, 32, 20, 3, 1, (7, 7), act1="HardSwish",
                                   act2="Sigmoid", batch=3), 2),
    "mb_7x7_k5": (lambda: block(160, 144, 48, 5, 1, (7, 7), act2="Clip"), 2),
    # pointwise -> depthwise only (the depthwise feeds no pointwise)
    "pw_dw": (lambda: block(7, 32, 0, 3, 2, (11, 9), project=False), 1),
    # no expansion: the depthwise reads planes
    "dw_pw": (lambda: block(32, 0, 16, 3, 1, (12, 12), expand=False), 0),
    # 40 channels: not a multiple of 16
    "mb_40": (lambda: block(8, 40, 8, 3, 1, (10, 10), residual=True), 0),
    # expansions of over 4 MiB: made a panel (32 channels) or a block (16)
    # at a time inside the depthwise layer, at 1 thread all the rows, at 2
    # half the output rows each where the blocks do not split into
    # panels evenly (2 blocks; 3: a panel and a block)
    "mb_big": (lambda: block(8, 32, 16, 3, 1, (180, 190)), 2),
    "mb_big_odd": (lambda: block(4, 48, 8, 3, 2, (150, 151), act1="Relu"), 2),
    # 6 blocks an image, 3 images: at 1 thread 3 panels an image; at 2
    # (9 blocks each: half a panel), bands of rows with a top pad of 0
    "mb_big_panels": (lambda: block(8, 96, 16, 3, 2, (105, 105), batch=3,
                                    pads=[0, 0, 1, 1]), 2),
    # 1.2 MiB of expansion: block by block at 1 thread, at 2 in bands
    # (5x5, stride 2: two rows the bands share)
    "mb_mid_s2": (lambda: block(8, 48, 16, 5, 2, (80, 82)), 2),
    # 4 blocks: at 2 threads a panel each, all the rows
    "mb_big_even": (lambda: block(8, 64, 16, 5, 1, (130, 130), act1="Relu",
                                  act2="HardSwish"), 2),
    # an image stem (3x3, stride 2) writes the depthwise input blocked
    "stem": (lambda: block(3, 32, 16, 3, 1, (23, 30), ek=3, es=2), 2),
    # two blocks: the 16 channels between them blocked too (5 values)
    "two_blocks": (lambda: chain(block(8, 32, 16, 3, 2, (15, 13), batch=2),
                                 block(16, 48, 8, 3, 1, (8, 7), batch=2,
                                       act2="HardSigmoid")), 5),
    # the expanded value has a second reader: all in planes
    "mb_shared": (lambda: block(8, 32, 8, 3, 1, (10, 10), share=True), 0),
    # ResNet's residual stream (fuse.c plan_c16_stream): every block
    # output and downsampling value c16, read by the 1x1 layers (stride 2
    # too) and as the next residual; the last block adds a c16 residual
    # to sums it stores in planes for the GlobalAveragePool
    "rn_blocks": (lambda: bottlenecks(32, [(16, 64, 1), (16, 64, 1),
                                           (32, 128, 2)], (15, 13),
                                      batch=2), 4),
    # a stem and MaxPool in front (the first 1x1 layers read planes), a
    # wide plane, 48 channels (a half panel), the last block an output
    "rn_stem": (lambda: bottlenecks(16, [(16, 48, 1), (32, 48, 1),
                                         (16, 96, 2)], (30, 70), stem=True,
                                    tail="none", act="Clip"), 4),
    # the first output also read by a Neg: it stays in planes, and so do
    # the values whose residual it is; the downsampling value does not
    "rn_side": (lambda: bottlenecks(16, [(16, 32, 1), (16, 32, 1)], (9, 9),
                                    side=True), 1),
    # an activation the channel-vector kernel leaves to a pass: those
    # outputs stay in planes, the downsampling value (a residual) not
    "rn_hardswish": (lambda: bottlenecks(16, [(16, 32, 2), (16, 32, 1)],
                                         (12, 11), act="HardSwish"), 1),
    # the first block's output read after the second block too: the
    # second's output goes to a new buffer, the later residual reads it
    "rn_late": (lambda: bottlenecks(16, [(16, 32, 1), (16, 32, 1)], (10, 9),
                                    late=True, tail="none"), 3),
    # 40 channels: nothing blocked
    "rn_40": (lambda: bottlenecks(24, [(16, 40, 1), (16, 40, 1)], (8, 8)), 0),
}


def run_kaiwu(model, feeds, tmp, fuse, threads):
    out = os.path.join(tmp, f"out_{os.path.basename(model)}_{int(fuse)}_{threads}")
    os.makedirs(out, exist_ok=True)
    env = dict(os.environ)
    env.pop("KW_ONNX_NO_FUSE", None)
    if not fuse:
        env["KW_ONNX_NO_FUSE"] = "1"
    p = subprocess.run([KW, "onnx", "run", model, *feeds, "--output-dir", out,
                        "-t", str(threads), "-q"],
                       capture_output=True, text=True, env=env)
    if p.returncode != 0:
        raise RuntimeError(p.stderr)
    res = []
    for i in range(2):
        f = os.path.join(out, f"output_{i}.pb")
        if os.path.exists(f):
            t = onnx.TensorProto()
            with open(f, "rb") as fh:
                t.ParseFromString(fh.read())
            res.append(numpy_helper.to_array(t))
    return res


def kaiwu_isa(model):
    p = subprocess.run([KW, "onnx", "bench", model, "--runs", "1", "--json"],
                       capture_output=True, text=True)
    return json.loads(p.stdout).get("isa") if p.returncode == 0 else None


def main():
    failed = 0
    isa = None
    with tempfile.TemporaryDirectory() as tmp:
        for name, (make, blocked) in CASES.items():
            nodes, inits, xshape, outs = make()
            g = helper.make_graph(
                nodes, name,
                [helper.make_tensor_value_info("x", TensorProto.FLOAT, xshape)],
                [helper.make_tensor_value_info(o, TensorProto.FLOAT, s)
                 for o, s in outs], inits)
            m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
            path = os.path.join(tmp, name + ".onnx")
            onnx.save(m, path)
            x = rng.normal(size=xshape).astype(np.float32)
            xf = os.path.join(tmp, name + "_x.pb")
            with open(xf, "wb") as fh:
                fh.write(numpy_helper.from_array(x, "x").SerializeToString())
            want = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(
                None, {"x": x})
            if isa is None:
                isa = kaiwu_isa(path)
            info = subprocess.run([KW, "onnx", "info", path, "--json"],
                                  capture_output=True, text=True)
            doc = json.loads(info.stdout) if info.returncode == 0 else {}
            expect = blocked if isa == "avx512" else 0
            ok = doc.get("blocked_values") == expect
            if not ok:
                print(f"FAIL {name}: {doc.get('blocked_values')} blocked values, "
                      f"expected {expect} (isa {isa})")
            worst = 0.0
            try:
                for fuse, threads in ((True, 1), (True, 2), (False, 1)):
                    got = run_kaiwu(path, [xf], tmp, fuse, threads)
                    if len(got) != len(want):
                        ok = False
                        continue
                    for gv, wv in zip(got, want):
                        scale = max(1.0, float(np.max(np.abs(wv))))
                        if gv.shape != wv.shape:
                            ok = False
                            continue
                        err = float(np.max(np.abs(gv - wv))) / scale
                        worst = max(worst, err)
                        ok = ok and err <= 2e-5
            except RuntimeError as e:
                print(f"FAIL {name}: {e}")
                failed += 1
                continue
            print(f"{'PASS' if ok else 'FAIL'} {name} (blocked values "
                  f"{doc.get('blocked_values')}, worst relative error vs "
                  f"onnxruntime {worst:.1e})")
            failed += not ok
    print(f"{len(CASES) - failed} of {len(CASES)} c16 chain cases agree")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
