"""Everyday-object labels with ``Instances`` (NanoDet, COCO's classes), merged into the
classifier's labels: a class the classifier also names (``Dog``, ``Cup``) stays one label that
gains the boxes and the higher of the two confidences.

``Person`` is left to the person and face detectors (``people_labels``) unless asked: NanoDet's
people added to theirs raised the tuning part's Person recall but lowered its precision (at
score 0.6: 47 % -> 59 %, 89 % -> 83 %; ``bench/eval_labels.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from PIL import Image

from eventlens.analyzers.base import label_entry
from eventlens.analyzers.objects import coco, nanodet
from eventlens.analyzers.objects.ssd import Detection

log = logging.getLogger("eventlens.labels")

#: (confidence, rank, label) as the label analyzer collects them
Candidate = tuple[float, int, dict[str, Any]]


class ObjectFinder:
    """The object detector, when its model is installed (else falsy, with one log line)."""

    def __init__(
        self,
        intra_op_threads: int | None = None,
        *,
        min_score: float,
        person_min_score: float | None = None,
    ) -> None:
        """``min_score``: the detector's threshold; ``person_min_score``: people's (named in
        the version; ``merge`` applies it), None when people are left to the other detectors."""
        self.min_score = min_score
        self.person_min_score = person_min_score
        self.detector = (
            nanodet.ObjectDetector(min_score=min_score, intra_op_threads=intra_op_threads)
            if nanodet.is_available()
            else None
        )
        if self.detector is None:
            log.warning("object detection is off: run %s (needs npm)", nanodet.INSTALL)

    def __bool__(self) -> bool:
        return self.detector is not None

    @property
    def version(self) -> str:
        person = "" if self.person_min_score is None else f",person{self.person_min_score:g}"
        return f"{nanodet.MODEL_VERSION}/min{self.min_score:g}{person}"

    def load(self) -> None:
        if self.detector is not None:
            self.detector.load()

    def prepare(self, image: Image.Image) -> Any:
        """The detector's input for one decoded image (runs on the decoding pool)."""
        return nanodet.to_input(image) if self.detector is not None else None

    def detect(self, prepared: list[Any]) -> list[list[Detection]]:
        """One image at a time (as the other detectors: the least CPU per image)."""
        if self.detector is None:
            return [[] for _ in prepared]
        return [self.detector.detect_inputs([x])[0] for x in prepared]


def _union(first: Sequence[str], second: Sequence[str]) -> list[str]:
    return list(dict.fromkeys([*first, *second]))


def confidence(detection: Detection) -> float:
    return 100.0 * detection.score


def merge(
    candidates: list[Candidate],
    found: list[Detection],
    min_confidence: float,
    parents: Callable[[str], Sequence[str] | None],
    *,
    person_min_confidence: float | None = None,
) -> list[Candidate]:
    """``candidates`` (the classifier's and people labels) with the detected objects merged
    in: a label of the same name gets the boxes and the higher confidence, other classes
    become labels of their own; parents are ``parents(name)`` (the taxonomy's, when it has the
    name) followed by the COCO table's (``Bus``: ``Public Transport``, ``Vehicle``,
    ``Transportation``). Instances below ``min_confidence`` are dropped; people too unless
    ``person_min_confidence`` is given (a ``Person`` from the person detectors keeps its
    boxes)."""
    objects = coco.grouped(found, confidence, min_confidence, skip=frozenset({coco.PERSON}))
    if person_min_confidence is not None:
        people = [d for d in found if d.class_id == coco.PERSON]
        bound = max(min_confidence, person_min_confidence)
        objects |= coco.grouped(people, confidence, bound, skip=frozenset())
    out = list(candidates)
    positions = {label["Name"]: i for i, (_, _, label) in enumerate(out)}
    for class_id, instances in sorted(objects.items()):
        _, name, own_parents = coco.CLASSES[class_id]
        best = max(i["Confidence"] for i in instances)
        if name in positions:
            score, rank, label = out[positions[name]]
            merged = max(score, best)
            shown = [p["Name"] for p in label["Parents"]]
            label = {
                **label,
                "Confidence": round(merged, 4),
                "Instances": label["Instances"] or instances,
                "Parents": [{"Name": p} for p in _union(shown, own_parents)],
            }
            out[positions[name]] = (merged, rank, label)
        else:
            names = _union(parents(name) or (), own_parents)
            out.append((best, 0, label_entry(name, best, parents=names, instances=instances)))
    return out
