"""Read a frozen TensorFlow ``GraphDef`` (``.pb``) into plain nodes and constant arrays."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from eventlens.analyzers.objects import protobuf as pb

Array = np.ndarray[Any, Any]

#: TensorFlow ``DataType`` enum values this reader understands.
_DTYPES = {1: np.float32, 2: np.float64, 3: np.int32, 9: np.int64, 19: np.float16}


@dataclass(frozen=True, slots=True)
class Node:
    name: str
    op: str
    inputs: tuple[str, ...]  # control inputs (``^name``) dropped, ``name:0`` reduced to ``name``
    attrs: dict[str, pb.Fields]

    def attr_int(self, key: str, default: int = 0) -> int:
        attr = self.attrs.get(key)
        return pb.first_int(attr, 3, default) if attr is not None else default

    def attr_float(self, key: str, default: float) -> float:
        attr = self.attrs.get(key)
        values = pb.floats(attr, 4) if attr is not None else []
        return values[0] if values else default

    def attr_bytes(self, key: str) -> bytes:
        attr = self.attrs.get(key)
        return pb.first_bytes(attr, 2) if attr is not None else b""

    def attr_ints(self, key: str) -> list[int]:
        attr = self.attrs.get(key)
        return pb.ints(pb.parse(pb.first_bytes(attr, 1)), 3) if attr is not None else []


def _input_name(raw: bytes) -> str | None:
    name = raw.decode()
    if name.startswith("^"):
        return None
    base, _, port = name.partition(":")
    return base if port in ("", "0") else name


def _node(data: bytes) -> Node:
    fields = pb.parse(data)
    attrs: dict[str, pb.Fields] = {}
    for entry in fields.get(5, []):
        assert isinstance(entry, bytes)
        kv = pb.parse(entry)
        attrs[pb.first_bytes(kv, 1).decode()] = pb.parse(pb.first_bytes(kv, 2))
    inputs = tuple(
        name
        for raw in fields.get(3, [])
        if isinstance(raw, bytes) and (name := _input_name(raw)) is not None
    )
    name, op = pb.first_bytes(fields, 1).decode(), pb.first_bytes(fields, 2).decode()
    return Node(name, op, inputs, attrs)


def load_graph(data: bytes) -> dict[str, Node]:
    """name -> node for every node of a serialised ``GraphDef``."""
    nodes = (_node(raw) for raw in pb.parse(data).get(1, []) if isinstance(raw, bytes))
    return {node.name: node for node in nodes}


def tensor_value(fields: pb.Fields) -> Array:
    """Decode a ``TensorProto`` (``tensor_content`` or the typed ``*_val`` lists)."""
    dtype_id = pb.first_int(fields, 1)
    if dtype_id not in _DTYPES:
        raise ValueError(f"unsupported tensor dtype {dtype_id}")
    dtype = np.dtype(_DTYPES[dtype_id]).newbyteorder("<")
    shape_fields = pb.parse(pb.first_bytes(fields, 2))
    shape = [pb.first_int(pb.parse(d), 1) for d in shape_fields.get(2, []) if isinstance(d, bytes)]
    content = pb.first_bytes(fields, 4)
    if content:
        array = np.frombuffer(content, dtype=dtype).copy()
    elif dtype_id == 1:
        array = np.array(pb.floats(fields, 5), dtype=np.float32)
    elif dtype_id == 19:
        array = np.array(pb.ints(fields, 13), dtype=np.uint16).view(np.float16)
    else:
        array = np.array(pb.ints(fields, 7 if dtype_id == 3 else 10), dtype=dtype)
    size = int(np.prod(shape)) if shape else 1
    if array.size == 1 and size != 1:  # a splat: one value fills the shape
        array = np.full(size, array[0], dtype=array.dtype)
    return array.reshape(shape).astype(dtype.newbyteorder("="))


def constant(nodes: dict[str, Node], name: str) -> Array:
    """The value of a ``Const`` node, following ``Identity`` links."""
    node = nodes[name]
    while node.op == "Identity":
        node = nodes[node.inputs[0]]
    if node.op != "Const":
        raise ValueError(f"{name} is a {node.op}, not a constant")
    return tensor_value(pb.parse(pb.first_bytes(node.attrs["value"], 8)))
