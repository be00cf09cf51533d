"""SSD post-processing in numpy: anchors, box decoding, per-class non-maximum suppression.

Follows the TensorFlow Object Detection API's ``ssd_anchor_generator`` defaults (6 layers,
scales 0.2 .. 0.95, aspect ratios 1, 2, 1/2, 3, 1/3 plus an interpolated square box, 3 boxes in
the lowest layer) and its Faster R-CNN box coder (scale factors 10, 10, 5, 5).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from eventlens.analyzers.boxes import non_maximum_suppression

Array = np.ndarray[Any, Any]

MIN_SCALE, MAX_SCALE = 0.2, 0.95
ASPECT_RATIOS = (1.0, 2.0, 0.5, 3.0, 0.3333)
SCALE_FACTORS = (10.0, 10.0, 5.0, 5.0)
LAYERS = 6


@dataclass(frozen=True, slots=True)
class Detection:
    """A box as ratios of the image: (left, top, right, bottom), with its class and score."""

    box: tuple[float, float, float, float]
    class_id: int
    score: float


def feature_map_sizes(size: int) -> list[int]:
    """MobileNetV2 at output strides 16 and 32, then four stride-2 extra layers (SAME)."""
    sizes = [math.ceil(size / 16), math.ceil(size / 32)]
    while len(sizes) < LAYERS:
        sizes.append(math.ceil(sizes[-1] / 2))
    return sizes


@lru_cache(maxsize=8)
def anchors(size: int) -> Array:
    """[anchors, 4] as (y_center, x_center, height, width), in the network's output order."""
    scales = [MIN_SCALE + (MAX_SCALE - MIN_SCALE) * i / (LAYERS - 1) for i in range(LAYERS)]
    scales.append(1.0)
    out = []
    for layer, grid in enumerate(feature_map_sizes(size)):
        scale, next_scale = scales[layer], scales[layer + 1]
        if layer == 0:
            specs = [(0.1, 1.0), (scale, 2.0), (scale, 0.5)]
        else:
            specs = [(scale, ratio) for ratio in ASPECT_RATIOS]
            specs.append((math.sqrt(scale * next_scale), 1.0))
        heights = np.array([s / math.sqrt(r) for s, r in specs])
        widths = np.array([s * math.sqrt(r) for s, r in specs])
        centres = (np.arange(grid) + 0.5) / grid
        cy, cx = np.meshgrid(centres, centres, indexing="ij")
        layer_anchors = np.stack(
            np.broadcast_arrays(
                cy[:, :, None], cx[:, :, None], heights[None, None, :], widths[None, None, :]
            ),
            axis=-1,
        )
        out.append(layer_anchors.reshape(-1, 4))
    return np.concatenate(out).astype(np.float32)


def decode(encodings: Array, size: int) -> Array:
    """Box encodings [anchors, 4] -> boxes [anchors, 4] as (left, top, right, bottom) ratios."""
    a = anchors(size)
    ty, tx, th, tw = (encodings[:, i] / SCALE_FACTORS[i] for i in range(4))
    cy = ty * a[:, 2] + a[:, 0]
    cx = tx * a[:, 3] + a[:, 1]
    h = np.exp(np.minimum(th, 10.0)) * a[:, 2]
    w = np.exp(np.minimum(tw, 10.0)) * a[:, 3]
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    return np.clip(boxes, 0.0, 1.0)


def detections(
    encodings: Array,
    scores: Array,
    size: int,
    *,
    min_score: float,
    iou_threshold: float = 0.5,
    limit: int = 50,
) -> list[Detection]:
    """One image's network outputs ([anchors, 4], [anchors, classes] with background at 0)
    -> per-class non-maximum-suppressed detections at or above ``min_score``."""
    boxes = decode(encodings, size)
    found: list[Detection] = []
    for class_id in range(1, scores.shape[1]):
        candidates = np.flatnonzero(scores[:, class_id] >= min_score)
        if candidates.size == 0:
            continue
        class_scores = scores[candidates, class_id]
        for k in non_maximum_suppression(
            boxes[candidates], class_scores, iou_threshold, limit=limit
        ):
            left, top, right, bottom = (float(v) for v in boxes[candidates[k]])
            found.append(Detection((left, top, right, bottom), class_id, float(class_scores[k])))
    found.sort(key=lambda d: -d.score)
    return found[:limit]
