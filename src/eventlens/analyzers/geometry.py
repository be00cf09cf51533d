"""Rekognition geometry: boxes and polygons as ratios of the image width and height."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Point = tuple[float, float]


def _ratio(value: float, size: float) -> float:
    return round(min(1.0, max(0.0, value / size)), 6) if size > 0 else 0.0


def bounding_box(
    left: float, top: float, right: float, bottom: float, width: float, height: float
) -> dict[str, float]:
    """``{Width, Height, Left, Top}`` ratios for a pixel box, clipped to the image."""
    l_ratio, t_ratio = _ratio(left, width), _ratio(top, height)
    return {
        "Width": round(_ratio(right, width) - l_ratio, 6),
        "Height": round(_ratio(bottom, height) - t_ratio, 6),
        "Left": l_ratio,
        "Top": t_ratio,
    }


def polygon(points: Sequence[Point], width: float, height: float) -> list[dict[str, float]]:
    return [{"X": _ratio(x, width), "Y": _ratio(y, height)} for x, y in points]


def geometry(points: Sequence[Point], width: float, height: float) -> dict[str, Any]:
    """DetectText's ``Geometry``: the enclosing box plus the polygon."""
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    return {
        "BoundingBox": bounding_box(min(xs), min(ys), max(xs), max(ys), width, height),
        "Polygon": polygon(points, width, height),
    }
