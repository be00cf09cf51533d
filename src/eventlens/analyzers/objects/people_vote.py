"""People by two detectors' vote (``lite0-people-vote``, issue 20 item 2): a body the person
detector is unsure of, confirmed by NanoDet's person class.

After the person detector's passes (the whole image, then its 2 x 2 tiles when unsure, as in
``lite0-people-tiles``), when no body reaches ``SHOWN`` but one scores at least ``BODY_MIN``,
NanoDet runs once on the whole image (416 x 416). A body >= ``BODY_MIN`` whose box overlaps a
NanoDet person >= ``NANODET_MIN`` by IoU >= ``AGREE_IOU`` is a person: two weak detections of
different detectors in the same place. Its score becomes the two scores' noisy-OR
(1 - (1 - a)(1 - b)), and at least ``SHOWN``: seen by both, it is as sure as a body the person
detector alone would show at MinConfidence 55, never more sure than the two together.

Chosen on the evaluation set's tuning part by the rule fixed before any held-out figure
(``bench/person_levers.py``, ``bench/person_votes.py``): NanoDet alone (the union) at any
threshold added false photos there, and MoveNet as a third vote more.
"""

from __future__ import annotations

from PIL import Image

from eventlens.analyzers.boxes import box_iou
from eventlens.analyzers.objects import coco, nanodet
from eventlens.analyzers.objects.ssd import Detection

#: a body at or above this is shown by itself (MinConfidence 55): no vote needed
SHOWN = 0.55
#: the weakest body a vote can confirm, and the weakest NanoDet person that confirms it
BODY_MIN = 0.4
NANODET_MIN = 0.2
#: a body and a NanoDet person are the same person when their boxes overlap this much
AGREE_IOU = 0.3


def version() -> str:
    return f"vote-{nanodet.MODEL_VERSION}@body{BODY_MIN:g}+nanodet{NANODET_MIN:g}+iou{AGREE_IOU:g}"


def needs_vote(bodies: list[Detection]) -> bool:
    """Whether NanoDet can change the answer: a body in [``BODY_MIN``, ``SHOWN``), none above."""
    best = max((d.score for d in bodies), default=0.0)
    return BODY_MIN <= best < SHOWN


def nanodet_people(detector: nanodet.ObjectDetector, image: Image.Image) -> list[Detection]:
    """NanoDet's person boxes on the whole image (its other classes dropped)."""
    found = detector.detect_inputs([nanodet.to_input(image)])[0]
    return [d for d in found if d.class_id == coco.PERSON and d.score >= NANODET_MIN]


def confirm(bodies: list[Detection], others: list[Detection]) -> list[Detection]:
    """``bodies`` with each one NanoDet agrees with raised to the vote's score, best first."""
    out = []
    for body in bodies:
        agreeing = [
            o.score
            for o in others
            if body.score >= BODY_MIN
            and o.score >= NANODET_MIN
            and box_iou(body.box, o.box) >= AGREE_IOU
        ]
        if agreeing:
            vote = 1.0 - (1.0 - body.score) * (1.0 - max(agreeing))
            body = Detection(body.box, body.class_id, max(vote, SHOWN))
        out.append(body)
    out.sort(key=lambda d: -d.score)
    return out
