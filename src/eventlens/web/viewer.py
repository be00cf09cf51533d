"""What the record page shows, drawn from the record's Rekognition-shaped findings: boxes over
the image, labels with their parents, image properties, EXIF facts, duplicates.

Findings come from analyzers and, on AWS, from a service: every value is checked here, so a
missing or odd one leaves a part of the page empty instead of breaking it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from eventlens.exif import CAPTURE_TAGS, format_position
from eventlens.imaging import looks_like_video_key
from eventlens.results.finding_terms import items_of
from eventlens.results.record import Record


@dataclass(frozen=True, slots=True)
class Box:
    """A region of the image, in percent of its width and height."""

    kind: str  # "label" (a label's Instances), "face" or "text"
    name: str
    confidence: float | None
    left: float
    top: float
    width: float
    height: float

    @property
    def style(self) -> str:
        return (
            f"left:{self.left:.3f}%;top:{self.top:.3f}%;"
            f"width:{self.width:.3f}%;height:{self.height:.3f}%"
        )


@dataclass(frozen=True, slots=True)
class LabelRow:
    name: str
    confidence: float
    specific: bool  # not a parent of another label of this record
    parents: list[str]
    instances: int


@dataclass(frozen=True, slots=True)
class Colour:
    hex: str  # "#aabbcc", checked
    name: str  # the CSS or simplified colour name
    percent: float | None


@dataclass(frozen=True, slots=True)
class ImageProperties:
    quality: list[tuple[str, float]]  # (Brightness | Sharpness | Contrast, 0..100)
    colours: list[Colour]


def boxes(record: Record) -> list[Box]:
    """Label instances (``Person`` ...), faces, and text lines (words where there are none)."""
    found: list[Box] = []
    for label in record.labels:
        for instance in items_of(label.get("Instances"), "Instances"):
            box = _box("label", str(label.get("Name", "")), instance.get("BoundingBox"), instance)
            if box:
                found.append(box)
    for face in items_of(_findings(record).get("faces"), "FaceDetails"):
        box = _box("face", "face", face.get("BoundingBox"), face)
        if box:
            found.append(box)
    detections = items_of(_findings(record).get("text"), "TextDetections")
    lines = [d for d in detections if d.get("Type") == "LINE"] or detections
    for detection in lines:
        geometry = detection.get("Geometry")
        where = geometry.get("BoundingBox") if isinstance(geometry, dict) else None
        box = _box("text", str(detection.get("DetectedText", "")), where, detection)
        if box:
            found.append(box)
    return found


def label_rows(record: Record) -> list[LabelRow]:
    """Every label, most confident first."""
    specific = {name.casefold() for name in record.specific_label_names()}
    rows = []
    for label in record.labels:
        name = str(label.get("Name", ""))
        parents = [
            str(p.get("Name", "")) for p in label.get("Parents") or [] if isinstance(p, dict)
        ]
        rows.append(
            LabelRow(
                name, _number(label.get("Confidence")) or 0.0, name.casefold() in specific,
                [p for p in parents if p], len(items_of(label.get("Instances"), "Instances")),
            )
        )  # fmt: skip
    return sorted(rows, key=lambda row: -row.confidence)


def image_properties(record: Record) -> ImageProperties | None:
    """DetectLabels' ``ImageProperties``: quality and dominant colours (None when absent)."""
    found = _findings(record).get("image_properties")
    if not isinstance(found, dict):
        return None
    quality_in = found.get("Quality")
    quality: list[tuple[str, float]] = []
    if isinstance(quality_in, dict):
        for name in ("Brightness", "Sharpness", "Contrast"):
            value = _number(quality_in.get(name))
            if value is not None:
                quality.append((name, max(0.0, min(100.0, value))))
    colours = []
    for colour in items_of(found.get("DominantColors"), "DominantColors"):
        hex_code = _hex(colour)
        if hex_code:
            name = str(colour.get("CSSColor") or colour.get("SimplifiedColor") or hex_code)
            colours.append(Colour(hex_code, name[:40], _number(colour.get("PixelPercent"))))
    if not quality and not colours:
        return None
    return ImageProperties(quality, colours)


def exif_rows(record: Record) -> list[tuple[str, str]]:
    """(what, value) lines: capture time, camera, lens, position."""
    exif = _findings(record).get("exif")
    exif = exif if isinstance(exif, dict) else {}
    rows = []
    taken = record.captured_at or exif.get("DateTimeOriginal")
    if taken:
        zone = str(taken)[19:] or "camera's local time, no offset recorded"
        source = next((tag for tag, *_ in CAPTURE_TAGS if tag in exif), "DateTimeOriginal")
        shown = f"{str(taken)[:19].replace('T', ' ')} ({zone})"
        rows.append(("Taken", shown if source == "DateTimeOriginal" else f"{shown}, from {source}"))
    elif exif:
        rows.append(("Taken", f"unknown: {no_capture_reason(record)}"))
    camera = camera_name(exif.get("Make"), exif.get("Model"))
    if camera:
        rows.append(("Camera", camera))
    if exif.get("LensModel"):
        rows.append(("Lens", str(exif["LensModel"])))
    latitude, longitude = _number(exif.get("GPSLatitude")), _number(exif.get("GPSLongitude"))
    if latitude is not None and longitude is not None:
        position = format_position(latitude, longitude, _number(exif.get("GPSAltitude")))
        rows.append(("Position", position))
    return rows


def camera_name(make: object, model: object) -> str:
    """ "Canon EOS 80D", not "Canon Canon EOS 80D": many cameras repeat the make in the model."""
    make_text, model_text = str(make or "").strip(), str(model or "").strip()
    if make_text and model_text.casefold().startswith(make_text.casefold()):
        return model_text
    return " ".join(part for part in (make_text, model_text) if part)


def no_capture_reason(record: Record) -> str:
    """Why a record has no capture time, in words for the timeline."""
    if not record.ok:
        return "the file could not be read"
    if looks_like_video_key(record.filename):
        return "a video (no EXIF)"
    exif = _findings(record).get("exif")
    if not isinstance(exif, dict):
        return "no EXIF data (screenshots, edited and downloaded images often have none)"
    return str(exif.get("NoCaptureTime") or "no date in its EXIF")


def _findings(record: Record) -> dict[str, Any]:
    return record.findings if isinstance(record.findings, dict) else {}


def _box(kind: str, name: str, where: Any, source: dict[str, Any]) -> Box | None:
    if not isinstance(where, dict):
        return None
    left, top = _number(where.get("Left")), _number(where.get("Top"))
    width, height = _number(where.get("Width")), _number(where.get("Height"))
    if left is None or top is None or width is None or height is None:
        return None
    left, top = min(max(left, 0.0), 1.0), min(max(top, 0.0), 1.0)
    width, height = min(width, 1.0 - left), min(height, 1.0 - top)
    if width <= 0 or height <= 0:
        return None
    confidence = _number(source.get("Confidence"))
    return Box(kind, name[:80], confidence, left * 100, top * 100, width * 100, height * 100)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _hex(colour: dict[str, Any]) -> str | None:
    code = str(colour.get("HexCode") or "").strip().lstrip("#")
    if len(code) == 6 and all(c in "0123456789abcdefABCDEF" for c in code):
        return "#" + code.lower()
    channels = [_number(colour.get(k)) for k in ("Red", "Green", "Blue")]
    if all(c is not None and 0 <= c <= 255 for c in channels):
        return "#" + "".join(f"{int(c or 0):02x}" for c in channels)
    return None
