"""Static int8 quantisation arithmetic for the converted detectors (ONNX's QDQ form).

Activations: asymmetric uint8 over a calibrated (min, max) that includes 0, as ONNX Runtime's
own MinMax calibration does. Weights: symmetric per output channel, in one of the
``WEIGHT_FORMATS``. Bias: int32 at the input scale times each channel's weight scale, as
integer convolutions expect.

Why 7-bit weights by default: x86 CPUs without VNNI (AVX2-only, most laptops and many servers)
multiply uint8 activations by int8 weights with ``vpmaddubsw``, which adds each two adjacent
products into a *saturating* int16. With weights up to 127 such a sum reaches 2 x 255 x 127 =
64,770 and is clipped at 32,767: the same graph then scores differently on those CPUs (it put
``Person`` on a coffee cup). With |w| <= 63 no pair can exceed 32,130, on any CPU
(``max_pair_sum``; ONNX Runtime's quantisation docs call this ``reduce_range``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np

Array = np.ndarray[Any, Any]


def activation_params(low: float, high: float) -> tuple[float, int]:
    """(scale, zero point) of a uint8 activation covering [low, high] and 0."""
    low, high = min(low, 0.0), max(high, 0.0)
    scale = (high - low) / 255.0 or 1.0
    return float(scale), int(np.clip(round(-low / scale), 0, 255))


#: The largest value of x86's saturating int16 pair sum (``vpmaddubsw``).
INT16_MAX = 32767
#: The largest uint8 activation.
UINT8_MAX = 255


@dataclass(frozen=True, slots=True)
class WeightFormat:
    """How an int8 graph stores its convolution weights."""

    name: str
    #: the largest |quantised weight|
    limit: int
    #: stored as uint8 around a zero point of 128 (ONNX Runtime then uses its U8U8 kernels,
    #: which widen to int16 before multiplying) instead of int8 around 0
    unsigned: bool = False
    #: the largest |quantised weight| of depthwise convolutions, whose kernels widen both
    #: operands to int16 and sum in int32 on every CPU (None: ``limit``)
    depthwise_limit: int | None = None

    def limit_for(self, depthwise: bool) -> int:
        return self.depthwise_limit or self.limit if depthwise else self.limit

    @property
    def zero_point(self) -> int:
        return 128 if self.unsigned else 0

    @property
    def dtype(self) -> type[np.generic]:
        return np.uint8 if self.unsigned else np.int8


#: Full-range int8: fastest kernels, but saturates on x86 CPUs without VNNI (see above).
S8 = WeightFormat("s8", 127)
#: 7-bit weights in int8: no pair of products can saturate int16, on any CPU.
S7 = WeightFormat("s7", 63)
#: 7-bit weights where products are paired in int16, 8-bit in depthwise convolutions.
S7_DW8 = WeightFormat("s7dw8", 63, depthwise_limit=127)
#: uint8 weights (U8U8 kernels): full precision, no saturation, slower on x86.
U8 = WeightFormat("u8", 127, unsigned=True)
WEIGHT_FORMATS = {f.name: f for f in (S8, S7, S7_DW8, U8)}


def weights_per_channel(
    weight: Array, fmt: WeightFormat = S8, *, depthwise: bool = False
) -> tuple[Array, Array]:
    """Quantised weights [out, ...] in ``fmt`` (zero point ``fmt.zero_point``) and one float
    scale per output channel (max |w| -> ``fmt.limit_for(depthwise)``)."""
    limit = fmt.limit_for(depthwise)
    flat = weight.reshape(weight.shape[0], -1)
    scales = np.abs(flat).max(axis=1) / float(limit)
    scales = np.where(scales > 0, scales, 1.0)
    shape = (-1,) + (1,) * (weight.ndim - 1)
    steps = np.clip(np.round(weight / scales.reshape(shape)), -limit, limit)
    return (steps + fmt.zero_point).astype(fmt.dtype), scales


def max_pair_sum(quantized: Array, fmt: WeightFormat) -> int:
    """The largest |a1 w1 + a2 w2| that uint8 activations (0..255) can make with any two
    weights of one output channel: what a saturating int16 pair sum must hold. Weights of
    U8U8 graphs are widened to int16 before multiplying, so only signed formats can overflow."""
    steps = quantized.reshape(quantized.shape[0], -1).astype(np.int64) - fmt.zero_point
    top_two = -np.sort(-np.abs(steps), axis=1)[:, :2]
    if top_two.shape[1] < 2:
        top_two = np.pad(top_two, ((0, 0), (0, 1)))
    return int(UINT8_MAX * top_two.sum(axis=1).max()) if steps.size else 0


def bias_int32(bias: Array, scales: Array) -> Array:
    limit = np.iinfo(np.int32).max
    return np.clip(np.round(np.asarray(bias, np.float64) / scales), -limit, limit).astype(np.int32)


def _table(name: str) -> str:
    return (resources.files("eventlens") / "data" / name).read_text("utf-8")


def table_digest(name: str) -> str:
    return hashlib.sha256(_table(name).encode()).hexdigest()[:8]


def load_ranges(name: str) -> dict[str, tuple[float, float]]:
    """A calibration table from ``eventlens/data`` ({"ranges": {node: [min, max]}})."""
    text = _table(name)
    return {node: (float(lo), float(hi)) for node, (lo, hi) in json.loads(text)["ranges"].items()}
