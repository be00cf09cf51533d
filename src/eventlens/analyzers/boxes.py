"""Non-maximum suppression, the one copy every detector uses (SSD, BlazeFace, MTCNN), and the
overlap of two boxes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

Array = np.ndarray[Any, Any]


def non_maximum_suppression(
    boxes: Array,
    scores: Array,
    threshold: float,
    *,
    overlap: Literal["union", "min"] = "union",
    pixel_edges: bool = False,
    limit: int | None = None,
) -> Array:
    """Indexes of the boxes greedy non-maximum suppression keeps, best score first.

    ``boxes`` are (x1, y1, x2, y2). A box is dropped when its overlap with a kept one exceeds
    ``threshold``: intersection over union, or over the smaller box (``overlap="min"``, MTCNN's
    last stage). ``pixel_edges`` counts both edge pixels of a pixel box (width x2 - x1 + 1), as
    MTCNN was trained. Equal scores keep the lower index first. At most ``limit`` boxes are kept.
    """
    if boxes.size == 0:
        return np.zeros(0, dtype=np.int64)
    x1, y1, x2, y2 = np.asarray(boxes).T
    edge = 1.0 if pixel_edges else 0.0
    area = (x2 - x1 + edge) * (y2 - y1 + edge)
    order = np.argsort(-np.asarray(scores), kind="stable")
    keep: list[int] = []
    while order.size and (limit is None or len(keep) < limit):
        best = int(order[0])
        keep.append(best)
        rest = order[1:]
        width = np.minimum(x2[best], x2[rest]) - np.maximum(x1[best], x1[rest]) + edge
        height = np.minimum(y2[best], y2[rest]) - np.maximum(y1[best], y1[rest]) + edge
        inter = np.maximum(width, 0) * np.maximum(height, 0)
        if overlap == "min":
            base = np.minimum(area[best], area[rest])
        else:
            base = area[best] + area[rest] - inter
        # degenerate (zero-area) boxes overlap nothing instead of dividing by zero
        order = rest[inter / np.maximum(base, 1e-9) <= threshold]
    return np.asarray(keep, dtype=np.int64)


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two (x1, y1, x2, y2) boxes; 0 for boxes without area."""
    inter = max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(
        0.0, min(a[3], b[3]) - max(a[1], b[1])
    )
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0
