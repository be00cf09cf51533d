"""Read the whole photo out of a Jigzo puzzle (``.pzl``), as the ``jigzo-data`` package ships it.

Format: four header lines (``PzlF``, version, name, URL), then entries of a name line, a size
line and that many bytes: ``NAME.map`` (text: one ``cropNNN`` line per piece and one
``image X Y W H`` line), a thumbnail ``NAME-t.jpg``, the pieces' mask ``NAME.png`` and the
texture atlas ``NAME.jpg``, whose ``image`` rectangle holds the whole photo at full size.
"""

from __future__ import annotations

import io

from PIL import Image


def pzl_entries(puzzle: bytes) -> dict[str, bytes]:
    """The puzzle's entries by name; ValueError if it is not a Jigzo puzzle."""
    header = puzzle.split(b"\n", 4)
    if len(header) < 5 or header[0] != b"PzlF":
        raise ValueError("not a Jigzo puzzle")
    entries: dict[str, bytes] = {}
    pos = len(puzzle) - len(header[4])
    while pos < len(puzzle):
        name_end = puzzle.index(b"\n", pos)
        size_end = puzzle.index(b"\n", name_end + 1)
        size = int(puzzle[name_end + 1 : size_end])
        name = puzzle[pos:name_end].decode()
        entries[name] = puzzle[size_end + 1 : size_end + 1 + size]
        pos = size_end + 1 + size
        while puzzle[pos : pos + 1] == b"\n":
            pos += 1
    return entries


def read_pzl_photo(puzzle: bytes, atlas: str) -> bytes:
    """The whole photo cut out of the texture atlas ``atlas`` (``NAME.jpg``), as PNG."""
    entries = pzl_entries(puzzle)
    map_text = entries[atlas.removesuffix(".jpg") + ".map"].decode()
    image_line = next(line for line in map_text.splitlines() if line.startswith("image "))
    x, y, width, height = (int(v) for v in image_line.split()[1:5])
    with Image.open(io.BytesIO(entries[atlas])) as texture:
        photo = texture.convert("RGB").crop((x, y, x + width, y + height))
    out = io.BytesIO()
    photo.save(out, format="PNG")
    return out.getvalue()
