"""Where converted models are kept, and writing one there safely.

Each cached model has a small JSON file beside it (``<model>.digest.json``: its size and sha256),
written after the model. A model whose file does not match it (truncated, overwritten, or
cached by a version that wrote no such file) is converted again instead of failing to load on
every run; a model that matches but still fails to load is converted again once (``rebuild``,
called by the code that opens it).

A model shipped inside a Lambda package (``eventlens.aws.packaged_models``) has ``"shipped":
true`` in its digest file: its size is checked, not its sha256 (~20 ms a cold start for the
label model). Its bytes arrived in a zip that carries a CRC of each file and whose own hash
Lambda checks, into a read-only folder that nothing converts into.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from eventlens import settings
from eventlens.errors import Transient

log = logging.getLogger(__name__)

#: how each model that ``cached`` returned in this process is converted, for ``rebuild``
_converters: dict[Path, Callable[[], bytes]] = {}
_converters_lock = threading.Lock()


class ModelCacheUnwritable(Transient, OSError):
    """A converted model cannot be written to the cache (a read-only or full filesystem)."""


def cache_dir() -> Path:
    """The ``cache_dir`` setting (``EVENTLENS_CACHE_DIR``), read on each call, else the
    platform's user cache dir for eventlens."""
    folder: Path | None = settings.read("cache_dir")
    if folder is not None:
        return folder
    import platformdirs  # not at a Lambda cold start, which names its cache

    return Path(platformdirs.user_cache_dir("eventlens"))


def digest_path(target: Path) -> Path:
    """Where the size and sha256 of the cached model ``target`` are kept."""
    return target.with_name(target.name + ".digest.json")


def cached(target: Path, convert: Callable[[], bytes], force: bool = False) -> Path:
    """``target`` if it exists and matches its digest file (and not ``force``), else
    ``convert()`` written there.

    The file is written to a temporary name and renamed into place, so concurrent processes
    never see a partial model; at worst two of them convert and the last rename wins.
    Raises ``ModelCacheUnwritable`` naming the file when the cache takes no writes, except for
    a model cached before digest files existed, which is then used as it is (if it does not
    load, ``rebuild`` raises).
    """
    with _converters_lock:
        _converters[target] = convert
    if not force and is_intact(target):
        return target
    unverified = not force and target.is_file() and not digest_path(target).exists()
    if unverified:
        log.info("the cached model %s has no digest file: converting it again", target)
    elif target.exists() and not force:
        log.warning("the cached model %s does not match its digest file: converting again", target)
    data = convert()
    try:
        store(target, data)
    except OSError as exc:
        if unverified:
            log.warning("cannot write the model cache (%s): using %s unverified", exc, target)
            return target
        raise ModelCacheUnwritable(
            f"cannot write the model cache {target}: {exc.strerror or exc} "
            f"(it needs {len(data) / 1e6:.1f} MB; set EVENTLENS_CACHE_DIR to a writable folder)"
        ) from exc
    return target


def store(target: Path, data: bytes, *, shipped: bool = False) -> Path:
    """Write a model's ``data`` to ``target`` and its digest file beside it (what ``cached``
    does after converting); ``shipped``: into a package, checked by its size only."""
    _write(target, data)
    fingerprint: dict[str, int | str | bool] = {**_fingerprint(data)}
    if shipped:
        fingerprint["shipped"] = True
    _write(digest_path(target), json.dumps(fingerprint).encode())
    return target


def is_intact(target: Path) -> bool:
    """Whether ``target`` exists with the size and sha256 its digest file names (the size only,
    for a model shipped in a package)."""
    try:
        expected = json.loads(digest_path(target).read_bytes())
        with target.open("rb") as f:
            if os.fstat(f.fileno()).st_size != expected["size"]:
                return False
            if expected.get("shipped") is True:
                return True
            return bool(hashlib.file_digest(f, "sha256").hexdigest() == expected["sha256"])
    except (OSError, ValueError, KeyError, TypeError):
        return False


def rebuild(target: Path) -> bool:
    """Convert ``target`` again (it would not load); False when this process has not cached it
    with ``cached`` and so does not know how."""
    with _converters_lock:
        convert = _converters.get(target)
    if convert is None:
        return False
    log.warning("the cached model %s does not load: converting it again", target)
    cached(target, convert, force=True)
    return True


def _fingerprint(data: bytes) -> dict[str, int | str]:
    return {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def _write(target: Path, data: bytes) -> None:
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
