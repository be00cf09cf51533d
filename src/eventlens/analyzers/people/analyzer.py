"""People: each face the ``faces`` analyzer's detector (MTCNN) finds gets a descriptor (dlib's
ResNet) and a person id from the ``PeopleIndex`` the wiring passes in; the findings list the
faces with their ``PersonId``. Off until enabled (``EVENTLENS_PEOPLE=on`` or the analyzer name
``people``): descriptors are biometric data."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from eventlens.analyzers.base import Analyzer, Findings
from eventlens.analyzers.faces import FaceAnalyzer
from eventlens.analyzers.people.descriptor import Box, DlibDescriber
from eventlens.face_people import DEFAULT_THRESHOLD, FaceEntry, PeopleIndex
from eventlens.imaging import ImageInput


class PeopleAnalyzer(Analyzer):
    name = "people"
    method = "mtcnn+dlib-resnet"

    def __init__(
        self,
        index: PeopleIndex,
        detector: FaceAnalyzer,
        *,
        threshold: float = DEFAULT_THRESHOLD,
        describer: DlibDescriber | None = None,
    ) -> None:
        self.index = index
        self.detector = detector
        self.threshold = threshold
        self._describer = describer
        self._load_lock = threading.Lock()

    @property
    def model_version(self) -> str:
        return f"dlib-resnet-v1/5pt/t{self.threshold:g}/{self.detector.model_version}"

    def load(self) -> None:
        self.detector.load()
        self.describer()

    def describer(self) -> DlibDescriber:
        with self._load_lock:
            if self._describer is None:
                self._describer = DlibDescriber()
            return self._describer

    def forget(self, environment: str, key: str) -> None:
        self.index.remove(environment, key)

    def analyze(self, image: ImageInput) -> Findings:
        details = self.detector.analyze(image)["FaceDetails"]
        describer = self.describer()  # before the decode: a missing package fails fast
        picture = image.decode(min_short_side=min(self.detector.max_side, 720)).image
        rgb = np.asarray(picture.convert("RGB"))
        height, width = rgb.shape[:2]
        boxes = [pixel_box(detail["BoundingBox"], width, height) for detail in details]
        descriptors = describer.describe(rgb, boxes)
        entries = [
            FaceEntry(image.key, i, d, detail["BoundingBox"], float(detail["Confidence"]))
            for i, (d, detail) in enumerate(zip(descriptors, details, strict=True))
        ]
        people = self.index.assign(image.environment, image.key, entries)
        faces: list[dict[str, Any]] = [
            {"BoundingBox": d["BoundingBox"], "Confidence": d["Confidence"], "PersonId": person}
            for d, person in zip(details, people, strict=True)
        ]
        return {"Faces": faces, "PeopleModelVersion": self.model_version}


def pixel_box(box: dict[str, float], width: int, height: int) -> Box:
    """A relative ``BoundingBox`` as pixel corners (left, top, right, bottom)."""
    left, top = box["Left"] * width, box["Top"] * height
    return left, top, left + box["Width"] * width, top + box["Height"] * height
