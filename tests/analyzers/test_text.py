from __future__ import annotations

import importlib.util

import pytest
from PIL import Image, ImageDraw, ImageFont

from eventlens.analyzers import registry
from eventlens.analyzers.text import TextAnalyzer, to_detections
from eventlens.imaging import ImageInput
from tests.images import encode, photo_like

needs_rapidocr = pytest.mark.skipif(
    importlib.util.find_spec("rapidocr_onnxruntime") is None,
    reason="rapidocr-onnxruntime not installed (pip install --no-deps rapidocr-onnxruntime==1.4.4)",
)


def rendered(lines: list[str], size: tuple[int, int] = (900, 300)) -> bytes:
    """Black text on white at 56 px (Pillow's built-in scalable font), a line every 100 px."""
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=56)
    for i, line in enumerate(lines):
        draw.text((24, 30 + i * 100), line, fill="black", font=font)
    return encode(image, "PNG")


def test_detections_have_lines_then_words_with_parents_and_ratio_geometry() -> None:
    quad = [(10.0, 20.0), (210.0, 20.0), (210.0, 60.0), (10.0, 60.0)]
    out = to_detections([(quad, "Hello  big world", 0.9), (quad, "x", 0.2)], 400, 100, 50.0)
    lines = [d for d in out if d["Type"] == "LINE"]
    words = [d for d in out if d["Type"] == "WORD"]
    assert [d["DetectedText"] for d in lines] == ["Hello  big world"]
    assert [d["DetectedText"] for d in words] == ["Hello", "big", "world"]
    assert {d["ParentId"] for d in words} == {lines[0]["Id"]}
    assert len({d["Id"] for d in out}) == len(out)
    box = lines[0]["Geometry"]["BoundingBox"]
    assert box == {"Width": 0.5, "Height": 0.4, "Left": 0.025, "Top": 0.2}
    assert lines[0]["Confidence"] == 90.0
    # words are left to right inside the line
    lefts = [w["Geometry"]["BoundingBox"]["Left"] for w in words]
    assert lefts == sorted(lefts) and lefts[0] == box["Left"]
    assert words[-1]["Geometry"]["BoundingBox"]["Left"] + words[-1]["Geometry"]["BoundingBox"][
        "Width"
    ] == pytest.approx(box["Left"] + box["Width"], abs=1e-5)
    assert len(words[0]["Geometry"]["Polygon"]) == 4


@needs_rapidocr
def test_rendered_words_are_found_with_their_positions() -> None:
    analyzer = registry.create("text", registry.AnalyzerContext())
    assert isinstance(analyzer, TextAnalyzer)
    findings = analyzer.analyze(ImageInput(rendered(["INVOICE 4711", "Total due"]), "a.png"))
    detections = findings["TextDetections"]
    words = {d["DetectedText"].upper() for d in detections if d["Type"] == "WORD"}
    assert {"INVOICE", "4711", "TOTAL", "DUE"} <= words
    lines = [d for d in detections if d["Type"] == "LINE"]
    first = next(d for d in lines if "INVOICE" in d["DetectedText"].upper())
    box = first["Geometry"]["BoundingBox"]
    assert 0.0 <= box["Left"] < 0.1 and 0.05 < box["Top"] < 0.25  # drawn at (24, 30)
    assert all(0 <= d["Confidence"] <= 100 for d in detections)
    assert findings["TextModelVersion"].startswith("rapidocr-onnxruntime/1.4.4")


@needs_rapidocr
def test_photo_without_text_yields_no_detections() -> None:
    analyzer = TextAnalyzer()
    findings = analyzer.analyze(ImageInput(encode(photo_like(320, 240, seed=3)), "p.jpg"))
    assert findings["TextDetections"] == []


@needs_rapidocr
def test_large_scans_are_scaled_down_and_boxes_stay_ratios() -> None:
    image = Image.new("RGB", (4000, 2400), "white")
    ImageDraw.Draw(image).text(
        (2000, 1200), "RECEIPT", fill="black", font=ImageFont.load_default(size=160)
    )
    analyzer = TextAnalyzer(max_side=1200)
    findings = analyzer.analyze(ImageInput(encode(image, "PNG"), "scan.png"))
    words = [d for d in findings["TextDetections"] if d["Type"] == "WORD"]
    assert [w["DetectedText"] for w in words] == ["RECEIPT"]
    box = words[0]["Geometry"]["BoundingBox"]
    assert box["Left"] == pytest.approx(0.5, abs=0.02) and box["Top"] == pytest.approx(
        0.5, abs=0.03
    )
    assert "side1200" in analyzer.model_version
