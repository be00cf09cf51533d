"""Safe, fast image decoding shared by every analyzer.

Decoding is where hostile input bites: truncated files, non-images, decompression bombs and
huge canvases. Everything here raises ``ImageRejected`` with a message a user can act on.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field

from PIL import Image, ImageOps, UnidentifiedImageError

from eventlens import vips_decode
from eventlens.errors import Permanent
from eventlens.exif import PhotoInfo, photo_info
from eventlens.jpeg_segments import trim_metadata
from eventlens.memory_budget import BUDGET
from eventlens.settings import DEFAULT_MAX_PIXELS

# our own pixel limit (``max_pixels``) decides; Pillow still refuses > 2x its limit outright.
# A filter for the process: ``warnings.catch_warnings`` is not thread-safe.
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)

#: non-JPEG images above this many pixels are shrunk while they are read (libvips)
SHRINK_ON_LOAD_PIXELS = 16_000_000
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"})
VIDEO_EXTENSIONS = frozenset({".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi"})


class ImageRejected(Permanent, ValueError):
    """The bytes are not an image we can analyse; the message says why."""


@dataclass(frozen=True, slots=True)
class DecodedImage:
    image: Image.Image  # RGB, EXIF orientation applied, possibly reduced by JPEG draft mode
    width: int  # the original size, before any draft reduction
    height: int
    format: str
    photo: PhotoInfo = field(default_factory=PhotoInfo)  # capture time, camera, place (EXIF)


def looks_like_image_key(key: str) -> bool:
    return _extension(key) in IMAGE_EXTENSIONS


def looks_like_video_key(key: str) -> bool:
    return _extension(key) in VIDEO_EXTENSIONS


def _extension(key: str) -> str:
    dot = key.rfind(".")
    return key[dot:].lower() if dot != -1 else ""


def probe(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[int, int, str]:
    """Read just the header: (width, height, format). Raises ImageRejected."""
    img = _open(data, max_pixels)
    return img.width, img.height, img.format or "unknown"


def decode(
    data: bytes, *, min_short_side: int | None = None, max_pixels: int = DEFAULT_MAX_PIXELS
) -> DecodedImage:
    """Decode to RGB, within the process's decoded-memory budget (``memory_budget``).

    With ``min_short_side`` the result is reduced to the smallest size whose short side is
    still at least that (never enlarged): JPEGs are DCT-scaled while decoding (draft mode),
    big images of other formats are shrunk while they are read by libvips where it is
    installed, and anything else is reduced right after decoding, so only small images are
    kept while a batch is analysed."""
    img = _open(data, max_pixels)
    width, height, fmt = img.width, img.height, img.format or "unknown"
    if (
        min_short_side
        and fmt != "JPEG"
        and width * height > SHRINK_ON_LOAD_PIXELS
        and vips_decode.available
    ):
        photo = photo_info(img)  # from the header: libvips reads the pixels
        with BUDGET.reserve(_streaming_estimate(width, height, min_short_side)):
            try:
                small = vips_decode.shrink_on_load(data, width, height, min_short_side)
            except vips_decode.VipsDecodeError as exc:
                raise ImageRejected(f"corrupt or truncated {fmt} image: {exc}") from exc
        return DecodedImage(small, width, height, fmt, photo)
    with BUDGET.reserve(_pillow_estimate(width, height, fmt, min_short_side)):
        try:
            if min_short_side and fmt == "JPEG":
                scale = min(width, height) / min_short_side
                if scale >= 2:
                    img.draft("RGB", (max(1, int(width / scale)), max(1, int(height / scale))))
            if getattr(img, "is_animated", False):
                img.seek(0)
            img.load()
            photo = photo_info(img)
            img = ImageOps.exif_transpose(img) or img
            if img.mode != "RGB":
                img = _to_rgb(img)
            if min_short_side and min(img.size) >= 2 * min_short_side:
                img = img.reduce(min(img.size) // min_short_side)
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
            raise ImageRejected(f"corrupt or truncated {fmt} image: {exc}") from exc
    return DecodedImage(img, width, height, fmt, photo)


def _streaming_estimate(width: int, height: int, min_short_side: int) -> int:
    """Peak bytes of a shrink-on-load: libvips' line buffers grow with the width (measured:
    ~70 MB for a 10,900-pixel-wide PNG, bench/bench_memory.py), plus the result (twice,
    while it is handed to Pillow)."""
    scale = min(1.0, min_short_side / min(width, height))
    return width * 6_500 + int(width * height * scale * scale) * 3 * 2


def _pillow_estimate(width: int, height: int, fmt: str, min_short_side: int | None) -> int:
    """Peak bytes of a Pillow decode: 4 bytes a pixel, up to three copies while modes are
    converted; JPEG draft mode decodes at most 8x smaller on each side."""
    pixels = width * height
    if min_short_side and fmt == "JPEG":
        reduction = min(8, max(1, min(width, height) // min_short_side))
        reduction = 1 << (reduction.bit_length() - 1)  # the DCT scales by powers of two
        pixels //= reduction * reduction
    return pixels * 4 * 3


def _open(data: bytes, max_pixels: int) -> Image.Image:
    if not data:
        raise ImageRejected("empty file (0 bytes)")
    try:
        img = Image.open(io.BytesIO(trim_metadata(data)))
    except UnidentifiedImageError as exc:
        raise ImageRejected("not an image (format not recognised)") from exc
    except Image.DecompressionBombError as exc:
        raise ImageRejected(f"decompression bomb refused: {exc}") from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageRejected(f"unreadable image header: {exc}") from exc
    pixels = img.width * img.height
    if pixels > max_pixels:
        raise ImageRejected(
            f"image too large: {img.width}x{img.height} = {pixels:,} pixels "
            f"(limit {max_pixels:,}; possible decompression bomb)"
        )
    if pixels == 0:
        raise ImageRejected("image has zero width or height")
    return img


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit greyscale: scale to 8 bits instead of clipping (which turns most pixels white)
        return img.point(lambda v: v / 256).convert("L").convert("RGB")
    return img.convert("RGB")


@dataclass(slots=True)
class ImageInput:
    """What an analyzer receives: the bytes, where they came from, and a cached decoder.

    ``media`` is ``image`` or ``video``; ``environment`` is the routed environment (analyzers
    that keep per-environment state, such as duplicate detection, need it)."""

    data: bytes
    key: str
    bucket: str = ""
    max_pixels: int = DEFAULT_MAX_PIXELS
    environment: str = ""
    media: str = "image"
    _decoded: dict[int, DecodedImage] = field(default_factory=dict, repr=False)

    def decode(self, min_short_side: int | None = None) -> DecodedImage:
        cache_key = min_short_side or 0
        if cache_key not in self._decoded:
            self._decoded[cache_key] = decode(
                self.data, min_short_side=min_short_side, max_pixels=self.max_pixels
            )
        return self._decoded[cache_key]

    def dimensions(self) -> tuple[int, int]:
        """The original (width, height), from a decode already done or from the header."""
        for decoded in self._decoded.values():
            return decoded.width, decoded.height
        width, height, _ = probe(self.data, max_pixels=self.max_pixels)
        return width, height

    def photo_info(self) -> PhotoInfo:
        """The EXIF facts, from a decode already done or else from the header; never a decode
        of its own (empty for a PNG whose EXIF follows its pixels, when nothing decoded it)."""
        for decoded in self._decoded.values():
            return decoded.photo
        try:
            img = _open(self.data, self.max_pixels)
        except ImageRejected:
            return PhotoInfo()
        if img.format == "PNG" and "exif" not in img.info:
            return PhotoInfo()
        return photo_info(img)
