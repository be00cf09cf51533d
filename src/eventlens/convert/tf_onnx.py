"""TensorFlow convolutional graphs (NHWC) -> ONNX (NCHW), op by op, for small detectors.

Covers what SSD/MobileNet-style, BlazeFace and MoveNet graphs use: Conv2D,
DepthwiseConv2dNative and TF.js's fused forms of both (BatchNorm and bias folded into the
convolution), ReLU/ReLU6, Add, MaxPool, Pad, Reshape (done in NHWC order, as TensorFlow would)
and a Keras ``UpSampling2D`` (a bilinear resize to twice the input's size, float graphs only).
TF "SAME" padding becomes ``SAME_UPPER``, so the graph accepts any input size.

Given activation ``ranges`` (calibrated on photos, see ``quantization``), it emits a static
int8 graph in ONNX's QDQ form instead: weights per output channel in a ``WeightFormat``
(7-bit by default, so that no CPU's kernels saturate), activations uint8
through QuantizeLinear/DequantizeLinear pairs, which ONNX Runtime fuses into integer kernels.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from eventlens.convert import quantization
from eventlens.convert.onnx_writer import Graph
from eventlens.convert.tf_graph import Node, TFGraph

Array = np.ndarray[Any, Any]
_CONVS = ("Conv2D", "DepthwiseConv2dNative", "_FusedConv2D", "FusedDepthwiseConv2dNative")
_DEPTHWISE = ("DepthwiseConv2dNative", "FusedDepthwiseConv2dNative")
_FUSED = ("_FusedConv2D", "FusedDepthwiseConv2dNative")
_ACTIVATIONS = ("Relu", "Relu6")


class Converter:
    """Emits ONNX nodes for the TF nodes a requested output depends on, each once."""

    def __init__(
        self,
        graph: TFGraph,
        onnx: Graph,
        inputs: dict[str, str],
        *,
        ranges: Mapping[str, tuple[float, float]] | None = None,
        weights: quantization.WeightFormat = quantization.S7,
    ) -> None:
        """``inputs`` maps TF node names to ONNX graph inputs (NCHW) that replace them.
        ``ranges``: the (min, max) of each activation (by TF node name) for an int8 graph;
        ``weights``: how that graph stores its weights."""
        self.tf = graph
        self.onnx = onnx
        self.ranges = ranges
        self.weight_format = weights
        #: (TF node name, ONNX value) of every activation an int8 graph quantises, in order
        self.activations: list[tuple[str, str]] = []
        #: the scale of each ONNX value that is the output of a DequantizeLinear
        self._scales: dict[str, float] = {}
        self._zero: str | None = None
        self._six: str | None = None
        self._consumers: dict[str, set[str]] | None = None
        self.values = {tf: self._quantize(tf, value) for tf, value in inputs.items()}

    def emit(self, name: str) -> str:
        if name not in self.values:
            node = self.tf.nodes.get(name)
            if node is None:
                raise ValueError(f"the graph has no node {name!r}")
            value = self._emit(node)
            if self._is_activation(node):
                value = self._quantize(name, value)
            self.values[name] = value
        return self.values[name]

    def _is_activation(self, node: Node) -> bool:
        """Whether an int8 graph quantises this node's output: activations, sums, and
        convolutions whose output is not just fed to an activation or a folded bias/BN."""
        if node.op in (*_ACTIVATIONS, "Add", "AddV2"):
            return True
        if node.op not in (*_CONVS, "BiasAdd", "FusedBatchNorm", "FusedBatchNormV3"):
            return False
        if self._consumers is None:
            self._consumers = {}
            for other in self.tf.nodes.values():
                for source in other.inputs:
                    self._consumers.setdefault(source, set()).add(other.op)
        folded = {*_ACTIVATIONS, "BiasAdd", "FusedBatchNorm", "FusedBatchNormV3"}
        return not self._consumers.get(node.name, set()) <= folded

    def _quantize(self, name: str, value: str) -> str:
        """``value`` through a QuantizeLinear/DequantizeLinear pair when its range is known."""
        self.activations.append((name, value))
        if self.ranges is None or name not in self.ranges:
            return value
        scale, zero_point = quantization.activation_params(*self.ranges[name])
        scale_value = self.onnx.initializer("scale", np.array(scale, np.float32))
        zero_value = self.onnx.initializer("zero_point", np.array(zero_point, np.uint8))
        quantized = self.onnx.node("QuantizeLinear", [value, scale_value, zero_value])
        out = self.onnx.node("DequantizeLinear", [quantized, scale_value, zero_value])
        self._scales[out] = scale
        return out

    def nhwc(self, name: str) -> str:
        """The value of a TF node transposed back to TensorFlow's NHWC layout."""
        return self.onnx.node("Transpose", [self.emit(name)], perm=[0, 2, 3, 1])

    def _emit(self, node: Node) -> str:
        op, inputs = node.op, node.inputs
        if op == "Identity":
            return self.emit(inputs[0])
        if op == "Relu":
            return self.onnx.node("Relu", [self.emit(inputs[0])])
        if op == "Relu6":
            return self._relu6(self.emit(inputs[0]))
        if op in ("Add", "AddV2"):
            return self.onnx.node("Add", [self.emit(inputs[0]), self.emit(inputs[1])])
        if op in _CONVS:
            return self._conv(node)
        if op == "BiasAdd":
            return self._conv(self.tf.nodes[inputs[0]], bias=self.tf.constant(inputs[1]))
        if op in ("FusedBatchNorm", "FusedBatchNormV3"):
            gamma, beta, mean, var = (self.tf.constant(i).astype(np.float64) for i in inputs[1:5])
            scale = gamma / np.sqrt(var + node.number("epsilon", 1e-3))
            return self._conv(self.tf.nodes[inputs[0]], scale=scale, bias=beta - mean * scale)
        if op == "MaxPool":
            return self.onnx.node(
                "MaxPool",
                [self.emit(inputs[0])],
                auto_pad=self._auto_pad(node),
                kernel_shape=node.ints("ksize")[1:3],
                strides=node.ints("strides")[1:3],
            )
        if op == "Pad":
            pads = self.tf.constant(inputs[1]).astype(np.int64)  # NHWC [[begin, end], ...]
            order = [0, 3, 1, 2]
            onnx_pads = [int(pads[a, 0]) for a in order] + [int(pads[a, 1]) for a in order]
            pads_value = self.onnx.initializer("pads", np.array(onnx_pads, np.int64))
            return self.onnx.node("Pad", [self.emit(inputs[0]), pads_value])
        if op == "Reshape":
            shape = self.tf.constant(inputs[1]).astype(np.int64).copy()
            if shape.size and shape[0] == 1:  # graphs exported for batch 1: keep any batch
                shape[0] = 0
            target = self.onnx.initializer("shape", shape)
            return self.onnx.node("Reshape", [self.nhwc(inputs[0]), target])
        if op == "ResizeBilinear":
            return self._upsample(node)
        raise ValueError(f"unsupported op {op} at {node.name}")

    def _upsample(self, node: Node) -> str:
        """Keras ``UpSampling2D(interpolation="bilinear")``: TF's resize to the input's height
        and width times a constant 2 (``Shape`` -> ``StridedSlice`` -> ``Mul``), as an ONNX
        ``Resize`` by scales, so any input size works."""
        size = self.tf.nodes.get(node.inputs[1])
        factor = self.tf.constant(size.inputs[1]) if size is not None and size.op == "Mul" else None
        if factor is None or factor.tolist() != [2, 2]:
            raise ValueError(f"{node.name}: only a resize to twice the input size is supported")
        if bool(node.attrs.get("align_corners", False)) or self.ranges is not None:
            raise ValueError(f"{node.name}: align_corners / int8 resizes are not supported")
        half_pixel = bool(node.attrs.get("half_pixel_centers", False))
        scales = self.onnx.initializer("scales", np.array([1.0, 1.0, 2.0, 2.0], np.float32))
        return self.onnx.node(
            "Resize",
            [self.emit(node.inputs[0]), "", scales],
            mode="linear",
            coordinate_transformation_mode="half_pixel" if half_pixel else "asymmetric",
        )

    def _relu6(self, value: str) -> str:
        if self._zero is None or self._six is None:
            self._zero = self.onnx.initializer("relu6_min", np.array(0.0, np.float32))
            self._six = self.onnx.initializer("relu6_max", np.array(6.0, np.float32))
        return self.onnx.node("Clip", [value, self._zero, self._six])

    @staticmethod
    def _auto_pad(node: Node) -> str:
        return "SAME_UPPER" if node.text("padding") == b"SAME" else "VALID"

    def _conv(self, conv: Node, scale: Array | None = None, bias: Array | None = None) -> str:
        if conv.op not in _CONVS:
            raise ValueError(f"expected a convolution before bias/BatchNorm at {conv.name}")
        if conv.text("data_format") not in (b"", b"NHWC"):
            raise ValueError(f"{conv.name}: only NHWC graphs are supported")
        if any(d != 1 for d in conv.ints("dilations")):
            raise ValueError(f"{conv.name}: dilated convolutions are not supported")
        weight = self.tf.constant(conv.inputs[1]).astype(np.float64)
        kh, kw = weight.shape[:2]
        if conv.op in _DEPTHWISE:  # H W C M -> (C*M) 1 H W
            channels, multiplier = weight.shape[2], weight.shape[3]
            weight = weight.transpose(2, 3, 0, 1).reshape(channels * multiplier, 1, kh, kw)
            groups = channels
        else:  # H W I O -> O I H W
            weight, groups = weight.transpose(3, 2, 0, 1), 1
        activation = None
        if conv.op in _FUSED:  # TF.js: conv + BiasAdd [+ Relu / Relu6]
            fused = [op.decode() for op in conv.attrs.get("fused_ops", [])]
            if not fused or fused[0] != "BiasAdd" or len(fused) > 2:
                raise ValueError(f"{conv.name}: unsupported fused ops {fused}")
            bias = self.tf.constant(conv.inputs[2]).astype(np.float64)
            activation = fused[1] if len(fused) == 2 else None
        if scale is not None:
            weight = weight * scale[:, None, None, None]
        source = self.emit(conv.inputs[0])
        if source in self._scales:  # an int8 graph: integer weights and bias
            scale_in = self._scales[source]
            inputs = [source, *self._int8_weights(weight, bias, scale_in, depthwise=groups > 1)]
        else:
            inputs = [source, self.onnx.initializer("w", weight.astype(np.float32))]
            if bias is not None:
                inputs.append(self.onnx.initializer("b", np.asarray(bias, np.float32)))
        out = self.onnx.node(
            "Conv",
            inputs,
            auto_pad=self._auto_pad(conv),
            group=groups,
            kernel_shape=[kh, kw],
            strides=conv.ints("strides")[1:3] or [1, 1],
        )
        if activation == "Relu":
            return self.onnx.node("Relu", [out])
        if activation == "Relu6":
            return self._relu6(out)
        if activation is not None:
            raise ValueError(f"{conv.name}: unsupported activation {activation}")
        return out

    def _int8_weights(
        self, weight: Array, bias: Array | None, input_scale: float, *, depthwise: bool
    ) -> list[str]:
        """Dequantized int8 weights (per output channel) and int32 bias, as ONNX values."""
        fmt = self.weight_format
        quantized, scales = quantization.weights_per_channel(weight, fmt, depthwise=depthwise)
        scale_value = self.onnx.initializer("w_scale", scales.astype(np.float32))
        zeros = self.onnx.initializer("w_zero", np.full(scales.size, fmt.zero_point, fmt.dtype))
        w = self.onnx.initializer("w", quantized)
        values = [self.onnx.node("DequantizeLinear", [w, scale_value, zeros], axis=0)]
        if bias is not None:
            bias_scales = (scales * input_scale).astype(np.float32)
            b = self.onnx.initializer("b", quantization.bias_int32(bias, bias_scales))
            b_scale = self.onnx.initializer("b_scale", bias_scales)
            b_zero = self.onnx.initializer("b_zero", np.zeros(scales.size, np.int32))
            values.append(self.onnx.node("DequantizeLinear", [b, b_scale, b_zero], axis=0))
        return values
