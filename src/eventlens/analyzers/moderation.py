"""DetectModerationLabels offline with NudeNet's bundled ONNX detector (``320n.onnx``).

NudeNet's wheel says MIT in its metadata, but the licence files it ships are AGPL-3.0: it is
an optional extra (``pip install 'eventlens[moderation]'``), never installed by default, and
eventlens does not import it unless the ``moderation`` analyzer is enabled.

NudeNet's body-part classes are mapped onto Rekognition's moderation taxonomy: a child label
(``Name``) under a top-level category (``ParentName``); each top-level category is listed too,
with ``ParentName`` "" and the confidence of its best child, as Rekognition does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from eventlens.analyzers.base import Findings
from eventlens.analyzers.model import ModelAnalyzer, package_version
from eventlens.imaging import ImageInput

EXPLICIT = "Explicit Nudity"
SUGGESTIVE = "Suggestive"

#: NudeNet class → (Rekognition label, top-level category). Faces, feet, armpits and covered
#: bellies are not moderation findings and are left out.
TAXONOMY: dict[str, tuple[str, str]] = {
    "FEMALE_GENITALIA_EXPOSED": ("Graphic Female Nudity", EXPLICIT),
    "MALE_GENITALIA_EXPOSED": ("Graphic Male Nudity", EXPLICIT),
    "FEMALE_BREAST_EXPOSED": ("Nudity", EXPLICIT),
    "BUTTOCKS_EXPOSED": ("Nudity", EXPLICIT),
    "ANUS_EXPOSED": ("Nudity", EXPLICIT),
    "MALE_BREAST_EXPOSED": ("Barechested Male", SUGGESTIVE),
    "FEMALE_BREAST_COVERED": ("Female Swimwear Or Underwear", SUGGESTIVE),
    "FEMALE_GENITALIA_COVERED": ("Female Swimwear Or Underwear", SUGGESTIVE),
    "BUTTOCKS_COVERED": ("Revealing Clothes", SUGGESTIVE),
    "ANUS_COVERED": ("Revealing Clothes", SUGGESTIVE),
    "BELLY_EXPOSED": ("Partial Nudity", SUGGESTIVE),
}


def to_moderation_labels(
    detections: list[dict[str, Any]], min_confidence: float
) -> list[dict[str, Any]]:
    """NudeNet detections (``class``, ``score`` 0-1) → ``ModerationLabels``, best first."""
    best: dict[tuple[str, str], float] = {}
    for detection in detections:
        mapped = TAXONOMY.get(str(detection.get("class")))
        confidence = float(detection.get("score", 0.0)) * 100
        if mapped is None or confidence < min_confidence:
            continue
        best[mapped] = max(best.get(mapped, 0.0), confidence)
    parents: dict[str, float] = {}
    for (_, parent), confidence in best.items():
        parents[parent] = max(parents.get(parent, 0.0), confidence)
    labels = [
        {"Name": name, "Confidence": round(c, 3), "ParentName": parent}
        for (name, parent), c in best.items()
    ] + [{"Name": name, "Confidence": round(c, 3), "ParentName": ""} for name, c in parents.items()]
    return sorted(labels, key=lambda label: (-label["Confidence"], label["ParentName"] != ""))


class ModerationAnalyzer(ModelAnalyzer[Any]):
    """NudeNet's detector opens its own ONNX Runtime session."""

    name = "moderation"
    method = "nudenet-320n-onnx"
    install_hint = (
        "the moderation analyzer needs NudeNet, whose bundled licence files are AGPL-3.0: "
        "pip install 'eventlens[moderation]'"
    )

    def __init__(self, *, min_confidence: float = 50.0) -> None:
        super().__init__()
        self.min_confidence = min_confidence

    @property
    def model_version(self) -> str:
        return f"nudenet/{package_version('nudenet')}/320n/min{self.min_confidence:g}"

    def _open(self) -> Any:
        from nudenet import NudeDetector

        return NudeDetector()

    def analyze(self, image: ImageInput) -> Findings:
        detector = self.loaded()
        pixels = np.asarray(image.decode(min_short_side=640).image)
        bgr = np.ascontiguousarray(pixels[:, :, ::-1])  # NudeNet expects OpenCV's BGR
        detections = detector.detect(bgr)
        return {
            "ModerationLabels": to_moderation_labels(detections, self.min_confidence),
            "ModerationModelVersion": self.model_version,
        }
