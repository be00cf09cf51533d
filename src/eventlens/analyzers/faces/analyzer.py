"""DetectFaces offline: MTCNN (facenet-pytorch's weights, rebuilt as ONNX graphs) on ONNX
Runtime; only ONNX Runtime, numpy and Pillow at run time — never torch."""

from __future__ import annotations

import threading
from typing import Any

from PIL import Image

from eventlens.analyzers.base import Analyzer, Findings
from eventlens.analyzers.faces.mtcnn import Cascade, Face
from eventlens.analyzers.geometry import bounding_box
from eventlens.imaging import ImageInput

#: MTCNN's five points, named as Rekognition names its landmarks (image left/right).
LANDMARK_TYPES = ("eyeLeft", "eyeRight", "nose", "mouthLeft", "mouthRight")


class FaceAnalyzer(Analyzer):
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
        self.min_confidence = min_confidence
        self.min_face = min_face
        self.max_side = max_side
        self.intra_op_threads = intra_op_threads
        self._cascade: Cascade | None = None
        self._lock = threading.Lock()

    @property
    def model_version(self) -> str:
        from eventlens.analyzers.faces.nets import weights_version

        return (
            f"mtcnn/{weights_version()}/min{self.min_confidence:g}/face{self.min_face}"
            f"/side{self.max_side}"
        )

    def load(self) -> None:
        with self._lock:
            if self._cascade is not None:
                return
            import onnxruntime as ort

            from eventlens.analyzers.faces.nets import build_all

            options = ort.SessionOptions()
            if self.intra_op_threads:
                options.intra_op_num_threads = self.intra_op_threads
            sessions: dict[str, Any] = {
                name: ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
                for name, model in build_all().items()
            }
            self._cascade = Cascade(
                sessions["pnet"].run,
                sessions["rnet"].run,
                sessions["onet"].run,
                min_face=self.min_face,
            )

    def analyze(self, image: ImageInput) -> Findings:
        self.load()
        assert self._cascade is not None
        picture = image.decode(min_short_side=min(self.max_side, 720)).image
        scale = min(1.0, self.max_side / max(picture.size))
        if scale < 1.0:
            size = (max(1, round(picture.width * scale)), max(1, round(picture.height * scale)))
            picture = picture.resize(size, Image.Resampling.BOX)
        faces = self._cascade.detect(picture)
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
