"""The MTCNN cascade in numpy (after ``facenet_pytorch.models.utils.detect_face``): an image
pyramid through P-Net, NMS, box regression and squaring, then R-Net and O-Net on crops."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from PIL import Image

from eventlens.analyzers.boxes import non_maximum_suppression

Array = np.ndarray[Any, Any]
Run = Any  # an onnxruntime InferenceSession's ``run``


@dataclass(frozen=True, slots=True)
class Face:
    box: tuple[float, float, float, float]  # x1, y1, x2, y2 in pixels
    score: float  # O-Net's face probability, 0-1
    landmarks: tuple[tuple[float, float], ...]  # eyes (left, right in the image), nose, mouth


def _normalise(pixels: Array) -> Array:
    """(H, W, 3) uint8 RGB → (1, 3, H, W) float32 scaled as MTCNN was trained."""
    return ((pixels.astype(np.float32) - 127.5) * 0.0078125).transpose(2, 0, 1)[None]


def _nms(boxes: Array, threshold: float, overlap: Literal["union", "min"] = "union") -> Array:
    """Rows (x1, y1, x2, y2, score, ...) in pixels -> the indexes NMS keeps."""
    return non_maximum_suppression(
        boxes[:, :4], boxes[:, 4], threshold, overlap=overlap, pixel_edges=True
    )


def _square(boxes: Array) -> Array:
    out = boxes.copy()
    w = boxes[:, 2] - boxes[:, 0]
    h = boxes[:, 3] - boxes[:, 1]
    side = np.maximum(w, h)
    out[:, 0] = boxes[:, 0] + w * 0.5 - side * 0.5
    out[:, 1] = boxes[:, 1] + h * 0.5 - side * 0.5
    out[:, 2] = out[:, 0] + side
    out[:, 3] = out[:, 1] + side
    return out


def _regress(boxes: Array, reg: Array) -> Array:
    out = boxes.copy()
    w = boxes[:, 2] - boxes[:, 0] + 1
    h = boxes[:, 3] - boxes[:, 1] + 1
    out[:, 0] += reg[:, 0] * w
    out[:, 1] += reg[:, 1] * h
    out[:, 2] += reg[:, 2] * w
    out[:, 3] += reg[:, 3] * h
    return out


def _crops(image: Image.Image, boxes: Array, size: int) -> Array:
    """Each box cut from the image (parts outside stay black), resized to size x size."""
    width, height = image.size
    batch = np.zeros((len(boxes), size, size, 3), dtype=np.uint8)
    for k, (x1, y1, x2, y2) in enumerate(boxes[:, :4].astype(np.int64)):
        side_w, side_h = int(x2 - x1 + 1), int(y2 - y1 + 1)
        if side_w < 1 or side_h < 1:
            continue
        patch = Image.new("RGB", (side_w, side_h))
        cx1, cy1 = max(0, x1), max(0, y1)
        cx2, cy2 = min(width, x2 + 1), min(height, y2 + 1)
        if cx2 > cx1 and cy2 > cy1:
            patch.paste(image.crop((cx1, cy1, cx2, cy2)), (int(cx1 - x1), int(cy1 - y1)))
        batch[k] = np.asarray(patch.resize((size, size), Image.Resampling.BOX))
    return ((batch.astype(np.float32) - 127.5) * 0.0078125).transpose(0, 3, 1, 2)


@dataclass(slots=True)
class Cascade:
    pnet: Run
    rnet: Run
    onet: Run
    min_face: int = 20
    factor: float = 0.709
    thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7)

    def detect(self, image: Image.Image) -> list[Face]:
        boxes = self._stage1(image)
        if len(boxes):
            boxes = self._stage2(image, boxes)
        if not len(boxes):
            return []
        return self._stage3(image, boxes)

    def _stage1(self, image: Image.Image) -> Array:
        width, height = image.size
        scale = 12.0 / self.min_face
        short = min(width, height) * scale
        found: list[Array] = []
        while short >= 12:
            size = (int(width * scale + 1), int(height * scale + 1))
            pixels = np.asarray(image.resize(size, Image.Resampling.BOX))
            reg, prob = self.pnet(["reg", "prob"], {"image": _normalise(pixels)})
            ys, xs = np.nonzero(prob[0, 1] >= self.thresholds[0])
            if ys.size:
                score = prob[0, 1, ys, xs]
                cell = np.stack([xs, ys], axis=1).astype(np.float32)
                q1 = np.floor((2 * cell + 1) / scale)
                q2 = np.floor((2 * cell + 12) / scale)
                candidates = np.concatenate(
                    [q1, q2, score[:, None], reg[0, :, ys, xs].reshape(len(ys), 4)], axis=1
                )
                found.append(candidates[_nms(candidates, 0.5)])
            scale *= self.factor
            short *= self.factor
        if not found:
            return np.zeros((0, 5), dtype=np.float32)
        boxes = np.concatenate(found)
        boxes = boxes[_nms(boxes, 0.7)]
        regressed = _pnet_regress(boxes)
        return _square(np.concatenate([regressed, boxes[:, 4:5]], axis=1))

    def _stage2(self, image: Image.Image, boxes: Array) -> Array:
        reg, prob = self.rnet(["reg", "prob"], {"image": _crops(image, boxes, 24)})
        keep = prob[:, 1] > self.thresholds[1]
        boxes = np.concatenate([boxes[keep, :4], prob[keep, 1:2]], axis=1)
        reg = reg[keep]
        pick = _nms(boxes, 0.7)
        boxes, reg = boxes[pick], reg[pick]
        boxes[:, :4] = _regress(boxes[:, :4], reg)
        return _square(boxes)

    def _stage3(self, image: Image.Image, boxes: Array) -> list[Face]:
        reg, points, prob = self.onet(
            ["reg", "landmarks", "prob"], {"image": _crops(image, boxes, 48)}
        )
        keep = prob[:, 1] > self.thresholds[2]
        boxes = np.concatenate([boxes[keep, :4], prob[keep, 1:2]], axis=1)
        reg, points = reg[keep], points[keep]
        w = boxes[:, 2] - boxes[:, 0] + 1
        h = boxes[:, 3] - boxes[:, 1] + 1
        xs = w[:, None] * points[:, :5] + boxes[:, 0:1] - 1
        ys = h[:, None] * points[:, 5:] + boxes[:, 1:2] - 1
        boxes[:, :4] = _regress(boxes[:, :4], reg)
        pick = _nms(boxes, 0.7, overlap="min")
        return [
            Face(
                box=(
                    float(boxes[i, 0]),
                    float(boxes[i, 1]),
                    float(boxes[i, 2]),
                    float(boxes[i, 3]),
                ),
                score=float(boxes[i, 4]),
                landmarks=tuple((float(xs[i, j]), float(ys[i, j])) for j in range(5)),
            )
            for i in pick
        ]


def _pnet_regress(boxes: Array) -> Array:
    """Stage-one regression exactly as facenet-pytorch: offsets times (x2 - x1), no +1."""
    w = boxes[:, 2] - boxes[:, 0]
    h = boxes[:, 3] - boxes[:, 1]
    return np.stack(
        [
            boxes[:, 0] + boxes[:, 5] * w,
            boxes[:, 1] + boxes[:, 6] * h,
            boxes[:, 2] + boxes[:, 7] * w,
            boxes[:, 3] + boxes[:, 8] * h,
        ],
        axis=1,
    )
