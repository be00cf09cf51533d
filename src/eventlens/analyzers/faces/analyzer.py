"""DetectFaces offline: MTCNN (facenet-pytorch's weights, rebuilt as ONNX graphs) on ONNX
Runtime; only ONNX Runtime, numpy and Pillow at run time — never torch."""

from __future__ import annotations

from typing import Any

from PIL import Image

from eventlens.analyzers.base import Findings
from eventlens.analyzers.faces.mtcnn import Cascade, Face
from eventlens.analyzers.geometry import bounding_box
from eventlens.analyzers.model import ModelAnalyzer
from eventlens.imaging import ImageInput

#: MTCNN's five points, named as Rekognition names its landmarks (image left/right).
LANDMARK_TYPES = ("eyeLeft", "eyeRight", "nose", "mouthLeft", "mouthRight")


class FaceAnalyzer(ModelAnalyzer[Cascade]):
    name = "faces"
    method = "mtcnn-onnx"

    def __init__(
        self,
        *,
        min_confidence: float = 90.0,
        min_face: int = 20,
        max_side: int = 1280,
        intra_op_threads: int | None = None,
    ) -> None:
        super().__init__(intra_op_threads)
        self.min_confidence = min_confidence
        self.min_face = min_face
        self.max_side = max_side

    @property
    def model_version(self) -> str:
        from eventlens.analyzers.faces.nets import weights_version

        return (
            f"mtcnn/{weights_version()}/min{self.min_confidence:g}/face{self.min_face}"
            f"/side{self.max_side}"
        )

    def _open(self) -> Cascade:
        from eventlens.analyzers.faces.nets import build_all

        sessions = {name: self.session(model) for name, model in build_all().items()}
        return Cascade(
            sessions["pnet"].run, sessions["rnet"].run, sessions["onet"].run, min_face=self.min_face
        )

    def analyze(self, image: ImageInput) -> Findings:
        cascade = self.loaded()
        picture = image.decode(min_short_side=min(self.max_side, 720)).image
        scale = min(1.0, self.max_side / max(picture.size))
        if scale < 1.0:
            size = (max(1, round(picture.width * scale)), max(1, round(picture.height * scale)))
            picture = picture.resize(size, Image.Resampling.BOX)
        faces = cascade.detect(picture)
        details = [
            _detail(face, picture.width, picture.height)
            for face in sorted(faces, key=lambda f: -f.score)
            if face.score * 100 >= self.min_confidence
        ]
        return {"FaceDetails": details, "FaceModelVersion": self.model_version}


def _detail(face: Face, width: int, height: int) -> dict[str, Any]:
    x1, y1, x2, y2 = face.box
    return {
        "BoundingBox": bounding_box(x1, y1, x2, y2, width, height),
        "Confidence": round(face.score * 100, 3),
        "Landmarks": [
            {
                "Type": kind,
                "X": round(min(1.0, max(0.0, x / width)), 6),
                "Y": round(min(1.0, max(0.0, y / height)), 6),
            }
            for kind, (x, y) in zip(LANDMARK_TYPES, face.landmarks, strict=True)
        ],
    }
