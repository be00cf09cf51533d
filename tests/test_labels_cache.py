from __future__ import annotations

from pathlib import Path

import platformdirs
import pytest

from eventlens.analyzers.labels import model_cache
from eventlens.analyzers.labels.model_cache import build_model, model_path
from eventlens.convert import cache as convert_cache
from eventlens.convert import torch_pickle

CACHE_ENV = "EVENTLENS_CACHE_DIR"


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    return tmp_path


def test_builds_once_reuses_then_force_rebuilds(cache: Path) -> None:
    path = build_model()
    assert path.parent == cache and path == model_path()
    assert path.name.startswith("efficientnet-lite0-") and path.suffix == ".onnx"
    before = path.stat()
    assert build_model() == path
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert build_model(force=True) == path
    rebuilt = path.stat()
    assert rebuilt.st_ino != before.st_ino and rebuilt.st_size == before.st_size
    # the model and its digest file, no temp files left behind
    assert sorted(p.name for p in cache.iterdir()) == [path.name, f"{path.name}.digest.json"]


def test_converter_version_changes_file_name(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = model_path()
    monkeypatch.setattr(model_cache, "CONVERTER_VERSION", "test-next")
    assert model_path() != first


def test_default_cache_dir_is_user_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CACHE_ENV, raising=False)
    assert "eventlens" in str(model_cache.cache_dir())


def test_failed_write_leaves_no_partial_file(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch_pickle, "load_state_dict", lambda path: {})
    monkeypatch.setattr(model_cache, "build_onnx", lambda state, size: b"fake model")

    def broken_replace(src: str, dst: Path) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(convert_cache.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        build_model()
    assert list(cache.iterdir()) == []


def test_cache_dir_is_read_through_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blank counts as unset, as for every EVENTLENS_* variable (it once meant a folder "  ")."""
    monkeypatch.setenv(CACHE_ENV, "  ")
    assert convert_cache.cache_dir() == Path(platformdirs.user_cache_dir("eventlens"))
