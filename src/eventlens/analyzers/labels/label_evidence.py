"""Evidence from the detectors as features of the label calibrator (``lite0-evidence``).

Per (photo, label), from NanoDet's boxes (COCO's 80 classes, ``objects.coco``) and the person
and face detectors' (``objects.people_labels``):

- the best box score of a COCO class that is this label or lies under it (a cat box for
  ``Cat``, ``Pet``, ``Mammal``, ``Animal``): the detector confirms the label;
- the best box score of a COCO class above this label (a cat box for ``Tabby Cat``): the
  detector confirms its parent;
- whether any COCO class is this label, above or under it: for such a label no box is a
  detector that looked and did not agree;
- the image share of the best confirming box's area;
- the best box score of a COCO class unrelated to this label, people aside: the detector sees
  something else;
- the person and face detectors' best score, for ``Person`` (not the labels under it: a
  person box says nothing of a ``Baseball Player``).

A COCO class maps to the taxonomy label of its Rekognition name, when the taxonomy has one, else
to its listed parents that the taxonomy has (``Fire Hydrant``: none; ``Stop Sign``: ``Sign``).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from eventlens.analyzers.labels.taxonomy import Taxonomy
from eventlens.analyzers.objects import coco

if TYPE_CHECKING:
    from eventlens.analyzers.objects.people_labels import Found
    from eventlens.analyzers.objects.ssd import Detection

EVIDENCE_FEATURES = (
    "box score at or under the label",
    "box score above the label",
    "label a detector class",
    "box area share",
    "box score of an unrelated class",
    "person detector score",
)
#: NanoDet runs from this score for the features (its labels are shown from
#: ``analyzer.OBJECTS_MIN_SCORE``): weak boxes are evidence too
EVIDENCE_MIN_SCORE = 0.2
PERSON_LABEL = "Person"


class Relations(NamedTuple):
    """[80 COCO classes, labels] masks: the label is the class's or above it; under it."""

    at_or_above: np.ndarray[Any, np.dtype[np.bool_]]
    under: np.ndarray[Any, np.dtype[np.bool_]]
    #: [labels]: Person
    person: np.ndarray[Any, np.dtype[np.bool_]]


def relations(taxonomy: Taxonomy) -> Relations:
    """The COCO classes' relations to ``taxonomy``'s labels."""
    return _relations(taxonomy.names, taxonomy.parents)


@lru_cache(maxsize=4)
def _relations(names: tuple[str, ...], parents: tuple[tuple[str, ...], ...]) -> Relations:
    index = {name: i for i, name in enumerate(names)}
    # a taxonomy label's parents are all the labels above it (``Taxonomy.parents``)
    ancestors = dict(zip(names, parents, strict=True))
    at_or_above = np.zeros((len(coco.CLASSES), len(names)), bool)
    under = np.zeros_like(at_or_above)
    for c, (_, name, coco_parents) in enumerate(coco.CLASSES):
        own = [name] if name in index else [p for p in coco_parents if p in index][:1]
        for label in own:
            for above in (label, *ancestors[label]):
                at_or_above[c, index[above]] = True
        if name in index:
            for label, its in ancestors.items():
                if name in its:
                    under[c, index[label]] = True
    person = np.array([n == PERSON_LABEL for n in names], bool)
    return Relations(at_or_above, under, person)


def evidence(
    taxonomy: Taxonomy,
    objects: Sequence[Sequence[Detection] | None],
    people: Sequence[Found | None],
) -> np.ndarray[Any, Any]:
    """[n, labels, len(EVIDENCE_FEATURES)] for each photo's NanoDet detections and people
    findings (None: that detector did not run)."""
    rel = relations(taxonomy)
    n, labels = len(objects), len(taxonomy.names)
    score = np.zeros((n, len(coco.CLASSES)))
    area = np.zeros_like(score)
    for i, found in enumerate(objects):
        for d in found or ():
            if d.score > score[i, d.class_id]:
                left, top, right, bottom = d.box
                score[i, d.class_id] = d.score
                area[i, d.class_id] = max(0.0, right - left) * max(0.0, bottom - top)
    confirming = np.where(rel.at_or_above[None], score[:, :, None], 0.0)  # [n, 80, labels]
    best = confirming.argmax(axis=1)
    at = confirming.max(axis=1)
    above = np.where(rel.under[None], score[:, :, None], 0.0).max(axis=1)
    unrelated = ~(rel.at_or_above | rel.under)
    unrelated[coco.PERSON] = False
    other = np.where(unrelated[None], score[:, :, None], 0.0).max(axis=1)
    share = np.where(at > 0, np.take_along_axis(area, best, axis=1), 0.0)
    mapped = (rel.at_or_above | rel.under).any(axis=0).astype(np.float64)
    person_score = np.array(
        [
            max((d.score for d in (*f.bodies, *f.faces)), default=0.0) if f is not None else 0.0
            for f in people
        ]
    )
    person = np.where(rel.person[None, :], person_score[:, None], 0.0)
    return np.stack([at, above, np.broadcast_to(mapped, (n, labels)), share, other, person], axis=2)
