"""Image properties (DetectLabels' ImageProperties shape) and searching them by colour."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter
from typer.testing import CliRunner

from eventlens.analyzers.image_properties import (
    ImagePropertiesAnalyzer,
    css_color,
    image_properties,
    simplified_color,
)
from eventlens.cli.main import app
from eventlens.imaging import ImageInput
from eventlens.settings import Settings
from tests.labels_support import encode, photo


def _flag() -> Image.Image:
    """Left 70 % pure red, right 30 % pure blue."""
    pixels = np.zeros((100, 200, 3), np.uint8)
    pixels[:, :140] = (255, 0, 0)
    pixels[:, 140:] = (0, 0, 255)
    return Image.fromarray(pixels)


def test_dominant_colours_have_every_rekognition_field_and_the_right_shares() -> None:
    colors = image_properties(_flag())["DominantColors"]
    assert [c["SimplifiedColor"] for c in colors] == ["red", "blue"]
    red, blue = colors
    assert set(red) == {
        "Red", "Green", "Blue", "HexCode", "CSSColor", "SimplifiedColor", "PixelPercent"
    }  # fmt: skip
    assert (red["Red"], red["Green"], red["Blue"], red["HexCode"]) == (255, 0, 0, "#FF0000")
    assert red["CSSColor"] == "red" and blue["CSSColor"] == "blue"
    assert red["PixelPercent"] == pytest.approx(70, abs=1)
    assert blue["PixelPercent"] == pytest.approx(30, abs=1)


@pytest.mark.parametrize(
    ("rgb", "name"),
    [((250, 250, 250), "white"), ((10, 10, 12), "black"), ((128, 128, 128), "grey"),
     ((30, 160, 40), "green"), ((240, 200, 20), "yellow"), ((250, 140, 20), "orange"),
     ((120, 60, 20), "brown"), ((120, 40, 170), "purple"), ((250, 150, 200), "pink"),
     ((40, 90, 200), "blue")],
)  # fmt: skip
def test_simplified_colours(rgb: tuple[int, int, int], name: str) -> None:
    assert simplified_color(rgb) == name


def test_css_colour_is_the_nearest_named_colour() -> None:
    assert css_color((250, 128, 114)) == "salmon"
    assert css_color((1, 1, 1)) == "black"


def test_quality_follows_brightness_contrast_and_sharpness() -> None:
    flat_dark = image_properties(Image.new("RGB", (64, 64), (20, 20, 20)))["Quality"]
    assert flat_dark["Brightness"] < 10 and flat_dark["Contrast"] == 0
    assert flat_dark["Sharpness"] == 0
    cat = Image.open(__import__("io").BytesIO(photo("chelsea")))
    sharp = image_properties(cat)["Quality"]
    blurred = image_properties(cat.filter(ImageFilter.GaussianBlur(4)))["Quality"]
    assert set(sharp) == {"Brightness", "Sharpness", "Contrast"}
    assert all(0 <= v <= 100 for v in sharp.values())
    assert blurred["Sharpness"] < sharp["Sharpness"] / 2


def test_analyzer_on_a_photo_and_on_a_greyscale_file() -> None:
    analyzer = ImagePropertiesAnalyzer()
    findings = analyzer.analyze(ImageInput(photo("coffee"), "coffee.jpg"))
    assert analyzer.record_labels(findings) == []
    assert {c["SimplifiedColor"] for c in findings["DominantColors"]} & {"red", "brown"}
    grey = encode(np.full((50, 50), 128, np.uint8), "PNG")
    colors = analyzer.analyze(ImageInput(grey, "grey.png"))["DominantColors"]
    assert [c["SimplifiedColor"] for c in colors] == ["grey"]


def test_on_by_default_locally() -> None:
    assert Settings().analyzers_by_environment() == {
        "beta": ["labels", "image_properties"],
        "prod": ["labels", "image_properties"],
    }


def test_run_stores_properties_and_search_finds_by_colour(tmp_path: Path) -> None:
    beta = tmp_path / "rekognition-input" / "beta"
    beta.mkdir(parents=True)
    (beta / "red.png").write_bytes(encode(np.asarray(_flag()), "PNG"))
    green = np.zeros((80, 80, 3), np.uint8)
    green[:] = (20, 150, 40)
    (beta / "green.png").write_bytes(encode(green, "PNG"))
    runner = CliRunner()
    result = runner.invoke(
        app, ["run", "--once", "--root", str(tmp_path), "--label-model", "lite0"]
    )
    assert result.exit_code == 0, result.output

    def search(color: str) -> list[str]:
        args = ["results", "search", "--env", "beta", "--color", color, "--json"]
        out = runner.invoke(app, [*args, "--root", str(tmp_path)])
        assert out.exit_code == 0, out.output
        return sorted(r["filename"].rsplit("/", 1)[-1] for r in json.loads(out.output))

    assert search("red") == ["red.png"]
    assert search("Blue") == ["red.png"]  # the flag's other colour; case-insensitive
    assert search("green") == ["green.png"]
    assert search("purple") == []
    stored = runner.invoke(
        app, ["results", "get", "--env", "beta", "rekognition-input/beta/green.png", "--json",
              "--root", str(tmp_path)],
    )  # fmt: skip
    properties = json.loads(stored.output)["findings"]["image_properties"]
    assert properties["DominantColors"][0]["SimplifiedColor"] == "green"
    assert set(properties["Quality"]) == {"Brightness", "Sharpness", "Contrast"}
