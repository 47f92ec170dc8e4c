#!/usr/bin/env python3
"""make_onnx_fixtures.py - regenerates tests/fixtures/onnx/, the tiny ONNX
backend-test folders that tests/unit/test_cli_onnx.sh runs through the
`kaiwu onnx` subcommands (expected values computed with numpy).

Writes (each folder: model.onnx + test_data_set_0/{input_K,output_K}.pb):
  test_tiny_add          c = a + b, a and b float[N,3] (N a named dynamic
                         dim), plus relu(c) as a second output: must PASS
  test_tiny_add_wrong    same model, one expected value off by 0.5: FAIL
  test_tiny_unsupported  a node of an operator no runtime knows
                         (domain com.example): UNSUPPORTED

Usage: python3 tools/make_onnx_fixtures.py [OUT_DIR]
"""
import os
import shutil
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(os.path.dirname(HERE), "tests", "fixtures", "onnx")


def add_model():
    a = helper.make_tensor_value_info("a", TensorProto.FLOAT, ["N", 3])
    b = helper.make_tensor_value_info("b", TensorProto.FLOAT, ["N", 3])
    c = helper.make_tensor_value_info("c", TensorProto.FLOAT, ["N", 3])
    r = helper.make_tensor_value_info("r", TensorProto.FLOAT, ["N", 3])
    g = helper.make_graph(
        [helper.make_node("Add", ["a", "b"], ["c"], name="add0"),
         helper.make_node("Relu", ["c"], ["r"], name="relu0")],
        "tiny_add", [a, b], [c, r])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)],
                             producer_name="kaiwu-fixtures")


def unsupported_model():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])
    g = helper.make_graph(
        [helper.make_node("Frobnicate", ["x"], ["y"], name="frob0",
                          domain="com.example")],
        "tiny_unsupported", [x], [y])
    return helper.make_model(
        g, opset_imports=[helper.make_opsetid("", 13),
                          helper.make_opsetid("com.example", 1)],
        producer_name="kaiwu-fixtures")


def write_case(root, name, model, inputs, outputs):
    d = os.path.join(root, name)
    if os.path.exists(d):
        shutil.rmtree(d)
    os.makedirs(os.path.join(d, "test_data_set_0"))
    onnx.save(model, os.path.join(d, "model.onnx"))
    for stem, vals, infos in (("input", inputs, model.graph.input),
                              ("output", outputs, model.graph.output)):
        for k, (v, info) in enumerate(zip(vals, infos)):
            t = numpy_helper.from_array(v, info.name)
            with open(os.path.join(d, "test_data_set_0",
                                   "%s_%d.pb" % (stem, k)), "wb") as f:
                f.write(t.SerializeToString())


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else OUT
    os.makedirs(root, exist_ok=True)
    a = np.array([[1, -2, 3], [-4, 5, -6]], dtype=np.float32) / 4
    b = np.array([[0.5, 0.25, -1], [2, -8, 1.5]], dtype=np.float32)
    c = a + b
    r = np.maximum(c, 0)
    m = add_model()
    onnx.checker.check_model(m)
    write_case(root, "test_tiny_add", m, [a, b], [c, r])
    wrong = c.copy()
    wrong[1, 2] += 0.5
    write_case(root, "test_tiny_add_wrong", m, [a, b], [wrong, r])
    x = np.array([1, 2], dtype=np.float32)
    write_case(root, "test_tiny_unsupported", unsupported_model(), [x], [x])
    print("wrote", root)


if __name__ == "__main__":
    main()
