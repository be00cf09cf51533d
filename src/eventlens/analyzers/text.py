"""DetectText offline: PP-OCRv4 (detection + recognition ONNX models bundled in
``rapidocr-onnxruntime``) run on ONNX Runtime, output in Rekognition's DetectText shape.

``rapidocr-onnxruntime`` declares ``opencv-python`` as a dependency, which would land beside
``opencv-python-headless``; install it with ``pip install --no-deps rapidocr-onnxruntime==1.4.4``
after ``pip install 'eventlens[text]'`` (the extra lists its real needs).

Limitation: the PP-OCRv4 recogniser (trained mostly on Chinese) sometimes drops the space
between Latin words set in small type, so two words can come back as one WORD.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image

from eventlens.analyzers.base import Findings
from eventlens.analyzers.geometry import Point, geometry
from eventlens.analyzers.model import ModelAnalyzer, package_version
from eventlens.imaging import ImageInput

#: Images are decoded so that their short side is at least this (JPEG draft mode) ...
DECODE_SHORT_SIDE = 1024
#: ... and scaled down so that their long side is at most this: detection time and memory
#: grow with the pixel count, and text smaller than ~1 % of a 1600-pixel side is rarely wanted.
DEFAULT_MAX_SIDE = 1600


class TextAnalyzer(ModelAnalyzer[Any]):
    """rapidocr's engine opens its own ONNX Runtime sessions (with these intra-op threads)."""

    name = "text"
    method = "pp-ocrv4-onnx"
    install_hint = (
        "the text analyzer needs rapidocr-onnxruntime: pip install 'eventlens[text]' && "
        "pip install --no-deps rapidocr-onnxruntime==1.4.4"
    )

    def __init__(
        self,
        *,
        min_confidence: float = 50.0,
        max_side: int = DEFAULT_MAX_SIDE,
        intra_op_threads: int | None = None,
    ) -> None:
        super().__init__(intra_op_threads)
        self.min_confidence = min_confidence
        self.max_side = max_side
        self._call_lock = threading.Lock()  # rapidocr keeps each call's options in the engine

    @property
    def model_version(self) -> str:
        version = package_version("rapidocr-onnxruntime")
        return (
            f"rapidocr-onnxruntime/{version}/PP-OCRv4/min{self.min_confidence:g}"
            f"/side{self.max_side}"
        )

    def _open(self) -> Any:
        from rapidocr_onnxruntime import RapidOCR

        return RapidOCR(intra_op_num_threads=self.intra_op_threads or -1)

    def analyze(self, image: ImageInput) -> Findings:
        engine = self.loaded()
        picture = image.decode(min_short_side=DECODE_SHORT_SIDE).image
        scale = self.max_side / max(picture.size)
        if scale < 1:
            size = (max(1, round(picture.width * scale)), max(1, round(picture.height * scale)))
            picture = picture.resize(size, Image.Resampling.LANCZOS)
        pixels = np.asarray(picture)
        height, width = pixels.shape[:2]
        # RapidOCR treats a 3-channel array as BGR (OpenCV order)
        bgr = np.ascontiguousarray(pixels[:, :, ::-1])
        with self._call_lock:
            result, _ = engine(bgr, text_score=self.min_confidence / 100)
        lines: list[tuple[list[Point], str, float]] = [
            ([(float(x), float(y)) for x, y in box], str(text), float(score))
            for box, text, score in result or []
        ]
        return {
            "TextDetections": to_detections(lines, width, height, self.min_confidence),
            "TextModelVersion": self.model_version,
        }


def to_detections(
    lines: Sequence[tuple[Sequence[Point], str, float]],
    width: int,
    height: int,
    min_confidence: float = 0.0,
) -> list[dict[str, Any]]:
    """OCR lines (quad in pixels, text, score 0-1) → DetectText ``TextDetections``: every LINE,
    then its WORDs (``ParentId`` = the line's ``Id``), words boxed by interpolating along the
    line's quadrilateral in proportion to character positions."""
    line_items: list[dict[str, Any]] = []
    word_items: list[dict[str, Any]] = []
    next_id = 0
    for quad, text, score in lines:
        text = text.strip()
        confidence = round(score * 100, 3)
        if not text or confidence < min_confidence or len(quad) != 4:
            continue
        line_id = next_id
        next_id += 1
        line_items.append(
            {
                "DetectedText": text,
                "Type": "LINE",
                "Id": line_id,
                "Confidence": confidence,
                "Geometry": geometry(quad, width, height),
            }
        )
        for start, end, word in _words(text):
            word_quad = _sub_quad(quad, start / len(text), end / len(text))
            word_items.append(
                {
                    "DetectedText": word,
                    "Type": "WORD",
                    "Id": -1,
                    "ParentId": line_id,
                    "Confidence": confidence,
                    "Geometry": geometry(word_quad, width, height),
                }
            )
    for item in word_items:
        item["Id"] = next_id
        next_id += 1
    return line_items + word_items


def _words(text: str) -> list[tuple[int, int, str]]:
    spans: list[tuple[int, int, str]] = []
    start = None
    for i, char in enumerate(text + " "):
        if char.isspace():
            if start is not None:
                spans.append((start, i, text[start:i]))
                start = None
        elif start is None:
            start = i
    return spans


def _sub_quad(quad: Sequence[Point], t0: float, t1: float) -> list[Point]:
    """The part of a quad (top-left, top-right, bottom-right, bottom-left) between fractions
    ``t0`` and ``t1`` of its length."""
    tl, tr, br, bl = quad

    def lerp(a: Point, b: Point, t: float) -> Point:
        return (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t)

    return [lerp(tl, tr, t0), lerp(tl, tr, t1), lerp(bl, br, t1), lerp(bl, br, t0)]
