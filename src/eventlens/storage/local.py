"""A local folder laid out like the S3 bucket: the key is the path below the root.

A key is text (UTF-8 in SQLite, JSON, logs, URLs), a file name is bytes. A name that is not
valid UTF-8 gets a lossless key: each byte that does not decode, and each ``%``, written as
``%XX`` (as S3 and URLs would need them), e.g. ``caf\xe9.png`` -> ``caf%E9.png``; the key leads
back to the same file for reading, deleting and ``/thumb``. Valid names keep their key as is.
Should a file literally named like such a key exist too, it wins and the other is skipped.

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
from urllib.parse import unquote_to_bytes

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


def broken_link_reason(path: Path | str) -> str | None:
    """Why a symbolic link that leads to no file is skipped (None when ``path`` is not one)."""
    if not os.path.islink(path):
        return None
    try:
        os.stat(path)
    except OSError as exc:
        return "a symbolic link loop" if exc.errno == errno.ELOOP else "a symbolic link to nothing"
    return None


def hidden_name_reason(name: str) -> str | None:
    """Why a file name is ignored: hidden names (editors' and sync tools' temporary files)."""
    return "hidden file name (starts with '.')" if name.startswith(".") else None


def key_for_name(relative: str) -> str:
    """The key of a relative path as ``os.fsdecode`` gives it (undecodable bytes as the
    surrogates U+DC80..U+DCFF): the text itself when it is valid Unicode, else escaped."""
    if not _has_surrogates(relative):
        return relative
    return "".join(_escaped(char) for char in relative)


def name_for_key(key: str) -> str | None:
    """The relative path an escaped key stands for, or None when ``key`` is not one."""
    if "%" not in key or _has_surrogates(key):
        return None
    name = os.fsdecode(unquote_to_bytes(key))
    return name if _has_surrogates(name) and key_for_name(name) == key else None


def _has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")  # fails on surrogates only; at C speed, for every scanned path
    except UnicodeEncodeError:
        return True
    return False


def _escaped(char: str) -> str:
    if char == "%":
        return "%25"
    if "\udc80" <= char <= "\udcff":  # an undecodable byte, as os.fsdecode escapes it
        return f"%{ord(char) - 0xDC00:02X}"
    if "\ud800" <= char <= "\udfff":  # not made by os.fsdecode; kept lossless anyway
        return "".join(f"%{byte:02X}" for byte in char.encode(errors="surrogatepass"))
    return char


class LocalFolderStore(ObjectStore):
    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).resolve()
        self.bucket = key_for_name(str(self.root))  # text, whatever bytes the path holds

    def path_for(self, key: str) -> Path:
        path = self._literal_path(key).resolve()
        if not path.is_relative_to(self.root):
            raise ObjectUnavailable(f"{key!r} resolves outside the bucket root (symlink or '..')")
        return path

    def _literal_path(self, key: str) -> Path:
        """Where ``key`` is, unresolved: an escaped key's file unless one is named like it."""
        literal = self.root / key
        name = name_for_key(key)
        if name is None or os.path.lexists(literal):
            return literal
        return self.root / name

    def key_for(self, path: Path | str) -> str:
        return key_for_name(Path(os.path.abspath(path)).relative_to(self.root).as_posix())

    def shadowed_reason(self, path: Path | str) -> str | None:
        """Why the file at ``path`` has no key of its own: its escaped key names another file."""
        text = os.fspath(path)
        if not _has_surrogates(text):
            return None
        relative = Path(os.path.abspath(text)).relative_to(self.root).as_posix()
        key = key_for_name(relative)
        if key != relative and os.path.lexists(self.root / key):
            return f"its name is not UTF-8 and its escaped key names another file ({key!r})"
        return None

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
            for name in dirnames:
                if os.path.islink(os.path.join(dirpath, name)):  # os.walk does not follow it
                    key = self.key_for(Path(dirpath) / name)
                    log.info("skipped %s/: a symbolic link to a folder (not followed)", key)
            for name in sorted(filenames):
                if name.endswith(METADATA_SUFFIX):
                    continue
                path = Path(dirpath) / name
                if reason := hidden_name_reason(name) or self.shadowed_reason(path):
                    log.info("skipped %s: %s", self.key_for(path), reason)
                    continue
                try:
                    st = path.stat()
                except OSError:
                    if reason := broken_link_reason(path):
                        log.info("skipped %s: %s", self.key_for(path), reason)
                    continue  # else it vanished: nothing to process
                if reason := not_regular_reason(st.st_mode):
                    log.info("skipped %s: %s", self.key_for(path), reason)
                    continue
                yield _info(self.key_for(path), st, {})

    def exists(self, key: str) -> bool:
        """Whether anything (even a dangling symlink) is at ``key``."""
        return os.path.lexists(self._literal_path(key))

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
                      metadata=metadata, changed_ns=ctime)  # fmt: skip
