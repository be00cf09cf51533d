"""A minimal protobuf wire-format reader: enough to walk a TensorFlow ``GraphDef``.

Messages are read lazily into ``{field_number: [raw values]}``; the caller knows the schema and
decodes each field as a varint, bytes, nested message or packed list. No ``protobuf`` package.
"""

from __future__ import annotations

import struct

Fields = dict[int, list[int | bytes]]


def _varint(data: bytes | memoryview, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def parse(data: bytes) -> Fields:
    """Split one message into its fields; length-delimited values stay ``bytes``, fixed32 and
    fixed64 values are returned as their little-endian bytes, varints as ``int``."""
    fields: Fields = {}
    view = memoryview(data)
    pos = 0
    while pos < len(view):
        key, pos = _varint(view, pos)
        number, wire = key >> 3, key & 7
        value: int | bytes
        if wire == 0:
            value, pos = _varint(view, pos)
        elif wire == 2:
            size, pos = _varint(view, pos)
            if pos + size > len(view):
                raise ValueError("truncated length-delimited field")
            value, pos = bytes(view[pos : pos + size]), pos + size
        elif wire == 5:
            value, pos = bytes(view[pos : pos + 4]), pos + 4
        elif wire == 1:
            value, pos = bytes(view[pos : pos + 8]), pos + 8
        else:
            raise ValueError(f"unsupported wire type {wire}")
        fields.setdefault(number, []).append(value)
    return fields


def first_bytes(fields: Fields, number: int, default: bytes = b"") -> bytes:
    for value in fields.get(number, []):
        if isinstance(value, bytes):
            return value
    return default


def first_int(fields: Fields, number: int, default: int = 0) -> int:
    for value in fields.get(number, []):
        if isinstance(value, int):
            return value
    return default


def ints(fields: Fields, number: int) -> list[int]:
    """A repeated int field, packed or not (int64 values as two's complement)."""
    out: list[int] = []
    for value in fields.get(number, []):
        if isinstance(value, int):
            out.append(value)
        else:
            pos = 0
            while pos < len(value):
                item, pos = _varint(value, pos)
                out.append(item)
    return [v - (1 << 64) if v >= 1 << 63 else v for v in out]


def floats(fields: Fields, number: int) -> list[float]:
    """A repeated float field, packed or not."""
    out: list[float] = []
    for value in fields.get(number, []):
        if isinstance(value, bytes):
            out.extend(struct.unpack(f"<{len(value) // 4}f", value))
    return out
