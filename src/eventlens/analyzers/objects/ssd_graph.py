"""SSDLite-MobileNetV2 (TensorFlow Object Detection API) as an ONNX graph.

Only the network is converted: from the preprocessed image to the raw box encodings and class
scores of the six SSD layers. Anchors, box decoding and non-maximum suppression (TensorFlow
while-loops in the frozen graph) are done in numpy by ``ssd``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from eventlens.convert import quantization

if TYPE_CHECKING:
    from eventlens.convert.tf_graph import TFGraph

INPUT_NAME = "image"
BOXES_NAME = "box_encodings"
SCORES_NAME = "class_scores"
#: The frozen graph's preprocessed image: (x * 2/255) - 1, which the caller does instead.
GRAPH_INPUT = "Preprocessor/sub"
LAYERS = 6


def num_classes(graph: TFGraph) -> int:
    """Classes per anchor, background included: class channels / (box channels / 4)."""
    box = graph.constant("BoxPredictor_0/BoxEncodingPredictor/biases").size
    cls = graph.constant("BoxPredictor_0/ClassPredictor/biases").size
    return int(cls // (box // 4))


def build_onnx(
    frozen_graph: bytes,
    ranges: Mapping[str, tuple[float, float]] | None = None,
    *,
    weights: quantization.WeightFormat = quantization.S7,
    expose_activations: bool = False,
) -> bytes:
    """Convert the frozen ``.pb``; input ``image`` [N,3,S,S] in [-1, 1], outputs
    ``box_encodings`` [N,anchors,4] and ``class_scores`` [N,anchors,classes] (sigmoid).

    ``ranges``: activation ranges for a static int8 graph (``tf_onnx``) whose weights are
    stored as ``weights``; float otherwise.
    ``expose_activations``: also output every activation an int8 graph would quantise, named
    after its TF node (to calibrate the ranges)."""
    # the converters are imported only to convert (not at a cold start, which opens the model)
    from eventlens.convert.onnx_writer import Graph
    from eventlens.convert.tf_graph import load_graphdef
    from eventlens.convert.tf_onnx import Converter

    graph = load_graphdef(frozen_graph)
    onnx = Graph("ssdlite_mobilenet_v2")
    onnx.input(INPUT_NAME, ["batch", 3, "height", "width"])
    convert = Converter(graph, onnx, {GRAPH_INPUT: INPUT_NAME}, ranges=ranges, weights=weights)
    try:
        classes = num_classes(graph)
    except ValueError as exc:
        raise ValueError(f"not an SSD graph: {exc}") from exc

    def flatten(name: str, width: int) -> str:
        """[N, A*width, H, W] -> [N, H*W*A, width], the order of the graph's anchors."""
        shape = onnx.initializer("shape", np.array([0, -1, width], np.int64))
        return onnx.node("Reshape", [convert.nhwc(name), shape])

    boxes, scores = [], []
    for i in range(LAYERS):
        boxes.append(flatten(f"BoxPredictor_{i}/BoxEncodingPredictor/BiasAdd", 4))
        scores.append(flatten(f"BoxPredictor_{i}/ClassPredictor/BiasAdd", classes))
    onnx.node("Concat", boxes, BOXES_NAME, axis=1)
    onnx.node("Sigmoid", [onnx.node("Concat", scores, axis=1)], SCORES_NAME)
    onnx.output(BOXES_NAME, ["batch", "anchors", 4])
    onnx.output(SCORES_NAME, ["batch", "anchors", classes])
    if expose_activations:
        for tf_name, value in convert.activations:
            onnx.output(onnx.node("Identity", [value], tf_name), ["n", "c", "h", "w"])
    return onnx.to_model(doc="SSDLite MobileNetV2 (TF Object Detection API), BN folded")
