"""Face descriptors: dlib's ResNet face recognition model (128 numbers per face, faces of one
person closer than about 0.6 in Euclidean distance), on a 150x150 chip aligned by dlib's
5-point landmark model from the box the face detector found.

Both model files ship in the PyPI package ``face-recognition-models`` (CC0 1.0, Davis King's
models); dlib itself comes from the prebuilt ``dlib-bin`` wheel (Boost Software License). The
package's 68-point landmark model, whose training data forbids commercial use, is never loaded.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from eventlens.analyzers.base import AnalyzerUnavailable

#: the package and the two files read from it
MODEL_PACKAGE = "face-recognition-models"
RECOGNITION_FILE = "dlib_face_recognition_resnet_model_v1.dat"
LANDMARKS_FILE = "shape_predictor_5_face_landmarks.dat"
DIMENSIONS = 128
#: dlib's own default: the chip is 150 px with a quarter of the face's size as margin
CHIP_PADDING = 0.25

Descriptor = np.ndarray[Any, np.dtype[np.float32]]
Box = tuple[float, float, float, float]  # x1, y1, x2, y2 in pixels


def model_dir() -> Path:
    """The package's model folder, found without importing it (its ``__init__`` needs
    ``pkg_resources``, which current setuptools no longer has)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise AnalyzerUnavailable(
            f"the people analyzer needs {MODEL_PACKAGE}: pip install 'eventlens[people]'"
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / "models"
    for name in (RECOGNITION_FILE, LANDMARKS_FILE):
        if not (folder / name).is_file():
            raise AnalyzerUnavailable(f"{folder / name} is missing: reinstall {MODEL_PACKAGE}")
    return folder


class DlibDescriber:
    """Loaded once; ``describe`` is safe from several threads (dlib's networks are not, so
    calls are serialised)."""

    def __init__(self, folder: Path | None = None) -> None:
        try:
            import dlib
        except ImportError as exc:
            raise AnalyzerUnavailable(
                "the people analyzer needs dlib: pip install 'eventlens[people]' (dlib-bin)"
            ) from exc
        folder = folder or model_dir()
        self._dlib = dlib
        self._landmarks = dlib.shape_predictor(str(folder / LANDMARKS_FILE))
        self._network = dlib.face_recognition_model_v1(str(folder / RECOGNITION_FILE))
        self._lock = threading.Lock()

    def describe(
        self, rgb: np.ndarray[Any, np.dtype[np.uint8]], boxes: Sequence[Box]
    ) -> list[Descriptor]:
        """One descriptor per box of the ``rgb`` (height x width x 3, uint8) image."""
        if not boxes:
            return []
        pixels = np.ascontiguousarray(rgb, dtype=np.uint8)
        height, width = pixels.shape[:2]
        out: list[Descriptor] = []
        with self._lock:
            for x1, y1, x2, y2 in boxes:
                left, top = max(0, round(x1)), max(0, round(y1))
                right, bottom = min(width - 1, round(x2)), min(height - 1, round(y2))
                rect = self._dlib.rectangle(left, top, max(left + 1, right), max(top + 1, bottom))
                shape = self._landmarks(pixels, rect)
                values = self._network.compute_face_descriptor(pixels, shape, 0, CHIP_PADDING)
                out.append(np.asarray(values, dtype=np.float32))
        return out
