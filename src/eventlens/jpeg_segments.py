"""Bound the metadata a JPEG decoder has to parse.

A JPEG may carry any number of APPn/COM segments before its image data; Pillow's parser is
quadratic in the number of Exif segments (600 of them: 7 s of CPU for a 640x480 picture). The
first segment of each kind (Exif, ICC, Adobe, ...) and the first ``MAX_METADATA_SEGMENTS`` in
all are kept; further ones are dropped before the decoder sees them.
"""

from __future__ import annotations

MAX_METADATA_SEGMENTS = 32

_SOI, _SOS = 0xD8, 0xDA
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM, RSTn: no length field


def _is_metadata(marker: int) -> bool:
    return 0xE0 <= marker <= 0xEF or marker == 0xFE  # APPn, COM


def trim_metadata(data: bytes) -> bytes:
    """``data`` itself when it has few metadata segments (or is not a JPEG), else a copy
    without the excess ones; anything unparsable is left for the decoder to judge."""
    if not data.startswith(b"\xff\xd8"):
        return data
    spans: list[tuple[int, int]] = []  # metadata segments to drop: (start, end)
    seen: set[int] = set()
    kept = 0
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in _STANDALONE:
            pos += 2
            continue
        if marker in (_SOI, _SOS):
            break
        end = pos + 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
        if _is_metadata(marker):
            if marker not in seen or kept < MAX_METADATA_SEGMENTS:
                seen.add(marker)
                kept += 1
            else:
                spans.append((pos, end))
        pos = end
    if not spans:
        return data
    parts, last = [], 0
    for start, end in spans:
        parts.append(data[last:start])
        last = end
    parts.append(data[last:])
    return b"".join(parts)
