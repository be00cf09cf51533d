"""A minimal ONNX ``ModelProto`` encoder (protobuf wire format by hand, no ``onnx`` package).

Covers what a feed-forward CNN needs: nodes with int/float/string/ints/floats attributes,
float/int64 initializers (int8/uint8/int32 too, for quantised graphs) stored as ``raw_data``,
and float tensor inputs/outputs whose dims are fixed ints or symbolic names.
Field numbers follow ``onnx/onnx.proto``.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

IR_VERSION = 8
OPSET = 13

_FLOAT, _INT64 = 1, 7  # TensorProto.DataType
_ELEM_TYPES = {
    np.dtype("float32"): _FLOAT,
    np.dtype("uint8"): 2,
    np.dtype("int8"): 3,
    np.dtype("int32"): 6,
    np.dtype("int64"): _INT64,
}
_ATTR_FLOAT, _ATTR_INT, _ATTR_STRING, _ATTR_FLOATS, _ATTR_INTS = 1, 2, 3, 6, 7

AttrValue = int | float | str | Sequence[int] | Sequence[float]
Dim = int | str


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative int64 -> two's complement, 10 bytes
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _key(field_no: int, wire_type: int) -> bytes:
    return _varint(field_no << 3 | wire_type)


def _int(field_no: int, value: int) -> bytes:
    return _key(field_no, 0) + _varint(value)


def _bytes(field_no: int, value: bytes | str) -> bytes:
    data = value.encode() if isinstance(value, str) else value
    return _key(field_no, 2) + _varint(len(data)) + data


def _float(field_no: int, value: float) -> bytes:
    return _key(field_no, 5) + struct.pack("<f", value)


def _attribute(name: str, value: AttrValue) -> bytes:
    body = _bytes(1, name)
    if isinstance(value, bool | int):
        body += _int(3, int(value)) + _int(20, _ATTR_INT)
    elif isinstance(value, float):
        body += _float(2, value) + _int(20, _ATTR_FLOAT)
    elif isinstance(value, str):
        body += _bytes(4, value) + _int(20, _ATTR_STRING)
    elif all(isinstance(v, int) for v in value):
        body += b"".join(_int(8, int(v)) for v in value) + _int(20, _ATTR_INTS)
    else:
        body += b"".join(_float(7, float(v)) for v in value) + _int(20, _ATTR_FLOATS)
    return body


def _tensor(name: str, array: np.ndarray[Any, Any]) -> bytes:
    dtype = array.dtype.newbyteorder("=")
    if dtype not in _ELEM_TYPES:
        raise TypeError(f"unsupported initializer dtype {array.dtype}")
    raw = np.ascontiguousarray(array, dtype=dtype.newbyteorder("<")).tobytes()
    dims = b"".join(_int(1, d) for d in array.shape)
    return dims + _int(2, _ELEM_TYPES[dtype]) + _bytes(8, name) + _bytes(9, raw)


def _value_info(name: str, shape: Sequence[Dim]) -> bytes:
    dims = b"".join(_bytes(1, _bytes(2, d) if isinstance(d, str) else _int(1, d)) for d in shape)
    tensor_type = _int(1, _FLOAT) + _bytes(2, dims)
    return _bytes(1, name) + _bytes(2, _bytes(1, tensor_type))


@dataclass(slots=True)
class Graph:
    """Collects nodes, initializers and graph inputs/outputs; ``to_model`` serialises."""

    name: str
    _nodes: list[bytes] = field(default_factory=list)
    _initializers: list[bytes] = field(default_factory=list)
    _inputs: list[bytes] = field(default_factory=list)
    _outputs: list[bytes] = field(default_factory=list)
    _names: set[str] = field(default_factory=set)

    def unique(self, prefix: str) -> str:
        """A value name not used yet in this graph."""
        name, n = prefix, 1
        while name in self._names:
            name, n = f"{prefix}_{n}", n + 1
        self._names.add(name)
        return name

    def input(self, name: str, shape: Sequence[Dim]) -> str:
        self._names.add(name)
        self._inputs.append(_value_info(name, shape))
        return name

    def output(self, name: str, shape: Sequence[Dim]) -> None:
        self._outputs.append(_value_info(name, shape))

    def initializer(self, name: str, array: np.ndarray[Any, Any]) -> str:
        name = self.unique(name)
        self._initializers.append(_tensor(name, array))
        return name

    def node(
        self, op_type: str, inputs: Sequence[str], output: str | None = None, **attrs: AttrValue
    ) -> str:
        """Add a single-output node; returns the output name."""
        out = output if output is not None else self.unique(op_type.lower())
        self._names.add(out)
        body = b"".join(_bytes(1, i) for i in inputs) + _bytes(2, out)
        body += _bytes(3, self.unique(f"{op_type}_node")) + _bytes(4, op_type)
        body += b"".join(_bytes(5, _attribute(k, v)) for k, v in sorted(attrs.items()))
        self._nodes.append(body)
        return out

    def to_model(self, producer: str = "eventlens", doc: str = "") -> bytes:
        graph = b"".join(_bytes(1, n) for n in self._nodes) + _bytes(2, self.name)
        graph += b"".join(_bytes(5, t) for t in self._initializers)
        graph += b"".join(_bytes(11, v) for v in self._inputs)
        graph += b"".join(_bytes(12, v) for v in self._outputs)
        model = _int(1, IR_VERSION) + _bytes(2, producer)
        model += _bytes(6, doc) if doc else b""
        model += _bytes(7, graph) + _bytes(8, _bytes(1, "") + _int(2, OPSET))
        return model
