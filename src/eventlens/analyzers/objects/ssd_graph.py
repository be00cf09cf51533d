"""SSDLite-MobileNetV2 (TensorFlow Object Detection API) as an ONNX graph.

Only the network is converted: from the preprocessed image to the raw box encodings and class
scores of the six SSD layers. Anchors, box decoding and non-maximum suppression (TensorFlow
while-loops in the frozen graph) are done in numpy by ``ssd``. The frozen graph is NHWC; the
ONNX graph is NCHW with BatchNorm folded into the convolutions and TF "SAME" padding as
``SAME_UPPER``, so any square input size works.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from eventlens.analyzers.labels.onnx_writer import Graph
from eventlens.analyzers.objects.tf_graph import Node, constant, load_graph

INPUT_NAME = "image"
BOXES_NAME = "box_encodings"
SCORES_NAME = "class_scores"
#: The frozen graph's preprocessed image: (x * 2/255) - 1, which the caller does instead.
GRAPH_INPUT = "Preprocessor/sub"
LAYERS = 6

Array = np.ndarray[Any, Any]


class _Converter:
    def __init__(self, nodes: dict[str, Node]) -> None:
        self.nodes = nodes
        self.graph = Graph("ssdlite_mobilenet_v2")
        self.values: dict[str, str] = {GRAPH_INPUT: INPUT_NAME}
        self.relu6_min = self.graph.initializer("relu6_min", np.array(0.0, np.float32))
        self.relu6_max = self.graph.initializer("relu6_max", np.array(6.0, np.float32))

    def emit(self, name: str) -> str:
        if name not in self.values:
            self.values[name] = self._emit(self.nodes[name])
        return self.values[name]

    def _emit(self, node: Node) -> str:
        if node.op == "Identity":
            return self.emit(node.inputs[0])
        if node.op == "Relu6":
            clip = [self.emit(node.inputs[0]), self.relu6_min, self.relu6_max]
            return self.graph.node("Clip", clip)
        if node.op in ("Add", "AddV2"):
            return self.graph.node("Add", [self.emit(node.inputs[0]), self.emit(node.inputs[1])])
        if node.op in ("Conv2D", "DepthwiseConv2dNative"):
            return self._conv(node, None, None)
        if node.op == "BiasAdd":
            conv = self.nodes[node.inputs[0]]
            return self._conv(conv, None, constant(self.nodes, node.inputs[1]).astype(np.float64))
        if node.op in ("FusedBatchNorm", "FusedBatchNormV3"):
            gamma, beta, mean, var = (
                constant(self.nodes, i).astype(np.float64) for i in node.inputs[1:5]
            )
            scale = gamma / np.sqrt(var + node.attr_float("epsilon", 1e-3))
            return self._conv(self.nodes[node.inputs[0]], scale, beta - mean * scale)
        raise ValueError(f"unsupported op {node.op} at {node.name}")

    def _conv(self, conv: Node, scale: Array | None, bias: Array | None) -> str:
        if conv.op not in ("Conv2D", "DepthwiseConv2dNative"):
            raise ValueError(f"expected a convolution before bias/BatchNorm at {conv.name}")
        if conv.attr_bytes("data_format") not in (b"", b"NHWC"):
            raise ValueError(f"{conv.name}: only NHWC graphs are supported")
        weight = constant(self.nodes, conv.inputs[1]).astype(np.float64)
        kh, kw = weight.shape[:2]
        if conv.op == "Conv2D":
            weight, groups = weight.transpose(3, 2, 0, 1), 1  # HWIO -> OIHW
        else:  # HW C M -> (C*M) 1 H W
            channels, multiplier = weight.shape[2], weight.shape[3]
            weight = weight.transpose(2, 3, 0, 1).reshape(channels * multiplier, 1, kh, kw)
            groups = channels
        if scale is not None:
            weight = weight * scale[:, None, None, None]
        inputs = [self.emit(conv.inputs[0]), self.graph.initializer("w", weight.astype(np.float32))]
        if bias is not None:
            inputs.append(self.graph.initializer("b", bias.astype(np.float32)))
        strides = conv.attr_ints("strides")[1:3] or [1, 1]
        padding = conv.attr_bytes("padding")
        return self.graph.node(
            "Conv",
            inputs,
            auto_pad="SAME_UPPER" if padding == b"SAME" else "VALID",
            group=groups,
            kernel_shape=[kh, kw],
            strides=strides,
        )

    def flatten(self, name: str, width: int) -> str:
        """[N, A*width, H, W] -> [N, H*W*A, width], the order of the graph's anchors."""
        nhwc = self.graph.node("Transpose", [self.emit(name)], perm=[0, 2, 3, 1])
        shape = self.graph.initializer("shape", np.array([0, -1, width], np.int64))
        return self.graph.node("Reshape", [nhwc, shape])

    def build(self) -> bytes:
        g = self.graph
        g.input(INPUT_NAME, ["batch", 3, "height", "width"])
        boxes, scores = [], []
        classes = num_classes(self.nodes)
        for i in range(LAYERS):
            boxes.append(self.flatten(f"BoxPredictor_{i}/BoxEncodingPredictor/BiasAdd", 4))
            scores.append(self.flatten(f"BoxPredictor_{i}/ClassPredictor/BiasAdd", classes))
        g.node("Concat", boxes, BOXES_NAME, axis=1)
        logits = g.node("Concat", scores, axis=1)
        g.node("Sigmoid", [logits], SCORES_NAME)
        g.output(BOXES_NAME, ["batch", "anchors", 4])
        g.output(SCORES_NAME, ["batch", "anchors", classes])
        return g.to_model(doc="SSDLite MobileNetV2 (TF Object Detection API), BN folded")


def num_classes(nodes: dict[str, Node]) -> int:
    """Classes per anchor, background included: class channels / (box channels / 4)."""
    box = constant(nodes, "BoxPredictor_0/BoxEncodingPredictor/biases").size
    cls = constant(nodes, "BoxPredictor_0/ClassPredictor/biases").size
    return int(cls // (box // 4))


def build_onnx(frozen_graph: bytes) -> bytes:
    """Convert the frozen ``.pb``; input ``image`` [N,3,S,S] in [-1, 1], outputs
    ``box_encodings`` [N,anchors,4] and ``class_scores`` [N,anchors,classes] (sigmoid)."""
    nodes = load_graph(frozen_graph)
    try:
        return _Converter(nodes).build()
    except KeyError as exc:
        raise ValueError(f"not an SSD graph: node {exc.args[0]!r} is missing") from exc
