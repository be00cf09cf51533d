"""NanoDet's person class as a person lever (issue 20 item 2): the ``vote`` options of
``bench/person_levers.py report``, computed from the passes ``run`` cached.

Each option is a cascade, as a label model would run it; a pass's CPU counts only on the photos
it runs on:

1. the person detector (SSD) on the whole image at 300 px; with ``SSD tiles``, its 2 x 2 tiles
   too when the whole image's best body lies in ``TILES_BAND`` (as ``lite0-people-tiles``).
   ``Person`` when its best body (whole or tiles) reaches ``t``; else
2. NanoDet at 416 px on the whole image (its person class, boxes >= 0.1 kept); with ``NanoDet
   tiles`` on its 2 x 2 tiles too. ``Person`` when NanoDet's best person reaches ``n`` (the
   union, SSD or NanoDet), or when an SSD box >= ``a`` and a NanoDet box >= ``b`` overlap by
   IoU >= ``AGREE_IOU`` (two weak detections agreeing: a person); else
   Without a union threshold (``n``) and without MoveNet, NanoDet runs only when the SSD has
   a box >= ``a`` (otherwise it cannot change the answer); its CPU counts only there. (This
   accounting was added after the first tune report, which charged NanoDet on every photo the
   SSD left undecided; before any held-out figure.)
3. with ``MoveNet vote``, MoveNet MultiPose at 256 px: ``Person`` when a pose whose centre peak
   scores >= ``c`` overlaps (IoU >= ``AGREE_IOU``) an SSD box >= ``a`` or a NanoDet box >= ``b``:
   two of three detectors agreeing.

A face (BlazeFace >= 0.75) makes ``Person`` in every option, as today.

The rule for these options, written down before any of them was measured on a held-out part
(2026-12-07): ``choose`` among them and ``full 300 (today)`` on ``tune``: the most people found
with no more false photos than today's, ties to fewer false photos, then less CPU (then the
first in the order ``options`` lists them). ``AGREE_IOU`` and the grids below were fixed before
the first tune figure too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import product
from typing import Any

from eventlens.analyzers.objects.people_labels import TILES_BAND

INF = float("inf")
#: two boxes are the same person when their intersection over union reaches this
AGREE_IOU = 0.3
SSD_THRESHOLDS = (0.55, 0.5, 0.45)
NANODET_THRESHOLDS = (0.4, 0.5, 0.6, 0.7, INF)
AGREE_SSD = (0.2, 0.3, 0.4)
AGREE_NANODET = (0.2, 0.3, 0.4)
POSE_CENTRE = (0.2, 0.3, 0.4)

Box = list[float]
Params = tuple[float, float, float, float, float]  # t, n, a, b, c


def iou(a: Box, b: Box) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def agree(
    first: list[dict[str, Any]], low: float, second: list[dict[str, Any]], low2: float
) -> bool:
    """A box of ``first`` scoring >= ``low`` and one of ``second`` >= ``low2`` overlap."""
    return any(
        iou(x["box"], y["box"]) >= AGREE_IOU
        for x in first
        if x["score"] >= low
        for y in second
        if y["score"] >= low2
    )


def _best(found: list[dict[str, Any]]) -> float:
    return max((d["score"] for d in found), default=0.0)


@dataclass(frozen=True, slots=True)
class Vote:
    """One cascade (which passes it uses) and its parameter grid."""

    ssd_tiles: bool
    nanodet_tiles: bool
    pose: bool

    @property
    def name(self) -> str:
        parts = ["vote: SSD" + (" + tiles when unsure" if self.ssd_tiles else "")]
        parts.append("NanoDet" + (" + tiles" if self.nanodet_tiles else ""))
        if self.pose:
            parts.append("MoveNet vote")
        return " | ".join(parts)

    def grid(self) -> Iterator[Params]:
        pairs: list[tuple[float, float]] = [(INF, INF), *product(AGREE_SSD, AGREE_NANODET)]
        if self.pose:  # the pose detector only ever votes with another detector
            pairs = pairs[1:]
        for t, n, (a, b) in product(SSD_THRESHOLDS, NANODET_THRESHOLDS, pairs):
            if n == INF and a == INF:
                continue  # SSD alone: today's options
            for c in POSE_CENTRE if self.pose else (INF,):
                yield t, n, a, b, c

    def body(self, row: dict[str, Any], params: Params) -> tuple[bool, float]:
        """Whether the cascade finds a body on this photo, and the CPU ms of the passes it ran."""
        t, n, a, b, c = params
        p = row["passes"]
        ssd, ms = list(p["full"]["found"]), p["full"]["ms"]
        if self.ssd_tiles and TILES_BAND[0] <= _best(ssd) < TILES_BAND[1]:
            ssd += p["tiles"]["found"]
            ms += p["tiles"]["ms"]
        if _best(ssd) >= t:
            return True, ms
        if n == INF and not self.pose and _best(ssd) < a:
            return False, ms  # NanoDet could only agree with an SSD box >= a: not run
        nano, ms = list(p["nanodet"]["found"]), ms + p["nanodet"]["ms"]
        if self.nanodet_tiles:
            nano += p["nanodet_tiles"]["found"]
            ms += p["nanodet_tiles"]["ms"]
        if _best(nano) >= n or agree(ssd, a, nano, b):
            return True, ms
        if not self.pose:
            return False, ms
        pose = p["pose256"]
        poses = [{"box": q["box"], "score": q["centre"]} for q in pose["found"]]
        ms += pose["ms"]
        return agree(ssd, a, poses, c) or agree(nano, b, poses, c), ms


def options() -> list[Vote]:
    return [Vote(s, n, m) for m in (False, True) for s in (False, True) for n in (False, True)]


def shown(params: Params) -> str:
    names = ("t", "n", "a", "b", "c")
    return " ".join(f"{k}={v:g}" for k, v in zip(names, params, strict=True) if v != INF)


Body = Callable[[dict[str, Any]], tuple[bool, float]]
