from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from eventlens.analyzers import registry
from eventlens.imaging import ImageInput
from tests.images import encode, photo_like

skimage_data = pytest.importorskip("skimage.data", reason="scikit-image is in the dev extra")


def _weights_ready() -> bool:
    from eventlens.analyzers.faces.nets import WeightsMissing, weights_path

    try:
        weights_path("onet")
    except WeightsMissing:
        return False
    return True


needs_weights = pytest.mark.skipif(
    not _weights_ready(),
    reason="needs facenet-pytorch's weights (pip install --no-deps facenet-pytorch==2.6.0)",
)


def jpeg(array: np.ndarray) -> bytes:  # type: ignore[type-arg]
    return encode(Image.fromarray(array), "JPEG", quality=92)


@pytest.fixture(scope="module")
def analyzer() -> registry.Analyzer:
    return registry.create("faces", registry.AnalyzerContext())


@needs_weights
def test_astronaut_has_one_face_with_landmarks_inside_it(analyzer: registry.Analyzer) -> None:
    findings = analyzer.analyze(ImageInput(jpeg(skimage_data.astronaut()), "astronaut.jpg"))
    faces = findings["FaceDetails"]
    assert len(faces) == 1
    face = faces[0]
    assert face["Confidence"] > 95
    box = face["BoundingBox"]
    # Eileen Collins' face: roughly x 180-265, y 60-170 of the 512 x 512 photo
    assert 0.30 < box["Left"] < 0.40 and 0.08 < box["Top"] < 0.18
    assert 0.12 < box["Width"] < 0.25 and 0.15 < box["Height"] < 0.30
    points = {p["Type"]: (p["X"], p["Y"]) for p in face["Landmarks"]}
    assert set(points) == {"eyeLeft", "eyeRight", "nose", "mouthLeft", "mouthRight"}
    for x, y in points.values():
        assert box["Left"] <= x <= box["Left"] + box["Width"]
        assert box["Top"] <= y <= box["Top"] + box["Height"]
    assert points["eyeLeft"][0] < points["eyeRight"][0]
    assert max(points["eyeLeft"][1], points["eyeRight"][1]) < points["nose"][1]
    assert points["nose"][1] < min(points["mouthLeft"][1], points["mouthRight"][1])
    assert findings["FaceModelVersion"].startswith("mtcnn/facenet-pytorch/2.6.0")


@needs_weights
@pytest.mark.parametrize("name", ["coffee", "chelsea"])
def test_photos_without_people_have_no_faces(analyzer: registry.Analyzer, name: str) -> None:
    findings = analyzer.analyze(ImageInput(jpeg(getattr(skimage_data, name)()), f"{name}.jpg"))
    assert findings["FaceDetails"] == []


@needs_weights
def test_a_large_photo_is_scaled_and_boxes_stay_ratios(analyzer: registry.Analyzer) -> None:
    big = Image.fromarray(skimage_data.astronaut()).resize((2048, 2048))
    faces = analyzer.analyze(ImageInput(encode(big, "JPEG", quality=90), "big.jpg"))
    assert len(faces["FaceDetails"]) == 1
    assert 0.30 < faces["FaceDetails"][0]["BoundingBox"]["Left"] < 0.40
    noise = analyzer.analyze(ImageInput(encode(photo_like(640, 480, seed=2)), "n.jpg"))
    assert noise["FaceDetails"] == []


@needs_weights
def test_weights_can_come_from_a_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from eventlens.analyzers.faces import FaceAnalyzer
    from eventlens.analyzers.faces.nets import NETS, WEIGHTS_ENV, WeightsMissing, weights_path

    for net in NETS:
        shutil.copyfile(weights_path(net), tmp_path / f"{net}.pt")
    monkeypatch.setenv(WEIGHTS_ENV, str(tmp_path))
    analyzer = FaceAnalyzer()
    assert analyzer.model_version.startswith("mtcnn/mtcnn-weights/")
    faces = analyzer.analyze(ImageInput(jpeg(skimage_data.astronaut()), "a.jpg"))["FaceDetails"]
    assert len(faces) == 1
    (tmp_path / "onet.pt").unlink()
    with pytest.raises(WeightsMissing, match=r"onet\.pt"):
        weights_path("onet")
