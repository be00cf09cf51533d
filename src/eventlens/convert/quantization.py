"""Static int8 quantisation arithmetic for the converted detectors (ONNX's QDQ form).

Activations: asymmetric uint8 over a calibrated (min, max) that includes 0, as ONNX Runtime's
own MinMax calibration does. Weights: symmetric int8 per output channel. Bias: int32 at the
input scale times each channel's weight scale, as integer convolutions expect.
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from typing import Any

import numpy as np

Array = np.ndarray[Any, Any]


def activation_params(low: float, high: float) -> tuple[float, int]:
    """(scale, zero point) of a uint8 activation covering [low, high] and 0."""
    low, high = min(low, 0.0), max(high, 0.0)
    scale = (high - low) / 255.0 or 1.0
    return float(scale), int(np.clip(round(-low / scale), 0, 255))


def weights_per_channel(weight: Array) -> tuple[Array, Array]:
    """int8 weights [out, ...] and one float scale per output channel (max |w| -> 127)."""
    flat = weight.reshape(weight.shape[0], -1)
    scales = np.abs(flat).max(axis=1) / 127.0
    scales = np.where(scales > 0, scales, 1.0)
    shape = (-1,) + (1,) * (weight.ndim - 1)
    quantized = np.clip(np.round(weight / scales.reshape(shape)), -127, 127).astype(np.int8)
    return quantized, scales


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
