#!/usr/bin/env python3
"""Load-time fusions give the same answers as the graph computed node by
node: Conv+BatchNormalization(+Relu / Clip / LeakyRelu / HardSwish),
Gemm+Relu, MatMul+Sigmoid, Add+Relu, residual Conv(+BN)+Add(+Relu)
graphs (the Add's other operand same-shaped or broadcast, on either side)
and a Mul (+Add) by per-channel constants before a Conv, with random weights run
through `kaiwu onnx run`, with fusions on and off (KW_ONNX_NO_FUSE=1), and
through onnxruntime; all three must agree. Skips (77) without the onnx /
onnxruntime packages unless KW_REQUIRE_MODELS is set."""
import json, os, subprocess, sys, tempfile

try:
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper, TensorProto
    import onnxruntime as ort
except ImportError as e:
    print(f"skip: {e}")
    sys.exit(1 if os.environ.get("KW_REQUIRE_MODELS") else 77)

KW = os.environ.get("KW_BIN", "build/kaiwu")
rng = np.random.default_rng(7)


def const(name, a):
    return numpy_helper.from_array(np.asarray(a, dtype=np.float32), name)


def conv_bn(act):
    c_in, c_out = 5, 7
    inits = [const("W", rng.normal(size=(c_out, c_in, 3, 3))),
             const("B", rng.normal(size=c_out)),
             const("s", rng.uniform(0.5, 2, c_out)), const("b", rng.normal(size=c_out)),
             const("m", rng.normal(size=c_out)), const("v", rng.uniform(0.2, 3, c_out))]
    nodes = [helper.make_node("Conv", ["x", "W", "B"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("BatchNormalization", ["c", "s", "b", "m", "v"],
                              ["n" if act else "y"], epsilon=1e-3)]
    if act == "Clip":
        inits += [const("lo", 0.0), const("hi", 6.0)]
        nodes.append(helper.make_node("Clip", ["n", "lo", "hi"], ["y"]))
    elif act:
        kw = {"alpha": 0.1} if act == "LeakyRelu" else {}
        nodes.append(helper.make_node(act, ["n"], ["y"], **kw))
    return nodes, inits, [("x", [2, c_in, 9, 11])], [2, c_out, 9, 11]


def gemm_relu():
    nodes = [helper.make_node("Gemm", ["x", "W", "B"], ["g"], transB=1),
             helper.make_node("Relu", ["g"], ["y"])]
    return nodes, [const("W", rng.normal(size=(13, 17))), const("B", rng.normal(size=13))], \
        [("x", [3, 17])], [3, 13]


def matmul_sigmoid():
    nodes = [helper.make_node("MatMul", ["x", "W"], ["g"]),
             helper.make_node("Sigmoid", ["g"], ["y"])]
    return nodes, [const("W", rng.normal(size=(17, 6)))], [("x", [2, 4, 17])], [2, 4, 6]


def add_relu():
    nodes = [helper.make_node("Add", ["x", "x2"], ["g"]),
             helper.make_node("Relu", ["g"], ["y"])]
    return nodes, [], [("x", [4, 33]), ("x2", [4, 33])], [4, 33]


def conv_add(relu, bcast, conv_first, k=1):
    """Conv (+BN) + Add of a computed value (+Relu): the residual fusion."""
    c_in, c_out = 6, 40
    inits = [const("W", rng.normal(size=(c_out, c_in, k, k))),
             const("B", rng.normal(size=c_out)),
             const("s", rng.uniform(0.5, 2, c_out)), const("b", rng.normal(size=c_out)),
             const("m", rng.normal(size=c_out)), const("v", rng.uniform(0.2, 3, c_out))]
    rshape = [1, c_out, 1, 1] if bcast else [2, c_out, 9, 11]
    add_in = ["n", "r"] if conv_first else ["r", "n"]
    nodes = [helper.make_node("Conv", ["x", "W", "B"], ["c"], pads=[k // 2] * 4),
             helper.make_node("BatchNormalization", ["c", "s", "b", "m", "v"], ["n"]),
             # the residual is computed (here after the Conv, as a ResNet
             # downsample branch would be)
             helper.make_node("Neg", ["x2"], ["r"]),
             helper.make_node("Add", add_in, ["a" if relu else "y"])]
    if relu:
        nodes.append(helper.make_node("Relu", ["a"], ["y"]))
    return nodes, inits, [("x", [2, c_in, 9, 11]), ("x2", rshape)], [2, c_out, 9, 11]


def scaled_conv(s_shape, b_shape=None, s_first=False, b_first=False, group=1):
    """Mul by a constant (+ Add of one) before a Conv: the scale goes into
    the weights when it is per input channel (a normalised image)."""
    c_in, c_out = 4, 6
    inits = [const("s", rng.uniform(0.3, 2, s_shape) * rng.choice([-1, 1], s_shape)),
             const("W", rng.normal(size=(c_out, c_in // group, 3, 3))),
             const("B", rng.normal(size=c_out))]
    nodes = [helper.make_node("Mul", ["s", "x"] if s_first else ["x", "s"],
                              ["m" if b_shape is None else "m0"])]
    if b_shape is not None:
        inits.append(const("b", rng.normal(size=b_shape)))
        nodes.append(helper.make_node("Add", ["b", "m0"] if b_first else ["m0", "b"], ["m"]))
    nodes.append(helper.make_node("Conv", ["m", "W", "B"], ["y"], pads=[0, 0, 1, 1],
                                  strides=[2, 2], group=group))
    return nodes, inits, [("x", [2, c_in, 9, 11])], [2, c_out, 4, 5]


CASES = {"conv_bn": lambda: conv_bn(None), "conv_bn_relu": lambda: conv_bn("Relu"),
         "conv_bn_clip": lambda: conv_bn("Clip"),
         "conv_bn_leaky": lambda: conv_bn("LeakyRelu"),
         "conv_bn_hardswish": lambda: conv_bn("HardSwish"),
         "gemm_relu": gemm_relu, "matmul_sigmoid": matmul_sigmoid, "add_relu": add_relu,
         "conv_add_relu": lambda: conv_add(True, False, True),
         "conv3x3_add": lambda: conv_add(False, False, False, k=3),
         "conv_add_bcast_relu": lambda: conv_add(True, True, False),
         "mul_add_conv": lambda: scaled_conv([1, 4, 1, 1], [1, 4, 1, 1]),
         "mul_add_conv_scalar": lambda: scaled_conv([4, 1, 1], [], s_first=True,
                                                    b_first=True),
         "mul_conv_group": lambda: scaled_conv([1, 4, 1, 1], group=2),
         "mul_conv_scalar": lambda: scaled_conv([], s_first=True),
         "mul_cols_conv": lambda: scaled_conv([1, 1, 1, 11])}
# nodes left to run where that is not one (plus the residual's Neg): the
# Add of a scaled input stays; a scale per column is not folded
NODES_TO_RUN = {"mul_add_conv": 2, "mul_add_conv_scalar": 2, "mul_cols_conv": 2}


def run_kaiwu(model, inputs, tmp, fuse):
    out = os.path.join(tmp, "out_fused" if fuse else "out_plain")
    os.makedirs(out, exist_ok=True)
    env = dict(os.environ)
    env.pop("KW_ONNX_NO_FUSE", None)
    if not fuse:
        env["KW_ONNX_NO_FUSE"] = "1"
    p = subprocess.run([KW, "onnx", "run", model, *inputs, "--output-dir", out],
                       capture_output=True, text=True, env=env)
    if p.returncode != 0:
        raise RuntimeError(p.stderr)
    t = onnx.TensorProto()
    with open(os.path.join(out, "output_0.pb"), "rb") as f:
        t.ParseFromString(f.read())
    return numpy_helper.to_array(t)


def main():
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name, make in CASES.items():
            nodes, inits, ins, out_shape = make()
            g = helper.make_graph(
                nodes, name,
                [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in ins],
                [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)], inits)
            m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
            path = os.path.join(tmp, name + ".onnx")
            onnx.save(m, path)
            feeds, files = {}, []
            for n, s in ins:
                a = rng.normal(size=s).astype(np.float32) * 2
                feeds[n] = a
                f = os.path.join(tmp, f"{name}_{n}.pb")
                with open(f, "wb") as fh:
                    fh.write(numpy_helper.from_array(a, n).SerializeToString())
                files.append(f)
            want = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(
                None, feeds)[0]
            try:
                fused = run_kaiwu(path, files, tmp, True)
                plain = run_kaiwu(path, files, tmp, False)
            except RuntimeError as e:
                print(f"FAIL {name}: {e}")
                failed += 1
                continue
            info = subprocess.run([KW, "onnx", "info", path, "--json"],
                                  capture_output=True, text=True)
            doc = json.loads(info.stdout) if info.returncode == 0 else {}
            # every case is two or three nodes that fuse into one (the
            # residual cases: plus the Neg that computes the residual)
            extra = 1 if name.startswith("conv_add") or name.startswith("conv3x3_add") else 0
            want_run = NODES_TO_RUN.get(name, 1 + extra)
            merged = doc.get("nodes_to_run") == want_run and \
                doc.get("nodes", 0) > (1 + extra if want_run == 1 + extra else want_run - 1)
            if not merged:
                print(f"FAIL {name}: not fused ({doc.get('nodes')} nodes, "
                      f"{doc.get('nodes_to_run')} to run)")
            ok = merged and fused.shape == want.shape and \
                np.allclose(fused, want, rtol=1e-4, atol=1e-4) and \
                np.allclose(plain, want, rtol=1e-4, atol=1e-4)
            err = float(np.max(np.abs(fused - want))) if fused.shape == want.shape else -1
            print(f"{'PASS' if ok else 'FAIL'} {name} (max abs err vs onnxruntime {err:.2e})")
            failed += not ok
    print(f"{len(CASES) - failed} of {len(CASES)} fusion cases agree")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
