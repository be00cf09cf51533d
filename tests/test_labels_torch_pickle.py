from __future__ import annotations

import io
import pickle
import struct
import sys
import types
import zipfile
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from eventlens.analyzers.labels.model_cache import weights_path
from eventlens.convert.torch_pickle import LEGACY_MAGIC, TorchFileError, load_state_dict


def test_reads_bundled_legacy_weights() -> None:
    sd = load_state_dict(weights_path())
    assert len(sd) == 296
    assert sd["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert sd["_blocks.15._project_conv.weight"].shape == (320, 1152, 1, 1)
    assert sd["_fc.weight"].shape == (1000, 1280)
    assert sd["_fc.weight"].dtype == np.float32
    assert sd["_bn0.num_batches_tracked"].shape == ()
    assert sd["_bn0.num_batches_tracked"].dtype == np.int64
    assert np.isfinite(sd["_fc.weight"]).all()
    assert sd["_bn0.running_var"].min() >= 0  # dead channels have 0


# --- writing torch-format files without torch: fake `torch` modules for the pickler ---------


class _Storage:
    def __init__(self, key: str, type_name: str, data: np.ndarray) -> None:
        self.key, self.type_name, self.data = key, type_name, data


class _Tensor:
    def __init__(self, storage: _Storage, offset: int, size: tuple, stride: tuple) -> None:
        self.args = (storage, offset, size, stride, False, OrderedDict())

    def __reduce__(self) -> tuple[Any, ...]:
        return (sys.modules["torch._utils"]._rebuild_tensor_v2, self.args)


def _rebuild_tensor_v2(*args: Any) -> None:
    raise AssertionError("never called")


@pytest.fixture
def fake_torch(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")
    _rebuild_tensor_v2.__module__ = "torch._utils"
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2  # type: ignore[attr-defined]
    for name in ("FloatStorage", "LongStorage"):
        setattr(torch, name, type(name, (), {"__module__": "torch"}))
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setitem(sys.modules, "torch._utils", utils)
    return torch


class _Pickler(pickle.Pickler):
    def __init__(self, file: io.BytesIO, torch: types.ModuleType, legacy: bool) -> None:
        super().__init__(file, protocol=2)
        self.torch, self.legacy = torch, legacy

    def persistent_id(self, obj: Any) -> Any:
        if isinstance(obj, _Storage):
            pid = ("storage", getattr(self.torch, obj.type_name), obj.key, "cpu", obj.data.size)
            return (*pid, None) if self.legacy else pid
        return None


def _state(torch: types.ModuleType) -> tuple[dict[str, Any], list[_Storage]]:
    a = _Storage("0", "FloatStorage", np.arange(12, dtype=np.float32))
    b = _Storage("1", "LongStorage", np.array([7], dtype=np.int64))
    state = OrderedDict(
        w=_Tensor(a, 0, (3, 4), (4, 1)),
        wt=_Tensor(a, 0, (4, 3), (1, 4)),  # transposed view of the same storage
        tail=_Tensor(a, 10, (2,), (1,)),
        n=_Tensor(b, 0, (), ()),
    )
    return state, [a, b]


def _write_legacy(path: Path, torch: types.ModuleType) -> None:
    state, storages = _state(torch)
    buf = io.BytesIO()
    for header in (LEGACY_MAGIC, 1001, {"little_endian": True}):
        pickle.dump(header, buf, protocol=2)
    _Pickler(buf, torch, legacy=True).dump(state)
    pickle.dump([s.key for s in storages], buf, protocol=2)
    for s in storages:
        buf.write(struct.pack("<q", s.data.size) + s.data.tobytes())
    path.write_bytes(buf.getvalue())


def _write_zip(path: Path, torch: types.ModuleType) -> None:
    state, storages = _state(torch)
    buf = io.BytesIO()
    _Pickler(buf, torch, legacy=False).dump(state)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("archive/data.pkl", buf.getvalue())
        zf.writestr("archive/byteorder", "little")
        for s in storages:
            zf.writestr(f"archive/data/{s.key}", s.data.tobytes())


@pytest.mark.parametrize("writer", [_write_legacy, _write_zip])
def test_round_trip_formats(tmp_path: Path, fake_torch: types.ModuleType, writer: Any) -> None:
    path = tmp_path / "model.pth"
    writer(path, fake_torch)
    sd = load_state_dict(path)
    expected = np.arange(12, dtype=np.float32).reshape(3, 4)
    np.testing.assert_array_equal(sd["w"], expected)
    np.testing.assert_array_equal(sd["wt"], expected.T)
    np.testing.assert_array_equal(sd["tail"], [10, 11])
    assert sd["n"].shape == () and int(sd["n"]) == 7


def test_refuses_arbitrary_globals(tmp_path: Path) -> None:
    class Evil:
        def __reduce__(self) -> tuple[Any, ...]:
            import os

            return (os.system, ("echo pwned",))

    buf = io.BytesIO()
    for header in (LEGACY_MAGIC, 1001, {}):
        pickle.dump(header, buf, protocol=2)
    pickle.dump({"x": Evil()}, buf, protocol=2)
    path = tmp_path / "evil.pth"
    path.write_bytes(buf.getvalue())
    with pytest.raises(TorchFileError, match="refusing to unpickle"):
        load_state_dict(path)


def test_rejects_out_of_bounds_tensor(tmp_path: Path, fake_torch: types.ModuleType) -> None:
    storage = _Storage("0", "FloatStorage", np.zeros(4, dtype=np.float32))
    buf = io.BytesIO()
    _Pickler(buf, fake_torch, legacy=False).dump({"w": _Tensor(storage, 0, (100,), (1,))})
    path = tmp_path / "oob.pth"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("archive/data.pkl", buf.getvalue())
        zf.writestr("archive/data/0", storage.data.tobytes())
    with pytest.raises(TorchFileError, match="past its storage"):
        load_state_dict(path)


def test_rejects_non_torch_file(tmp_path: Path) -> None:
    path = tmp_path / "junk.pth"
    path.write_bytes(b"\x00" * 64)
    with pytest.raises(TorchFileError):
        load_state_dict(path)
