"""The eval set's reader of Qt resource bundles, on a bundle laid out as Qt's rcc writes it."""

from __future__ import annotations

import struct
import zlib

import pytest
from bench.eval_set.qt_resources import read_rcc_file

PHOTO = b"RIFF\x00\x00\x00\x00WEBPVP8 photo bytes"
DRAWING = b"<svg>" + b"drawn " * 50 + b"</svg>"


def _name(text: str) -> bytes:
    return struct.pack(">HI", len(text), 0) + text.encode("utf-16-be")


def _bundle() -> bytes:
    """Root -> "animals" -> {"cat.webp" stored, "cat.svg" zlib-compressed}; rcc format 3."""
    names = b""
    name_at: dict[str, int] = {}
    for text in ("animals", "cat.webp", "cat.svg"):
        name_at[text] = len(names)
        names += _name(text)
    packed = struct.pack(">I", len(DRAWING)) + zlib.compress(DRAWING)
    data = struct.pack(">I", len(PHOTO)) + PHOTO + struct.pack(">I", len(packed)) + packed
    stamp = struct.pack(">Q", 0)
    tree = (
        struct.pack(">IHII", 0, 0x02, 1, 1) + stamp
        + struct.pack(">IHII", name_at["animals"], 0x02, 2, 2) + stamp
        + struct.pack(">IHHHI", name_at["cat.webp"], 0x00, 0, 0, 0) + stamp
        + struct.pack(">IHHHI", name_at["cat.svg"], 0x01, 0, 0, 4 + len(PHOTO)) + stamp
    )  # fmt: skip
    header_size = 24
    tree_at = header_size
    data_at = tree_at + len(tree)
    names_at = data_at + len(data)
    header = b"qres" + struct.pack(">IIIII", 3, tree_at, data_at, names_at, 0)
    return header + tree + data + names


def test_reads_stored_and_compressed_files_by_path() -> None:
    bundle = _bundle()
    assert read_rcc_file(bundle, "animals/cat.webp") == PHOTO
    assert read_rcc_file(bundle, "/animals/cat.svg") == DRAWING


@pytest.mark.parametrize("missing", ["animals/dog.webp", "animals", "plants/cat.webp"])
def test_missing_files_and_directories_are_key_errors(missing: str) -> None:
    with pytest.raises(KeyError):
        read_rcc_file(_bundle(), missing)


def test_refuses_what_is_not_a_bundle() -> None:
    with pytest.raises(ValueError, match="not a Qt resource bundle"):
        read_rcc_file(b"PK\x03\x04 a zip file", "animals/cat.webp")
