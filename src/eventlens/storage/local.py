"""A local folder laid out like the S3 bucket: the key is the path below the root.

A hostile bucket may hold FIFOs, sockets, devices or directories with image names: opening a
FIFO for reading blocks until a writer comes, so every read checks the type first, opens
without blocking and checks the type of what it opened (the name may have been swapped).
"""

from __future__ import annotations

import errno
import json
import logging
import os
import stat as stat_module
from collections.abc import Iterator
from pathlib import Path

from eventlens.storage.base import ObjectInfo, ObjectStore, ObjectTooLarge, ObjectUnavailable

METADATA_SUFFIX = ".metadata.json"  # side-car file carrying S3-style user metadata

log = logging.getLogger("eventlens.storage.local")

_KINDS = (
    (stat_module.S_ISDIR, "a directory"),
    (stat_module.S_ISFIFO, "a FIFO"),
    (stat_module.S_ISSOCK, "a socket"),
    (stat_module.S_ISCHR, "a character device"),
    (stat_module.S_ISBLK, "a block device"),
)


def not_regular_reason(mode: int) -> str | None:
    """Why a file of this mode is never read (None for a regular file)."""
    if stat_module.S_ISREG(mode):
        return None
    kind = next((name for test, name in _KINDS if test(mode)), "of an unknown type")
    return f"not a regular file ({kind})"


def hidden_name_reason(name: str) -> str | None:
    """Why a file name is ignored: hidden names (editors' and sync tools' temporary files)."""
    return "hidden file name (starts with '.')" if name.startswith(".") else None


class LocalFolderStore(ObjectStore):
    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).resolve()
        self.bucket = str(self.root)

    def path_for(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root):
            raise ObjectUnavailable(f"{key!r} resolves outside the bucket root (symlink or '..')")
        return path

    def key_for(self, path: Path | str) -> str:
        return Path(os.path.abspath(path)).relative_to(self.root).as_posix()

    def stat(self, key: str) -> ObjectInfo:
        path = self.path_for(key)
        st = _regular_stat(key, path)
        return _info(key, st, self._metadata(path))

    def read(self, key: str, *, max_bytes: int) -> tuple[bytes, ObjectInfo]:
        path = self.path_for(key)
        _regular_stat(key, path)  # before opening: never open a FIFO or a device
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
        except FileNotFoundError as exc:
            raise ObjectUnavailable(f"{key!r} no longer exists") from exc
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.EISDIR, errno.ENXIO):
                raise ObjectUnavailable(f"{key!r} was replaced while being opened") from exc
            raise
        before = os.fstat(fd)
        if reason := not_regular_reason(before.st_mode):  # swapped after the check
            os.close(fd)
            raise ObjectUnavailable(f"{key!r} is {reason}")
        with os.fdopen(fd, "rb") as handle:
            if before.st_size > max_bytes:
                raise ObjectTooLarge(
                    f"file too large: {before.st_size:,} bytes (limit {max_bytes:,})"
                )
            # read what fstat announced (+1 to notice growth), not a max_bytes buffer
            data = handle.read(min(before.st_size, max_bytes) + 1)
            after = os.fstat(fd)
        if len(data) > max_bytes:
            raise ObjectTooLarge(f"file too large: over {max_bytes:,} bytes")
        if _version(after) != _version(before):
            raise OSError(f"{key!r} changed while being read")  # transient: retried
        return data, _info(key, after, self._metadata(path))

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        """Regular files below ``prefix``; hidden names and other file types are skipped
        with a logged reason (side-car metadata files silently)."""
        base = self.root / prefix
        if not base.is_dir():
            return
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames.sort()
            for name in sorted(filenames):
                if name.endswith(METADATA_SUFFIX):
                    continue
                path = Path(dirpath) / name
                if reason := hidden_name_reason(name):
                    log.info("skipped %s: %s", self.key_for(path), reason)
                    continue
                try:
                    st = path.stat()
                except OSError:
                    continue  # vanished or a dangling symlink: nothing to process
                if reason := not_regular_reason(st.st_mode):
                    log.info("skipped %s: %s", self.key_for(path), reason)
                    continue
                yield _info(self.key_for(path), st, {})

    def exists(self, key: str) -> bool:
        """Whether anything (even a dangling symlink) is at ``key``."""
        return os.path.lexists(self.root / key)

    def write(self, key: str, data: bytes, metadata: dict[str, str] | None = None) -> ObjectInfo:
        path = self.path_for(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        if metadata:
            sidecar = path.with_name(path.name + METADATA_SUFFIX)
            sidecar.write_text(json.dumps(metadata), encoding="utf-8")
        tmp = path.with_name(f".{path.name}.part")
        tmp.write_bytes(data)
        os.replace(tmp, path)  # atomic: a watcher never sees a half-written image
        return self.stat(key)

    @staticmethod
    def _metadata(path: Path) -> dict[str, str]:
        sidecar = path.with_name(path.name + METADATA_SUFFIX)
        try:
            if not sidecar.is_file():
                return {}
            loaded = json.loads(sidecar.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return {str(k): str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}


def _regular_stat(key: str, path: Path) -> os.stat_result:
    try:
        st = path.stat()
    except FileNotFoundError as exc:
        raise ObjectUnavailable(f"{key!r} no longer exists") from exc
    except OSError as exc:
        raise ObjectUnavailable(f"cannot stat {key!r}: {exc.strerror}") from exc
    if reason := not_regular_reason(st.st_mode):
        raise ObjectUnavailable(f"{key!r} is {reason}")
    return st


def _version(st: os.stat_result) -> tuple[int, int, int, int]:
    """What changes whenever the bytes may have: size, mtime, and ctime and inode, which no
    one can set back (``cp -p``, ``touch -d``, and ``mv`` of an older file all change them)."""
    return st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino


def _info(key: str, st: os.stat_result, metadata: dict[str, str]) -> ObjectInfo:
    size, mtime, ctime, inode = _version(st)
    # no sequencer: local events are ordered by the intake queue, which numbers them as they
    # arrive (an mtime can go back; see IntakeQueue)
    return ObjectInfo(key=key, size=size, etag=f"{size:x}-{mtime:x}-{ctime:x}-{inode:x}",
                      metadata=metadata)  # fmt: skip
