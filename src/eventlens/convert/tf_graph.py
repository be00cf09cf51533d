"""TensorFlow graphs as plain nodes and constant arrays: frozen ``GraphDef`` files (``.pb``)
and TensorFlow.js graph models (``model.json`` + weight shards). No TensorFlow needed."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from eventlens.convert import protobuf as pb

Array = np.ndarray[Any, Any]

#: TensorFlow ``DataType`` enum values this reader understands.
_DTYPES = {1: np.float32, 2: np.float64, 3: np.int32, 9: np.int64, 19: np.float16}
_TFJS_DTYPES = {"float32": np.float32, "int32": np.int32}


@dataclass(frozen=True, slots=True)
class Node:
    name: str
    op: str
    inputs: tuple[str, ...]  # control inputs (``^name``) dropped, ``name:0`` reduced to ``name``
    #: attributes as Python values: int, float, bool, bytes, or lists of ints / bytes
    attrs: dict[str, Any]

    def ints(self, key: str) -> list[int]:
        value = self.attrs.get(key, [])
        return [int(v) for v in value] if isinstance(value, list) else []

    def text(self, key: str) -> bytes:
        value = self.attrs.get(key, b"")
        return value if isinstance(value, bytes) else b""

    def number(self, key: str, default: float) -> float:
        value = self.attrs.get(key, default)
        return float(value) if isinstance(value, int | float) else default


@dataclass(slots=True)
class TFGraph:
    nodes: dict[str, Node]
    constants: dict[str, Array] = field(default_factory=dict)

    def constant(self, name: str) -> Array:
        """The value of a constant, following ``Identity`` links."""
        node = self.nodes.get(name)
        while node is not None and node.op == "Identity":
            name = node.inputs[0]
            node = self.nodes.get(name)
        if name not in self.constants:
            raise ValueError(f"{name} is not a constant")
        return self.constants[name]


def _input_name(raw: str) -> str | None:
    if raw.startswith("^"):
        return None
    base, _, port = raw.partition(":")
    return base if port in ("", "0") else raw


# -- frozen GraphDef ---------------------------------------------------------------------


def _attr_value(fields: pb.Fields) -> Any:
    """An ``AttrValue`` message as a Python value (see ``Node.attrs``)."""
    if 1 in fields:  # ListValue: s = 2, i = 3 (packed), f = 4 (packed)
        items = pb.parse(pb.first_bytes(fields, 1))
        if 2 in items:
            return [v for v in items[2] if isinstance(v, bytes)]
        if 4 in items:
            return pb.floats(items, 4)
        return pb.ints(items, 3)
    if 2 in fields:
        return pb.first_bytes(fields, 2)
    if 3 in fields:
        return pb.ints(fields, 3)[0]
    if 4 in fields:
        return pb.floats(fields, 4)[0]
    if 5 in fields:
        return bool(pb.first_int(fields, 5))
    if 8 in fields:
        tensor = pb.parse(pb.first_bytes(fields, 8))
        # strings and other types are constants the converted part of a graph never uses
        return tensor_value(tensor) if pb.first_int(tensor, 1) in _DTYPES else None
    return None


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


def load_graphdef(data: bytes) -> TFGraph:
    """The nodes and constants of a serialised ``GraphDef``."""
    graph = TFGraph({})
    for raw in pb.parse(data).get(1, []):
        if not isinstance(raw, bytes):
            continue
        fields = pb.parse(raw)
        attrs: dict[str, Any] = {}
        for entry in fields.get(5, []):
            if isinstance(entry, bytes):
                kv = pb.parse(entry)
                attrs[pb.first_bytes(kv, 1).decode()] = _attr_value(pb.parse(pb.first_bytes(kv, 2)))
        inputs = tuple(
            name
            for raw_input in fields.get(3, [])
            if isinstance(raw_input, bytes) and (name := _input_name(raw_input.decode()))
        )
        name, op = pb.first_bytes(fields, 1).decode(), pb.first_bytes(fields, 2).decode()
        graph.nodes[name] = Node(name, op, inputs, attrs)
        if op == "Const" and isinstance(attrs.get("value"), np.ndarray):
            graph.constants[name] = attrs.pop("value")
    return graph


# -- TensorFlow.js graph model -----------------------------------------------------------


def _json_attr(value: dict[str, Any]) -> Any:
    if "list" in value:
        items = value["list"]
        if "s" in items:
            return [base64.b64decode(s) for s in items["s"]]
        if "f" in items:
            return [float(f) for f in items["f"]]
        return [int(i) for i in items.get("i", [])]
    if "s" in value:
        return base64.b64decode(value["s"])
    if "i" in value:
        return int(value["i"])
    if "f" in value:
        return float(value["f"])
    if "b" in value:
        return bool(value["b"])
    return None


def load_tfjs(model: dict[str, Any], weights: bytes) -> TFGraph:
    """A TensorFlow.js graph model: ``model`` is the parsed ``model.json``, ``weights`` its
    weight shards concatenated in manifest order (float32, float16-halved float32 and int32
    weights)."""
    graph = TFGraph({})
    for entry in model["modelTopology"]["node"]:
        inputs = tuple(n for raw in entry.get("input", []) if (n := _input_name(raw)))
        attrs = {key: _json_attr(value) for key, value in entry.get("attr", {}).items()}
        graph.nodes[entry["name"]] = Node(entry["name"], entry["op"], inputs, attrs)
    offset = 0
    for group in model["weightsManifest"]:
        for spec in group["weights"]:
            stored = _stored_dtype(spec)
            count = int(np.prod(spec["shape"])) if spec["shape"] else 1
            end = offset + count * stored.itemsize
            if end > len(weights):
                raise ValueError("the weight file is shorter than its manifest")
            array = np.frombuffer(weights[offset:end], dtype=stored).reshape(spec["shape"])
            target = np.dtype(_TFJS_DTYPES[spec["dtype"]])
            graph.constants[spec["name"]] = array.astype(target)
            offset = end
    return graph


def _stored_dtype(spec: dict[str, Any]) -> np.dtype[Any]:
    """How a weight is stored in the shards (little-endian): its dtype, or float16 for a
    float32 weight the TF.js converter halved (``quantization: {"dtype": "float16"}``, read
    back as float32; its 8- and 16-bit affine quantisations are not supported)."""
    quantization = spec.get("quantization")
    if spec["dtype"] not in _TFJS_DTYPES:
        raise ValueError(f"unsupported weight {spec['name']}: {spec['dtype']}")
    if quantization is None:
        return np.dtype(_TFJS_DTYPES[spec["dtype"]]).newbyteorder("<")
    if quantization.get("dtype") == "float16" and spec["dtype"] == "float32":
        return np.dtype(np.float16).newbyteorder("<")
    raise ValueError(f"unsupported weight {spec['name']}: quantised as {quantization}")
