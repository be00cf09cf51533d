"""Read one entry out of an EET archive (``.edj``), as Enlightenment ships its wallpapers.

Format (EFL's ``eet_lib.c``, version 2, big-endian): a header of three 32-bit numbers (magic,
entry count, dictionary size), then one record of six per entry: data offset, stored size, size
once unpacked, name offset, name length, flags (bit 0 packed, bit 1 ciphered, bit 2 alias,
bits 3-7 the packing: 1-9 zlib, 10-11 lz4). A wallpaper's photo is an ``edje/images/N`` entry
stored as a plain JPEG, one per screen size.
"""

from __future__ import annotations

import struct
import zlib

_MAGIC = 0x1EE70F42
_PACKED = 0x01
_CIPHERED = 0x02
_ALIAS = 0x04


def read_eet_entry(archive: bytes, key: str) -> bytes:
    """The bytes of the entry named ``key``; KeyError if absent, ValueError if unreadable here."""
    if len(archive) < 12 or struct.unpack(">I", archive[:4])[0] != _MAGIC:
        raise ValueError("not an EET archive (version 2)")
    (count,) = struct.unpack(">I", archive[4:8])
    for index in range(count):
        record = archive[12 + 24 * index : 36 + 24 * index]
        offset, size, unpacked, name_at, name_size, flags = struct.unpack(">6I", record)
        if archive[name_at : name_at + name_size].rstrip(b"\0").decode() != key:
            continue
        if flags & (_CIPHERED | _ALIAS):
            raise ValueError(f"{key} is ciphered or an alias in the archive; not supported")
        blob = archive[offset : offset + size]
        if not flags & _PACKED:
            return blob
        if 1 <= (flags >> 3) & 0x1F <= 9:
            return zlib.decompress(blob, bufsize=unpacked)
        raise ValueError(f"{key} is lz4-packed in the archive; not supported")
    raise KeyError(key)


def read_eet_image(archive: bytes, key: str) -> bytes:
    """An image entry that the archive stores as a plain JPEG (Edje's lossy images)."""
    image = read_eet_entry(archive, key)
    if not image.startswith(b"\xff\xd8\xff"):
        raise ValueError(f"{key} is not stored as a JPEG (a lossless Edje image); not supported")
    return image
