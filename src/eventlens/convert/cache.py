"""Where converted models are kept, and writing one there safely."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import platformdirs

from eventlens import settings


def cache_dir() -> Path:
    """The ``cache_dir`` setting (``EVENTLENS_CACHE_DIR``), read on each call, else the
    platform's user cache dir for eventlens."""
    folder: Path | None = settings.read("cache_dir")
    return folder or Path(platformdirs.user_cache_dir("eventlens"))


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
