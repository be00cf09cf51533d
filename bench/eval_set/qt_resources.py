"""Read one file out of a compiled Qt resource bundle (``.rcc``), as GCompris ships its photos.

Format (Qt's ``rcc`` binary output): a ``qres`` header with the version and the offsets of the
tree, data and names sections; tree nodes are fixed-size records (14 bytes, plus 8 for the
modification time from version 2 on), directories pointing to a run of child nodes, files to a
length-prefixed blob in the data section, optionally zlib-compressed.
"""

from __future__ import annotations

import struct
import zlib

_DIRECTORY = 0x02
_ZLIB = 0x01
_ZSTD = 0x04


def read_rcc_file(bundle: bytes, name: str) -> bytes:
    """The bytes of ``name`` (a ``/``-separated path inside the bundle); KeyError if absent."""
    if bundle[:4] != b"qres":
        raise ValueError("not a Qt resource bundle")
    version, tree, data, names = struct.unpack(">IIII", bundle[4:20])
    node_size = 14 + (8 if version >= 2 else 0)

    def node_name(offset: int) -> str:
        (length,) = struct.unpack(">H", bundle[names + offset : names + offset + 2])
        start = names + offset + 6  # after the length and a 4-byte hash
        return bundle[start : start + 2 * length].decode("utf-16-be")

    node = 0
    for part in name.strip("/").split("/"):
        at = tree + node * node_size
        (flags,) = struct.unpack(">H", bundle[at + 4 : at + 6])
        if not flags & _DIRECTORY:
            raise KeyError(name)
        count, first = struct.unpack(">II", bundle[at + 6 : at + 14])
        for child in range(first, first + count):
            (name_offset,) = struct.unpack(">I", bundle[tree + child * node_size :][:4])
            if node_name(name_offset) == part:
                node = child
                break
        else:
            raise KeyError(name)
    at = tree + node * node_size
    (flags,) = struct.unpack(">H", bundle[at + 4 : at + 6])
    if flags & _DIRECTORY:
        raise KeyError(name)
    (data_offset,) = struct.unpack(">I", bundle[at + 10 : at + 14])
    (size,) = struct.unpack(">I", bundle[data + data_offset : data + data_offset + 4])
    blob = bundle[data + data_offset + 4 : data + data_offset + 4 + size]
    if flags & _ZSTD:
        raise ValueError(f"{name} is zstd-compressed in the bundle; not supported")
    return zlib.decompress(blob[4:]) if flags & _ZLIB else blob
