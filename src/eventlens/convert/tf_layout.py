"""TensorFlow graphs that onnx-tf exported from PyTorch -> ONNX, without their transposes.

Such graphs keep PyTorch's NCHW tensors and wrap every convolution, pooling and resize (NHWC
in TensorFlow) in a pair of ``Transpose`` ops. Here each TF tensor's ONNX value carries a
``layout``, the axis permutation from the TF tensor to the ONNX value (ONNX axis ``i`` is TF
axis ``layout[i]``): a TF ``Transpose`` only changes the layout and emits nothing, and a node
that needs a given layout (a convolution wants the NCHW form of its NHWC input) gets a
``Transpose`` only where the layouts differ, which in onnx-tf's graphs is nowhere. Float graphs
only (``tf_onnx.Converter`` does the NHWC graphs, and int8).

Ops: Identity, Transpose, Conv2D (a following ``Add`` of a constant bias folded in),
Add/AddV2, LeakyRelu, Relu, Sigmoid, Pad/PadV2, MaxPool, ConcatV2, ResizeBilinear.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from eventlens.convert.onnx_writer import Graph
from eventlens.convert.tf_graph import Node, TFGraph

Array = np.ndarray[Any, Any]
Layout = tuple[int, ...]
#: the ONNX (NCHW) form of a TF NHWC tensor: ONNX axes N, C, H, W are TF axes 0, 3, 1, 2
NCHW_OF_NHWC: Layout = (0, 3, 1, 2)
_ELEMENTWISE = {"Relu": "Relu", "Sigmoid": "Sigmoid"}


@dataclass(frozen=True, slots=True)
class Value:
    """An emitted TF tensor: the ONNX value holding it, transposed by ``layout``."""

    name: str
    layout: Layout


def identity(rank: int) -> Layout:
    return tuple(range(rank))


def _inverse(perm: Layout) -> Layout:
    out = [0] * len(perm)
    for i, axis in enumerate(perm):
        out[axis] = i
    return tuple(out)


class LayoutConverter:
    """Emits ONNX nodes for the TF nodes a requested output depends on, each once."""

    def __init__(self, graph: TFGraph, onnx: Graph, inputs: dict[str, Value]) -> None:
        """``inputs`` maps TF node names to the ONNX values (and their layouts) replacing them."""
        self.tf = graph
        self.onnx = onnx
        self.values: dict[str, Value] = dict(inputs)
        self._transposed: dict[tuple[str, Layout], str] = {}

    def emit(self, name: str) -> Value:
        if name not in self.values:
            node = self.tf.nodes.get(name)
            if node is None:
                raise ValueError(f"the graph has no node {name!r}")
            self.values[name] = self._emit(node)
        return self.values[name]

    def as_layout(self, name: str, layout: Layout) -> str:
        """The ONNX value of TF node ``name`` in ``layout`` (a Transpose only if needed)."""
        value = self.emit(name)
        if len(layout) != len(value.layout):
            raise ValueError(f"{name}: rank {len(value.layout)}, asked for layout {layout}")
        inverse = _inverse(value.layout)
        perm = tuple(inverse[axis] for axis in layout)
        if perm == identity(len(perm)):
            return value.name
        key = (value.name, perm)
        if key not in self._transposed:
            self._transposed[key] = self.onnx.node("Transpose", [value.name], perm=list(perm))
        return self._transposed[key]

    def _emit(self, node: Node) -> Value:
        op, inputs = node.op, node.inputs
        if op == "Identity":
            return self.emit(inputs[0])
        if op == "Transpose":
            value = self.emit(inputs[0])
            inverse = _inverse(tuple(int(a) for a in self.tf.constant(inputs[1])))
            return Value(value.name, tuple(inverse[axis] for axis in value.layout))
        if op in _ELEMENTWISE or op == "LeakyRelu":
            value = self.emit(inputs[0])
            if op == "LeakyRelu":
                out = self.onnx.node("LeakyRelu", [value.name], alpha=node.number("alpha", 0.2))
            else:
                out = self.onnx.node(_ELEMENTWISE[op], [value.name])
            return Value(out, value.layout)
        if op in ("Add", "AddV2"):
            return self._add(node)
        if op == "Conv2D":
            return self._conv(node, bias=None)
        if op in ("Pad", "PadV2"):
            return self._pad(node)
        if op == "MaxPool":
            source = self.as_layout(inputs[0], NCHW_OF_NHWC)
            out = self.onnx.node(
                "MaxPool",
                [source],
                auto_pad=_auto_pad(node),
                kernel_shape=_spatial(node, "ksize"),
                strides=_spatial(node, "strides"),
            )
            return Value(out, NCHW_OF_NHWC)
        if op == "ConcatV2":
            return self._concat(node)
        if op == "ResizeBilinear":
            return self._resize(node)
        raise ValueError(f"unsupported op {op} at {node.name}")

    def _is_constant(self, name: str) -> bool:
        try:
            self.tf.constant(name)
        except ValueError:
            return False
        return True

    def _add(self, node: Node) -> Value:
        left, right = node.inputs
        if self._is_constant(left):
            left, right = right, left
        if self._is_constant(right):
            source = self.tf.nodes.get(left)
            bias = self.tf.constant(right)
            if source is not None and source.op == "Conv2D" and bias.ndim == 1:
                return self._conv(source, bias=bias)
            value = self.emit(left)
            rank = len(value.layout)
            broadcast = bias.reshape((1,) * (rank - bias.ndim) + bias.shape)
            constant = np.ascontiguousarray(broadcast.transpose(value.layout), np.float32)
            out = self.onnx.node("Add", [value.name, self.onnx.initializer("c", constant)])
            return Value(out, value.layout)
        value = self.emit(left)
        out = self.onnx.node("Add", [value.name, self.as_layout(right, value.layout)])
        return Value(out, value.layout)

    def _conv(self, conv: Node, bias: Array | None) -> Value:
        if conv.text("data_format") not in (b"", b"NHWC"):
            raise ValueError(f"{conv.name}: only NHWC convolutions are supported")
        if any(d != 1 for d in conv.ints("dilations")):
            raise ValueError(f"{conv.name}: dilated convolutions are not supported")
        weight = self.tf.constant(conv.inputs[1])  # H W I O
        inputs = [
            self.as_layout(conv.inputs[0], NCHW_OF_NHWC),
            self.onnx.initializer("w", np.ascontiguousarray(weight.transpose(3, 2, 0, 1), "f4")),
        ]
        if bias is not None:
            inputs.append(self.onnx.initializer("b", np.asarray(bias, np.float32)))
        out = self.onnx.node(
            "Conv",
            inputs,
            auto_pad=_auto_pad(conv),
            kernel_shape=list(weight.shape[:2]),
            strides=_spatial(conv, "strides"),
        )
        return Value(out, NCHW_OF_NHWC)

    def _pad(self, node: Node) -> Value:
        value = self.emit(node.inputs[0])
        pads = self.tf.constant(node.inputs[1]).astype(np.int64)  # [rank, 2] in TF axes
        onnx_pads = [int(pads[a, side]) for side in (0, 1) for a in value.layout]
        inputs = [value.name, self.onnx.initializer("pads", np.array(onnx_pads, np.int64))]
        if node.op == "PadV2":
            fill = np.asarray(self.tf.constant(node.inputs[2]), np.float32).reshape(())
            inputs.append(self.onnx.initializer("pad_value", fill))
        return Value(self.onnx.node("Pad", inputs), value.layout)

    def _concat(self, node: Node) -> Value:
        *parts, axis_name = node.inputs
        first = self.emit(parts[0])
        rank = len(first.layout)
        axis = int(self.tf.constant(axis_name)) % rank
        names = [self.as_layout(p, first.layout) for p in parts]
        out = self.onnx.node("Concat", names, axis=_inverse(first.layout)[axis])
        return Value(out, first.layout)

    def _resize(self, node: Node) -> Value:
        """TF's bilinear resize to a constant size, as ONNX ``Resize`` (any batch)."""
        if bool(node.attrs.get("align_corners", False)):
            raise ValueError(f"{node.name}: align_corners is not supported")
        half_pixel = bool(node.attrs.get("half_pixel_centers", False))
        source = self.as_layout(node.inputs[0], NCHW_OF_NHWC)
        size = self.tf.constant(node.inputs[1]).astype(np.int64).reshape(2)
        shape = self.onnx.node("Shape", [source])
        starts = self.onnx.initializer("starts", np.array([0], np.int64))
        ends = self.onnx.initializer("ends", np.array([2], np.int64))
        batch_channels = self.onnx.node("Slice", [shape, starts, ends])
        sizes = self.onnx.node(
            "Concat", [batch_channels, self.onnx.initializer("size", size)], axis=0
        )
        out = self.onnx.node(
            "Resize",
            [source, "", "", sizes],
            mode="linear",
            coordinate_transformation_mode="half_pixel" if half_pixel else "asymmetric",
        )
        return Value(out, NCHW_OF_NHWC)


def _auto_pad(node: Node) -> str:
    return "SAME_UPPER" if node.text("padding") == b"SAME" else "VALID"


def _spatial(node: Node, key: str) -> list[int]:
    """The H, W entries of an NHWC ``ksize``/``strides`` attribute (1, 1 when absent)."""
    return node.ints(key)[1:3] or [1, 1]
