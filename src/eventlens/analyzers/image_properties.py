"""Image properties as Rekognition DetectLabels' ``IMAGE_PROPERTIES`` feature, from the
already decoded image: ``Quality`` (Brightness, Sharpness, Contrast, 0-100) and
``DominantColors`` (RGB, hex, the nearest CSS colour, a simplified colour, pixel share).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

from eventlens.analyzers.base import Analyzer, Findings
from eventlens.imaging import ImageInput

MODEL_VERSION = "image-properties/1"
#: Side of the thumbnail the statistics are computed on (the decode is already >= 256 px).
THUMBNAIL = 128
MAX_COLORS = 10
MIN_PIXEL_PERCENT = 1.0

#: CSS Color Module Level 3 names (one name per RGB value) used for ``CSSColor``.
CSS_COLORS: dict[str, tuple[int, int, int]] = {
    "black": (0, 0, 0), "dimgray": (105, 105, 105), "gray": (128, 128, 128),
    "darkgray": (169, 169, 169), "silver": (192, 192, 192), "lightgray": (211, 211, 211),
    "gainsboro": (220, 220, 220), "whitesmoke": (245, 245, 245), "white": (255, 255, 255),
    "snow": (255, 250, 250), "ivory": (255, 255, 240), "beige": (245, 245, 220),
    "linen": (250, 240, 230), "antiquewhite": (250, 235, 215), "wheat": (245, 222, 179),
    "tan": (210, 180, 140), "burlywood": (222, 184, 135), "rosybrown": (188, 143, 143),
    "sandybrown": (244, 164, 96), "peru": (205, 133, 63), "chocolate": (210, 105, 30),
    "sienna": (160, 82, 45), "saddlebrown": (139, 69, 19), "brown": (165, 42, 42),
    "maroon": (128, 0, 0), "darkred": (139, 0, 0), "firebrick": (178, 34, 34),
    "red": (255, 0, 0), "crimson": (220, 20, 60), "indianred": (205, 92, 92),
    "lightcoral": (240, 128, 128), "salmon": (250, 128, 114), "darksalmon": (233, 150, 122),
    "lightsalmon": (255, 160, 122), "coral": (255, 127, 80), "tomato": (255, 99, 71),
    "orangered": (255, 69, 0), "darkorange": (255, 140, 0), "orange": (255, 165, 0),
    "goldenrod": (218, 165, 32), "darkgoldenrod": (184, 134, 11), "gold": (255, 215, 0),
    "yellow": (255, 255, 0), "khaki": (240, 230, 140), "darkkhaki": (189, 183, 107),
    "palegoldenrod": (238, 232, 170), "lightyellow": (255, 255, 224), "olive": (128, 128, 0),
    "olivedrab": (107, 142, 35), "yellowgreen": (154, 205, 50), "darkolivegreen": (85, 107, 47),
    "greenyellow": (173, 255, 47), "chartreuse": (127, 255, 0), "lawngreen": (124, 252, 0),
    "lime": (0, 255, 0), "limegreen": (50, 205, 50), "palegreen": (152, 251, 152),
    "lightgreen": (144, 238, 144), "darkseagreen": (143, 188, 143),
    "mediumseagreen": (60, 179, 113),
    "seagreen": (46, 139, 87), "forestgreen": (34, 139, 34), "green": (0, 128, 0),
    "darkgreen": (0, 100, 0), "springgreen": (0, 255, 127), "mediumaquamarine": (102, 205, 170),
    "aquamarine": (127, 255, 212), "turquoise": (64, 224, 208), "lightseagreen": (32, 178, 170),
    "darkcyan": (0, 139, 139), "teal": (0, 128, 128), "cyan": (0, 255, 255),
    "paleturquoise": (175, 238, 238), "lightcyan": (224, 255, 255), "cadetblue": (95, 158, 160),
    "powderblue": (176, 224, 230), "lightblue": (173, 216, 230), "skyblue": (135, 206, 235),
    "lightskyblue": (135, 206, 250), "deepskyblue": (0, 191, 255), "steelblue": (70, 130, 180),
    "lightsteelblue": (176, 196, 222), "dodgerblue": (30, 144, 255),
    "cornflowerblue": (100, 149, 237), "royalblue": (65, 105, 225), "blue": (0, 0, 255),
    "mediumblue": (0, 0, 205), "darkblue": (0, 0, 139), "navy": (0, 0, 128),
    "midnightblue": (25, 25, 112), "slateblue": (106, 90, 205), "darkslateblue": (72, 61, 139),
    "mediumslateblue": (123, 104, 238), "mediumpurple": (147, 112, 219),
    "blueviolet": (138, 43, 226), "indigo": (75, 0, 130), "darkorchid": (153, 50, 204),
    "darkviolet": (148, 0, 211), "mediumorchid": (186, 85, 211), "purple": (128, 0, 128),
    "darkmagenta": (139, 0, 139), "magenta": (255, 0, 255), "violet": (238, 130, 238),
    "plum": (221, 160, 221), "thistle": (216, 191, 216), "lavender": (230, 230, 250),
    "orchid": (218, 112, 214), "mediumvioletred": (199, 21, 133), "deeppink": (255, 20, 147),
    "hotpink": (255, 105, 180), "palevioletred": (219, 112, 147), "pink": (255, 192, 203),
    "lightpink": (255, 182, 193), "mistyrose": (255, 228, 225), "slategray": (112, 128, 144),
    "lightslategray": (119, 136, 153), "darkslategray": (47, 79, 79),
}  # fmt: skip
#: Rekognition's simplified colour names.
SIMPLIFIED = ("black", "white", "grey", "red", "orange", "yellow", "green", "blue",
              "purple", "pink", "brown")  # fmt: skip

_CSS_NAMES = tuple(CSS_COLORS)
_CSS_RGB = np.array([CSS_COLORS[n] for n in _CSS_NAMES], dtype=np.float64)


def simplified_color(rgb: tuple[int, int, int]) -> str:
    """One of ``SIMPLIFIED`` for an RGB colour, from its hue, saturation and lightness."""
    r, g, b = (c / 255.0 for c in rgb)
    high, low = max(r, g, b), min(r, g, b)
    lightness = (high + low) / 2
    chroma = high - low
    if chroma < 0.08 or (chroma < 0.15 and (lightness < 0.2 or lightness > 0.85)):
        return "black" if lightness < 0.2 else "white" if lightness > 0.8 else "grey"
    if lightness < 0.1:
        return "black"
    if high == r:
        hue = 60 * (((g - b) / chroma) % 6)
    elif high == g:
        hue = 60 * ((b - r) / chroma + 2)
    else:
        hue = 60 * ((r - g) / chroma + 4)
    if hue < 15 or hue >= 340:
        return "pink" if lightness > 0.7 else "red"
    if hue < 45:
        return "brown" if lightness < 0.4 or chroma < 0.3 else "orange"
    if hue < 70:
        return "brown" if lightness < 0.3 else "yellow"
    if hue < 170:
        return "green"
    if hue < 260:
        return "blue"
    if hue < 300:
        return "purple"
    return "pink"


def css_color(rgb: tuple[int, int, int]) -> str:
    distances = ((_CSS_RGB - np.array(rgb, dtype=np.float64)) ** 2).sum(axis=1)
    return _CSS_NAMES[int(np.argmin(distances))]


def _color(rgb: tuple[int, int, int], percent: float) -> dict[str, Any]:
    r, g, b = rgb
    return {
        "Red": r,
        "Green": g,
        "Blue": b,
        "HexCode": f"#{r:02X}{g:02X}{b:02X}",
        "CSSColor": css_color(rgb),
        "SimplifiedColor": simplified_color(rgb),
        "PixelPercent": round(percent, 2),
    }


def dominant_colors(image: Image.Image, limit: int = MAX_COLORS) -> list[dict[str, Any]]:
    """Octree quantisation of the thumbnail; the colours covering >= 1 % of it, most first."""
    quantized = image.quantize(colors=limit, method=Image.Quantize.FASTOCTREE)
    palette = quantized.getpalette() or []
    total = image.width * image.height
    counts = sorted(quantized.getcolors(limit) or [], reverse=True)
    colors = []
    for count, index in counts:
        index = int(index)  # type: ignore[call-overload]  # getcolors: (count, palette index)
        percent = 100.0 * count / total
        if percent >= MIN_PIXEL_PERCENT:
            rgb = (palette[3 * index], palette[3 * index + 1], palette[3 * index + 2])
            colors.append(_color(rgb, percent))
    return colors


def quality(image: Image.Image) -> dict[str, float]:
    """Brightness: mean luma; Contrast: luma standard deviation (0.5 = 100); Sharpness: the
    mean absolute Laplacian of the thumbnail (a strong edge everywhere = 100). All 0-100."""
    luma = np.asarray(image.convert("L"), dtype=np.float64)
    laplace = np.zeros(1)
    if min(luma.shape) >= 3:
        centre = luma[1:-1, 1:-1]
        laplace = luma[:-2, 1:-1] + luma[2:, 1:-1] + luma[1:-1, :-2] + luma[1:-1, 2:] - 4 * centre
    return {
        "Brightness": round(float(luma.mean() / 2.55), 2),
        "Sharpness": round(float(min(100.0, np.abs(laplace).mean() * 4.0)), 2),
        "Contrast": round(float(min(100.0, luma.std() / 1.275)), 2),
    }


def image_properties(image: Image.Image) -> dict[str, Any]:
    """The ``ImageProperties`` object for a decoded image."""
    thumb = image if image.mode == "RGB" else image.convert("RGB")
    if max(thumb.size) > THUMBNAIL:
        thumb = thumb.copy()
        thumb.thumbnail((THUMBNAIL, THUMBNAIL), Image.Resampling.BILINEAR)
    return {"Quality": quality(thumb), "DominantColors": dominant_colors(thumb)}


class ImagePropertiesAnalyzer(Analyzer):
    """``record.findings["image_properties"]``: DetectLabels' ``ImageProperties`` shape."""

    name = "image_properties"
    method = "image-properties"

    @property
    def model_version(self) -> str:
        return MODEL_VERSION

    def analyze(self, image: ImageInput) -> Findings:
        # the label model's decode (>= 256 px short side) is cached on the input and reused
        return image_properties(image.decode(min_short_side=256).image)

    def record_labels(self, findings: Findings) -> list[dict[str, Any]]:
        return []
