"""The eval set's readers of EET archives (.edj) and Jigzo puzzles (.pzl), on files built here."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from bench.eval_set.collect import photo_path
from bench.eval_set.eet import read_eet_entry, read_eet_image
from bench.eval_set.jigzo import read_pzl_photo
from PIL import Image

JPEG = b"\xff\xd8\xff\xe0 a stored photo \xff\xd9"
TEXT = b"collections { group { name: wallpaper; } } " * 20


def _eet(entries: list[tuple[str, bytes, int]]) -> bytes:
    """An EET (version 2) archive of (name, stored bytes, flags) entries, names after the data."""
    header_size = 12 + 24 * len(entries)
    records, blobs, names = b"", b"", b""
    names_at = header_size + sum(len(stored) for _, stored, _ in entries)
    for name, stored, flags in entries:
        zlib_packed = flags & 1 and 1 <= flags >> 3 <= 9
        raw = zlib.decompress(stored) if zlib_packed else stored
        name_bytes = name.encode() + b"\0"
        offset = header_size + len(blobs)
        records += struct.pack(">6I", offset, len(stored), len(raw), names_at + len(names),
                               len(name_bytes), flags)  # fmt: skip
        blobs += stored
        names += name_bytes
    return struct.pack(">III", 0x1EE70F42, len(entries), 0) + records + blobs + names


def _archive() -> bytes:
    return _eet([
        ("edje/images/0", JPEG, 0x00),
        ("edje/file", zlib.compress(TEXT), 0x01 | 1 << 3),
        ("edje/images/1", b"lz4 frame", 0x01 | 10 << 3),
        ("edje/images/2", b"\xac\x1d\xfe\xed lossless pixels", 0x00),
    ])  # fmt: skip


def test_eet_reads_stored_and_zlib_packed_entries() -> None:
    archive = _archive()
    assert read_eet_image(archive, "edje/images/0") == JPEG
    assert read_eet_entry(archive, "edje/file") == TEXT


def test_eet_refuses_what_it_cannot_read() -> None:
    archive = _archive()
    with pytest.raises(KeyError):
        read_eet_entry(archive, "edje/images/9")
    with pytest.raises(ValueError, match="lz4"):
        read_eet_entry(archive, "edje/images/1")
    with pytest.raises(ValueError, match="not stored as a JPEG"):
        read_eet_image(archive, "edje/images/2")
    with pytest.raises(ValueError, match="not an EET archive"):
        read_eet_entry(b"PK\x03\x04" + bytes(20), "edje/images/0")
    with pytest.raises(ValueError, match="not an EET archive"):
        read_eet_entry(b"\x1e\xe7", "edje/images/0")


def _pzl(atlas: Image.Image, image_rect: tuple[int, int, int, int]) -> bytes:
    """A puzzle whose atlas holds the photo at ``image_rect`` beside its cut pieces."""
    x, y, width, height = image_rect
    map_text = f"#texture map data\ncrop000 {x + width} 0 40 40 20 20 0 0 0 0\n"
    map_text += f"image {x} {y} {width} {height} 1 1    \n"
    jpeg = io.BytesIO()
    atlas.save(jpeg, format="JPEG", quality=95)
    entries = {
        "flower-2x2.map": map_text.encode(),
        "flower-2x2-t.jpg": b"thumbnail",
        "flower-2x2.png": b"pieces mask",
        "flower-2x2.jpg": jpeg.getvalue(),
    }
    out = b"PzlF\n0.1\nflower-2x2\nhttp://example.invalid/\n"
    for name, blob in entries.items():
        out += f"{name}\n{len(blob)}\n".encode() + blob + b"\n"
    return out


def test_pzl_cuts_the_whole_photo_out_of_the_atlas() -> None:
    atlas = Image.new("RGB", (256, 256), (0, 0, 255))
    atlas.paste((255, 0, 0), (0, 0, 160, 120))  # the photo; the pieces lie to its right, in blue
    photo = Image.open(io.BytesIO(read_pzl_photo(_pzl(atlas, (0, 0, 160, 120)), "flower-2x2.jpg")))
    assert photo.format == "PNG"
    assert photo.size == (160, 120)
    corner = photo.convert("RGB").getpixel((150, 110))
    assert isinstance(corner, tuple)
    red, green, blue = corner[:3]
    assert red > 200 and green < 60 and blue < 60


def test_pzl_refuses_what_is_not_a_puzzle() -> None:
    with pytest.raises(ValueError, match="not a Jigzo puzzle"):
        read_pzl_photo(b"\x89PNG\r\n\x1a\n a picture", "flower-2x2.jpg")


@pytest.mark.parametrize(
    ("path", "inner", "cached"),
    [
        ("usr/share/x/wallpaper.edj", "edje/images/10", "p.jpg"),
        ("usr/share/x/flower-2x2.pzl", "flower-2x2.jpg", "p.png"),
        ("usr/share/x/animals.rcc", "animals/cat.webp", "p.webp"),
    ],
)
def test_cached_photo_takes_the_stored_suffix(path: str, inner: str, cached: str) -> None:
    assert photo_path({"id": "p", "path": path, "inner": inner}).name == cached
