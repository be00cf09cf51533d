from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from eventlens.analyzers.labels.efficientnet_lite import build_onnx, same_pads
from eventlens.convert.onnx_writer import Graph
from tests.labels_support import model_file


def _check(data: bytes) -> onnx.ModelProto:
    model = onnx.load_from_string(data)
    onnx.checker.check_model(model, full_check=True)
    return model


def test_writer_small_graph_is_valid_and_runs() -> None:
    g = Graph("tiny")
    x = g.input("x", ["batch", 3])
    bias = g.initializer("bias", np.array([1.0, -2.0, 0.5], dtype=np.float32))
    lo = g.initializer("lo", np.array(-1.0, dtype=np.float32))
    hi = g.initializer("hi", np.array(1.5, dtype=np.float32))
    y = g.node("Add", [x, bias])
    y = g.node("Clip", [y, lo, hi])
    g.node("Softmax", [y], "out", axis=-1)  # negative int64 attribute
    g.output("out", ["batch", 3])
    data = g.to_model(doc="test")
    model = _check(data)
    assert model.ir_version == 8 and model.opset_import[0].version == 13
    dims = model.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch" and dims[1].dim_value == 3
    assert model.graph.node[2].attribute[0].i == -1

    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    inp = np.array([[0.0, 0.0, 0.0], [5.0, 5.0, -5.0]], dtype=np.float32)
    (out,) = sess.run(None, {"x": inp})
    z = np.clip(inp + np.array([1.0, -2.0, 0.5]), -1.0, 1.5)
    np.testing.assert_allclose(out, np.exp(z) / np.exp(z).sum(1, keepdims=True), rtol=1e-6)


def test_writer_float_list_and_int64_initializer() -> None:
    g = Graph("shape")
    x = g.input("x", [2, 3])
    shape = g.initializer("shape", np.array([3, -1], dtype=np.int64))
    y = g.node("Reshape", [x, shape])
    g.node("LeakyRelu", [y], "out", alpha=0.25)
    g.output("out", [3, 2])
    data = g.to_model()
    _check(data)
    (out,) = ort.InferenceSession(data, providers=["CPUExecutionProvider"]).run(
        None, {"x": -np.ones((2, 3), np.float32)}
    )
    np.testing.assert_allclose(out, np.full((3, 2), -0.25))


def test_writer_rejects_unsupported_dtype() -> None:
    with pytest.raises(TypeError):
        Graph("g").initializer("f16", np.zeros(2, dtype=np.float16))


def test_tf_same_padding() -> None:
    assert same_pads(224, 3, 2) == ([0, 0, 1, 1], 112)
    assert same_pads(56, 5, 2) == ([1, 1, 2, 2], 28)
    assert same_pads(14, 5, 1) == ([2, 2, 2, 2], 14)
    assert same_pads(7, 1, 1) == ([0, 0, 0, 0], 7)


def test_efficientnet_model_passes_checker_and_batches() -> None:
    data = model_file().read_bytes()
    model = _check(data)
    assert [o.name for o in model.graph.output] == ["probabilities", "logits"]
    ops = {n.op_type for n in model.graph.node}
    assert ops == {"Conv", "Clip", "Add", "GlobalAveragePool", "Flatten", "Gemm", "Softmax"}
    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).uniform(-1, 1, (3, 3, 224, 224)).astype(np.float32)
    probs, logits = sess.run(None, {"image": x})
    assert probs.shape == logits.shape == (3, 1000)
    np.testing.assert_allclose(probs.sum(1), 1.0, rtol=1e-5)
    (single,) = sess.run(["logits"], {"image": x[1:2]})
    np.testing.assert_allclose(single[0], logits[1], atol=1e-4)


def test_build_onnx_rejects_incomplete_state_dict() -> None:
    with pytest.raises(ValueError, match="missing"):
        build_onnx({"_conv_stem.weight": np.zeros((32, 3, 3, 3), np.float32)})
