"""Searchable terms drawn from a record's findings (the other analyzers' Rekognition shapes).

Kinds: ``text`` (each detected WORD and LINE, lower-cased), ``faces`` (one term ``face`` per
record with faces; the confidence is the best face's), ``moderation`` (each moderation label
and its parent category), ``duplicate`` (the key of the earlier image it duplicates),
``color`` (each dominant colour's SimplifiedColor and CSSColor; the confidence is the share of
the image's pixels in that colour, summed over the dominant colours with that name).
"""

from __future__ import annotations

from typing import Any

from eventlens.results.record import Record

KINDS = ("text", "faces", "moderation", "duplicate", "color")
#: detected text with fewer letters or digits than this is OCR noise, not searchable text
MIN_TEXT_CHARS = 2
ANY = "*"


def finding_terms(record: Record) -> list[tuple[str, str, float]]:
    """(kind, value, confidence) triples, one per distinct (kind, value)."""
    best: dict[tuple[str, str], float] = {}

    def add(kind: str, value: Any, confidence: Any) -> None:
        text = str(value).strip()
        if text:
            key = (kind, text.lower() if kind == "text" else text)
            best[key] = max(best.get(key, 0.0), float(confidence or 0.0))

    findings = record.findings if isinstance(record.findings, dict) else {}
    for detection in items_of(findings.get("text"), "TextDetections"):
        detected = str(detection.get("DetectedText", ""))
        if sum(c.isalnum() for c in detected) >= MIN_TEXT_CHARS:  # OCR noise: "|", "-", "e"
            add("text", detected, detection.get("Confidence"))
    faces = items_of(findings.get("faces"), "FaceDetails")
    if faces:
        add("faces", "face", max(float(f.get("Confidence", 0.0) or 0.0) for f in faces))
    for label in items_of(findings.get("moderation"), "ModerationLabels"):
        add("moderation", label.get("Name", ""), label.get("Confidence"))
    for name, share in color_shares(findings.get("image_properties")).items():
        add("color", name, share)
    duplicates = findings.get("duplicates")
    if isinstance(duplicates, dict) and duplicates.get("DuplicateOf"):
        add("duplicate", duplicates["DuplicateOf"], 100.0)
    return [(kind, value, confidence) for (kind, value), confidence in best.items()]


def matches(record: Record, wanted: tuple[tuple[str, str], ...]) -> bool:
    """True when the record has every (kind, value) term (value ``*``: any of that kind);
    values compare case-insensitively, as in the SQLite index."""
    if not wanted:
        return True
    have = {(kind, value.casefold()) for kind, value, _ in finding_terms(record)}
    kinds = {kind for kind, _ in have}
    return all(
        kind in kinds if value == ANY else (kind, value.casefold()) in have
        for kind, value in wanted
    )


def color_shares(properties: Any) -> dict[str, float]:
    """Colour name (simplified and CSS, lower case) -> percent of the pixels."""
    shares: dict[str, float] = {}
    for color in items_of(properties, "DominantColors"):
        try:
            percent = float(color.get("PixelPercent") or 0.0)
        except (TypeError, ValueError):
            continue
        for key in ("SimplifiedColor", "CSSColor"):
            name = str(color.get(key) or "").strip().lower()
            if name:
                shares[name] = shares.get(name, 0.0) + percent
    return shares


def items_of(value: Any, key: str) -> list[dict[str, Any]]:
    """The list under ``key`` of a Rekognition-shaped dict (or a bare list, as some writers
    store it); anything else, or entries that are not objects, count as nothing."""
    items = value.get(key, []) if isinstance(value, dict) else value
    if not isinstance(items, list):
        return []
    return [item for item in items if isinstance(item, dict)]
