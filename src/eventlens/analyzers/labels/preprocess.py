"""Image -> network input, exactly as the EfficientNet-Lite ImageNet weights expect."""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

RESIZE = 256  # shorter side, before the centre crop
CROP = 224


def resize_for(crop: int) -> int:
    """The shorter side before a centre crop of ``crop`` (the crop keeps 87.5 %, as in training)."""
    return round(crop * RESIZE / CROP)


def whole_input(image: Image.Image, side: int = CROP) -> np.ndarray[Any, np.dtype[np.float32]]:
    """The whole image squeezed to ``side`` x ``side`` (no crop), scaled to [-1, 1]; CHW."""
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    x = np.asarray(rgb.resize((side, side), Image.Resampling.BILINEAR), dtype=np.float32)
    return np.ascontiguousarray(((x - 127.5) / 127.5).transpose(2, 0, 1))


def to_input(image: Image.Image, crop: int = CROP) -> np.ndarray[Any, np.dtype[np.float32]]:
    """Resize the shorter side to 256 (bilinear), centre-crop 224 (or the same proportions for
    another ``crop``), scale to [-1, 1]; CHW."""
    side = resize_for(crop)
    w, h = image.size
    scale = side / min(w, h)
    rw, rh = round(w * scale), round(h * scale)
    left, top = round((rw - crop) / 2), round((rh - crop) / 2)
    # Resizing just the crop box equals resize-then-crop, but never materialises a huge
    # intermediate for extreme aspect ratios (a 1x20000 strip would become 256x5M).
    sx, sy = w / rw, h / rh
    box = (left * sx, top * sy, (left + crop) * sx, (top + crop) * sy)
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    resized = rgb.resize((crop, crop), Image.Resampling.BILINEAR, box=box)
    x = np.asarray(resized, dtype=np.float32)
    return np.ascontiguousarray(((x - 127.5) / 127.5).transpose(2, 0, 1))
