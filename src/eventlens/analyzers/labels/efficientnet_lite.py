"""EfficientNet-Lite0/1/2 as ONNX graphs, built from ``efficientnet-lite-pytorch`` state dicts.

Architecture and key names follow ``efficientnet_lite_pytorch`` (lukemelas' EfficientNet-PyTorch
with the Lite variants): no squeeze-excite, ReLU6 everywhere, stem 32 and head 1280 channels,
TensorFlow "SAME" padding for the variant's input size. BatchNorm (eps 1e-3) is folded into the
convs. Lite1 and Lite2 scale the channels and repeats of Lite0's stages; the builder reads each
block's channels, kernel and repeats from the weights and takes the strides from Lite0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from eventlens.convert.onnx_writer import Graph

INPUT_SIZE = 224
INPUT_NAME = "image"
OUTPUT_NAME = "probabilities"
LOGITS_NAME = "logits"
BN_EPS = 1e-3
NUM_CLASSES = 1000


@dataclass(frozen=True, slots=True)
class Stage:
    repeats: int
    kernel: int
    stride: int
    expand: int
    in_ch: int
    out_ch: int


# 'r1_k3_s11_e1_i32_o16', ... from efficientnet_lite_pytorch.utils.efficientnet_lite; at
# width/depth 1.0 round_filters/round_repeats leave them unchanged.
LITE0_STAGES = (
    Stage(1, 3, 1, 1, 32, 16),
    Stage(2, 3, 2, 6, 16, 24),
    Stage(2, 5, 2, 6, 24, 40),
    Stage(3, 3, 2, 6, 40, 80),
    Stage(3, 5, 1, 6, 80, 112),
    Stage(4, 5, 2, 6, 112, 192),
    Stage(1, 3, 1, 6, 192, 320),
)

Array = np.ndarray[Any, Any]
#: Network input side per variant (the weights were trained at these resolutions).
INPUT_SIZES = {"lite0": 224, "lite1": 240, "lite2": 260}


def stages_of(state: dict[str, Array]) -> tuple[Stage, ...]:
    """The stages of a Lite variant from its weights: consecutive blocks with the same output
    channels form a stage; strides are Lite0's (the variants scale only widths and repeats)."""
    blocks = []
    i = 0
    while f"_blocks.{i}._project_conv.weight" in state:
        out_ch, mid_ch = state[f"_blocks.{i}._project_conv.weight"].shape[:2]
        kernel = state[f"_blocks.{i}._depthwise_conv.weight"].shape[-1]
        blocks.append((int(out_ch), int(mid_ch), int(kernel)))
        i += 1
    stages: list[Stage] = []
    in_ch = int(state["_conv_stem.weight"].shape[0])
    for out_ch, mid_ch, kernel in blocks:
        if stages and stages[-1].out_ch == out_ch:
            stages[-1] = replace(stages[-1], repeats=stages[-1].repeats + 1)
            continue
        if len(stages) == len(LITE0_STAGES):
            raise ValueError("the weights have more stages than EfficientNet-Lite")
        stride = LITE0_STAGES[len(stages)].stride
        stages.append(Stage(1, kernel, stride, mid_ch // in_ch, in_ch, out_ch))
        in_ch = out_ch
    return tuple(stages)


def same_pads(size: int, kernel: int, stride: int) -> tuple[list[int], int]:
    """TF "SAME" padding as ONNX ``pads`` (extra pixel at the end) and the output size."""
    out = math.ceil(size / stride)
    pad = max((out - 1) * stride + kernel - size, 0)
    return [pad // 2, pad // 2, pad - pad // 2, pad - pad // 2], out


class _Builder:
    def __init__(self, state: dict[str, Array], input_size: int = INPUT_SIZE) -> None:
        self.state = state
        self.input_size = input_size
        self.used: set[str] = set()
        self.graph = Graph("efficientnet_lite")
        self.relu6_min = self.graph.initializer("relu6_min", np.array(0.0, np.float32))
        self.relu6_max = self.graph.initializer("relu6_max", np.array(6.0, np.float32))

    def take(self, key: str) -> Array:
        self.used.add(key)
        return self.state[key].astype(np.float64)

    def conv_bn(
        self,
        x: str,
        conv: str,
        bn: str,
        size: int,
        stride: int = 1,
        groups: int = 1,
        relu6: bool = True,
    ) -> tuple[str, int]:
        weight = self.take(f"{conv}.weight")
        gamma, beta = self.take(f"{bn}.weight"), self.take(f"{bn}.bias")
        mean, var = self.take(f"{bn}.running_mean"), self.take(f"{bn}.running_var")
        self.used.add(f"{bn}.num_batches_tracked")
        scale = gamma / np.sqrt(var + BN_EPS)
        folded = (weight * scale[:, None, None, None]).astype(np.float32)
        w = self.graph.initializer(f"{conv}.w", folded)
        b = self.graph.initializer(f"{conv}.b", (beta - mean * scale).astype(np.float32))
        kernel = weight.shape[-1]
        pads, out_size = same_pads(size, kernel, stride)
        y = self.graph.node(
            "Conv",
            [x, w, b],
            group=groups,
            kernel_shape=[kernel, kernel],
            pads=pads,
            strides=[stride, stride],
        )
        if relu6:
            y = self.graph.node("Clip", [y, self.relu6_min, self.relu6_max])
        return y, out_size

    def block(
        self, x: str, i: int, stage: Stage, in_ch: int, stride: int, size: int
    ) -> tuple[str, int]:
        p = f"_blocks.{i}"
        y = x
        if stage.expand != 1:
            y, _ = self.conv_bn(y, f"{p}._expand_conv", f"{p}._bn0", size)
        channels = in_ch * stage.expand
        y, size = self.conv_bn(y, f"{p}._depthwise_conv", f"{p}._bn1", size, stride, channels)
        y, _ = self.conv_bn(y, f"{p}._project_conv", f"{p}._bn2", size, relu6=False)
        if stride == 1 and in_ch == stage.out_ch:
            y = self.graph.node("Add", [y, x])
        return y, size

    def build(self) -> bytes:
        g = self.graph
        x = g.input(INPUT_NAME, ["batch", 3, self.input_size, self.input_size])
        x, size = self.conv_bn(x, "_conv_stem", "_bn0", self.input_size, stride=2)
        i = 0
        for stage in stages_of(self.state):
            for r in range(stage.repeats):
                in_ch = stage.in_ch if r == 0 else stage.out_ch
                stride = stage.stride if r == 0 else 1
                x, size = self.block(x, i, stage, in_ch, stride, size)
                i += 1
        x, _ = self.conv_bn(x, "_conv_head", "_bn1", size)
        x = g.node("GlobalAveragePool", [x])
        x = g.node("Flatten", [x], axis=1)
        fc_w = g.initializer("_fc.weight", self.take("_fc.weight").astype(np.float32))
        fc_b = g.initializer("_fc.bias", self.take("_fc.bias").astype(np.float32))
        logits = g.node("Gemm", [x, fc_w, fc_b], LOGITS_NAME, transB=1)
        g.node("Softmax", [logits], OUTPUT_NAME, axis=1)
        g.output(OUTPUT_NAME, ["batch", NUM_CLASSES])
        g.output(LOGITS_NAME, ["batch", NUM_CLASSES])
        unused = set(self.state) - self.used
        if unused:
            raise ValueError(f"state dict has keys the graph does not use: {sorted(unused)}")
        return g.to_model(doc="EfficientNet-Lite, ImageNet-1k, BatchNorm folded")


def build_onnx(state: dict[str, Array], input_size: int = INPUT_SIZE) -> bytes:
    """Serialise EfficientNet-Lite with these weights; input ``image`` [N,3,S,S] (S = 224 for
    Lite0, 240 Lite1, 260 Lite2), outputs ``probabilities`` and ``logits`` [N,1000]."""
    try:
        return _Builder(state, input_size).build()
    except KeyError as exc:
        raise ValueError(f"state dict is missing {exc.args[0]!r}") from exc
