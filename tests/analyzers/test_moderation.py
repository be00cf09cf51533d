from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from PIL import Image

from eventlens.analyzers import registry
from eventlens.analyzers.moderation import EXPLICIT, SUGGESTIVE, to_moderation_labels
from eventlens.imaging import ImageInput
from tests.images import encode

skimage_data = pytest.importorskip("skimage.data", reason="scikit-image is in the dev extra")
needs_nudenet = pytest.mark.skipif(
    importlib.util.find_spec("nudenet") is None,
    reason="nudenet is an opt-in extra (AGPL-3.0 licence files): "
    "pip install 'eventlens[moderation]'",
)


def test_mapping_to_rekognition_taxonomy_with_parents() -> None:
    labels = to_moderation_labels(
        [
            {"class": "FACE_FEMALE", "score": 0.99},
            {"class": "BUTTOCKS_EXPOSED", "score": 0.62},
            {"class": "FEMALE_BREAST_EXPOSED", "score": 0.81},
            {"class": "MALE_BREAST_EXPOSED", "score": 0.70},
            {"class": "BELLY_EXPOSED", "score": 0.30},
        ],
        min_confidence=50,
    )
    assert labels == [
        {"Name": EXPLICIT, "Confidence": 81.0, "ParentName": ""},
        {"Name": "Nudity", "Confidence": 81.0, "ParentName": EXPLICIT},
        {"Name": SUGGESTIVE, "Confidence": 70.0, "ParentName": ""},
        {"Name": "Barechested Male", "Confidence": 70.0, "ParentName": SUGGESTIVE},
    ]
    assert to_moderation_labels([{"class": "FEET_EXPOSED", "score": 0.9}], 50) == []


@needs_nudenet
@pytest.mark.parametrize("name", ["astronaut", "coffee", "chelsea", "rocket"])
def test_ordinary_photos_have_no_moderation_labels(name: str) -> None:
    analyzer = registry.create("moderation", registry.AnalyzerContext())
    pixels = getattr(skimage_data, name)()
    if pixels.ndim == 2:
        pixels = np.stack([pixels] * 3, axis=-1)
    data = encode(Image.fromarray(pixels), "JPEG", quality=90)
    findings = analyzer.analyze(ImageInput(data, f"{name}.jpg"))
    assert set(findings) == {"ModerationLabels", "ModerationModelVersion"}
    assert findings["ModerationLabels"] == []
    assert findings["ModerationModelVersion"].startswith("nudenet/3.4")
