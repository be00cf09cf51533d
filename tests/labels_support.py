"""Shared helpers for the ``test_labels_*`` modules (a module, not a conftest, to stay local)."""

from __future__ import annotations

import atexit
import functools
import io
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from eventlens.analyzers.labels.model_cache import build_model


@functools.cache
def model_file() -> Path:
    """The ONNX model, converted once per test session into a throwaway cache dir."""
    cache = Path(tempfile.mkdtemp(prefix="eventlens-test-model-"))
    atexit.register(shutil.rmtree, cache, True)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EVENTLENS_CACHE_DIR", str(cache))
        return build_model()


def encode(array: np.ndarray, fmt: str = "JPEG", **params: object) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, fmt, **params)
    return buf.getvalue()


@functools.cache
def photo(name: str) -> bytes:
    """A real photo from scikit-image's bundled data (``chelsea`` is a tabby cat), as JPEG."""
    from skimage import data

    return encode(getattr(data, name)(), quality=92)
