"""Small people: the person detector run again on overlapping tiles of the image.

The detector sees the whole image at 300 x 300, where a figure a tenth of the photo high is a
few dozen pixels and below its smallest anchors. Run on each quarter of the image (2 x 2 tiles,
each 60 % of the width and height, so a figure on a seam is whole in some tile), that figure is
twice as large. Tile boxes are mapped back to ratios of the whole image and merged with the
whole image's boxes (``merge``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np
from PIL import Image

from eventlens.analyzers.boxes import non_maximum_suppression
from eventlens.analyzers.objects import people
from eventlens.analyzers.objects.ssd import Detection

#: each tile spans this share of the image's width and height; tiles start at 0 and 1 - SPAN
SPAN = 0.6
GRID = 2
#: a merged box is dropped when this share of it (or of the kept box, if smaller) overlaps a
#: better box: a person cut at a tile's edge is kept once, not as a second, partial person
MERGE_OVERLAP = 0.7


class Detects(Protocol):
    def detect_inputs(self, inputs: Sequence[np.ndarray[Any, Any]]) -> list[list[Detection]]: ...


Box = tuple[float, float, float, float]


def tile_boxes(grid: int = GRID, span: float = SPAN) -> list[Box]:
    """The tiles as (left, top, right, bottom) ratios of the image, row by row."""
    starts = [i * (1.0 - span) / (grid - 1) for i in range(grid)] if grid > 1 else [0.0]
    return [(x, y, x + span, y + span) for y in starts for x in starts]


#: a detector's input for an image already at its input size (``people.to_input``)
ToInput = Callable[[Image.Image], np.ndarray[Any, Any]]


def tile_inputs(
    image: Image.Image, to_input: ToInput = people.to_input, size: int = people.INPUT_SIZE
) -> list[tuple[Box, np.ndarray[Any, Any]]]:
    """Each tile's box and its detector input (cropped and stretched to ``size`` x ``size`` in
    one resize, as ``people.to_input`` stretches the whole image to 300 x 300)."""
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    w, h = rgb.size
    out = []
    for box in tile_boxes():
        left, top, right, bottom = box
        crop = rgb.resize(
            (size, size), Image.Resampling.BILINEAR, box=(left * w, top * h, right * w, bottom * h)
        )
        out.append((box, to_input(crop)))
    return out


def to_image(detection: Detection, tile: Box) -> Detection:
    """A detection in a tile's ratios -> the same box in the whole image's ratios."""
    left, top, right, bottom = tile
    w, h = right - left, bottom - top
    x1, y1, x2, y2 = detection.box
    box = (left + x1 * w, top + y1 * h, left + x2 * w, top + y2 * h)
    return Detection(box, detection.class_id, detection.score)


def detect_tiles(
    detector: Detects,
    image: Image.Image,
    to_input: ToInput = people.to_input,
    size: int = people.INPUT_SIZE,
) -> list[Detection]:
    """What ``detector`` finds in the tiles, in the whole image's ratios (not yet merged);
    ``to_input`` and ``size``: the detector's input (the person detector's by default)."""
    tiles = tile_inputs(image, to_input, size)
    found = detector.detect_inputs([x for _, x in tiles])
    return [to_image(d, box) for (box, _), ds in zip(tiles, found, strict=True) for d in ds]


def merge(*passes: list[Detection]) -> list[Detection]:
    """Every pass's boxes, each person once (the best-scoring box), best first."""
    found = [d for detections in passes for d in detections]
    if not found:
        return []
    boxes = np.array([d.box for d in found], dtype=np.float64)
    scores = np.array([d.score for d in found], dtype=np.float64)
    keep = non_maximum_suppression(boxes, scores, MERGE_OVERLAP, overlap="min")
    return [found[int(i)] for i in keep]
