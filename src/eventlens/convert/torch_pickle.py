"""Read a PyTorch ``state_dict`` file into numpy arrays without importing torch.

Both on-disk formats are supported:

* legacy (torch < 1.6): a stream of pickles (magic number, protocol version, sys info, the
  object, the list of storage keys) followed by each storage as int64 ``numel`` + raw bytes;
* zip (torch >= 1.6): ``<dir>/data.pkl`` plus one raw file per storage in ``<dir>/data/``.

Unpickling is restricted to an allowlist of globals, so a hostile file cannot run code.
"""

from __future__ import annotations

import collections
import io
import pickle
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from eventlens.errors import Transient

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C

_STORAGE_DTYPES: dict[str, np.dtype[Any]] = {
    "DoubleStorage": np.dtype("<f8"),
    "FloatStorage": np.dtype("<f4"),
    "HalfStorage": np.dtype("<f2"),
    "LongStorage": np.dtype("<i8"),
    "IntStorage": np.dtype("<i4"),
    "ShortStorage": np.dtype("<i2"),
    "CharStorage": np.dtype("i1"),
    "ByteStorage": np.dtype("u1"),
    "BoolStorage": np.dtype("?"),
}


class TorchFileError(Transient, ValueError):
    """The file is not a state dict we can read safely."""


@dataclass(frozen=True, slots=True)
class _StorageType:
    dtype: np.dtype[Any]


@dataclass(slots=True)
class _Storage:
    key: str
    dtype: np.dtype[Any]
    numel: int
    data: np.ndarray[Any, Any] | None = None


@dataclass(frozen=True, slots=True)
class _View:
    """A storage slice (legacy ``view_metadata``)."""

    base: _Storage
    offset: int
    numel: int


@dataclass(frozen=True, slots=True)
class _TensorRef:
    storage: _Storage | _View
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]


def _rebuild_tensor(
    storage: _Storage | _View,
    offset: int,
    size: tuple[int, ...],
    stride: tuple[int, ...],
    *_: Any,
) -> _TensorRef:
    return _TensorRef(storage, int(offset), tuple(size), tuple(stride))


def _rebuild_parameter(data: _TensorRef, *_: Any) -> _TensorRef:
    return data


_ALLOWED: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    **{("torch", name): _StorageType(dtype) for name, dtype in _STORAGE_DTYPES.items()},
}


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file: IO[bytes], load_storage: Callable[[tuple[Any, ...]], Any]) -> None:
        super().__init__(file)
        self._load_storage = load_storage

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise TorchFileError(f"refusing to unpickle global {module}.{name}") from None

    def persistent_load(self, pid: Any) -> Any:
        if not isinstance(pid, tuple) or not pid or pid[0] not in ("storage", b"storage"):
            raise TorchFileError(f"unsupported persistent id {pid!r}")
        return self._load_storage(pid)


def _storage_factory(storages: dict[str, _Storage]) -> Callable[[tuple[Any, ...]], Any]:
    def load(pid: tuple[Any, ...]) -> _Storage | _View:
        storage_type, key, _location, numel = pid[1:5]
        view = pid[5] if len(pid) > 5 else None
        if not isinstance(storage_type, _StorageType):
            raise TorchFileError(f"bad storage type {storage_type!r}")
        key = str(key)
        storage = storages.setdefault(key, _Storage(key, storage_type.dtype, int(numel)))
        if view is not None:
            _view_key, offset, view_numel = view
            return _View(storage, int(offset), int(view_numel))
        return storage

    return load


def _unpickle(f: IO[bytes], storages: dict[str, _Storage] | None = None) -> Any:
    return _RestrictedUnpickler(f, _storage_factory({} if storages is None else storages)).load()


def _materialise(ref: _TensorRef) -> np.ndarray[Any, Any]:
    if isinstance(ref.storage, _View):
        base, start, numel = ref.storage.base, ref.storage.offset, ref.storage.numel
    else:
        base, start, numel = ref.storage, 0, ref.storage.numel
    if base.data is None:
        raise TorchFileError(f"storage {base.key} has no data")
    flat = base.data[start : start + numel]
    if len(ref.size) != len(ref.stride) or any(s < 0 for s in (*ref.size, *ref.stride)):
        raise TorchFileError("bad tensor geometry")
    count = int(np.prod(ref.size, dtype=np.int64))
    if count == 0:
        return np.zeros(ref.size, dtype=base.dtype)
    # Bounds check before as_strided, which would otherwise read arbitrary memory.
    last = ref.offset + sum((n - 1) * s for n, s in zip(ref.size, ref.stride, strict=True))
    if ref.offset < 0 or last >= flat.size:
        raise TorchFileError("tensor extends past its storage")
    if not ref.size:  # as_strided ignores an empty shape
        return flat[ref.offset : ref.offset + 1].reshape(()).copy()
    item = flat.itemsize
    view = np.lib.stride_tricks.as_strided(
        flat[ref.offset :], shape=ref.size, strides=[s * item for s in ref.stride], writeable=False
    )
    return np.ascontiguousarray(view)


def _to_arrays(obj: Any) -> dict[str, np.ndarray[Any, Any]]:
    if not isinstance(obj, dict):
        raise TorchFileError(f"expected a state dict, got {type(obj).__name__}")
    out: dict[str, np.ndarray[Any, Any]] = {}
    for name, value in obj.items():
        if isinstance(value, _TensorRef):
            out[str(name)] = _materialise(value)
    return out


def _read_exact(f: IO[bytes], n: int) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise TorchFileError("file is truncated")
    return data


def _load_legacy(f: IO[bytes]) -> dict[str, np.ndarray[Any, Any]]:
    if _unpickle(f) != LEGACY_MAGIC:
        raise TorchFileError("not a PyTorch file (bad magic number)")
    if _unpickle(f) != 1001:
        raise TorchFileError("unsupported legacy protocol version")
    sys_info = _unpickle(f)
    if isinstance(sys_info, dict) and not sys_info.get("little_endian", True):
        raise TorchFileError("big-endian files are not supported")
    storages: dict[str, _Storage] = {}
    obj = _unpickle(f, storages)
    keys = _unpickle(f)
    if not isinstance(keys, list):
        raise TorchFileError("bad storage key list")
    for key in keys:
        storage = storages.get(str(key))
        if storage is None:
            raise TorchFileError(f"unknown storage key {key!r}")
        (numel,) = struct.unpack("<q", _read_exact(f, 8))
        if numel != storage.numel or numel < 0:
            raise TorchFileError(f"storage {key} has a bad size")
        raw = _read_exact(f, numel * storage.dtype.itemsize)
        storage.data = np.frombuffer(raw, dtype=storage.dtype)
    return _to_arrays(obj)


def _load_zip(zf: zipfile.ZipFile) -> dict[str, np.ndarray[Any, Any]]:
    pkl = [n for n in zf.namelist() if n.endswith("/data.pkl") and n.count("/") == 1]
    if len(pkl) != 1:
        raise TorchFileError("zip file has no single <dir>/data.pkl")
    prefix = pkl[0][: -len("data.pkl")]
    if prefix + "byteorder" in zf.namelist() and zf.read(prefix + "byteorder") != b"little":
        raise TorchFileError("big-endian files are not supported")
    storages: dict[str, _Storage] = {}
    obj = _unpickle(io.BytesIO(zf.read(pkl[0])), storages)
    for key, storage in storages.items():
        raw = zf.read(f"{prefix}data/{key}")
        if len(raw) < storage.numel * storage.dtype.itemsize:
            raise TorchFileError(f"storage {key} is truncated")
        storage.data = np.frombuffer(raw, dtype=storage.dtype, count=storage.numel)
    return _to_arrays(obj)


def load_state_dict(path: str | Path) -> dict[str, np.ndarray[Any, Any]]:
    """Read the tensors of a ``torch.save``-d state dict (name -> contiguous array)."""
    with open(path, "rb") as f:
        try:
            if zipfile.is_zipfile(f):
                f.seek(0)
                with zipfile.ZipFile(f) as zf:
                    return _load_zip(zf)
            f.seek(0)
            return _load_legacy(f)
        except (pickle.UnpicklingError, EOFError, zipfile.BadZipFile, KeyError, TypeError) as exc:
            raise TorchFileError(f"cannot read {path}: {exc}") from exc
