"""A local folder laid out like the S3 bucket: the key is the path below the root."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

from eventlens.storage.base import ObjectInfo, ObjectStore, ObjectTooLarge, ObjectUnavailable

METADATA_SUFFIX = ".metadata.json"  # side-car file carrying S3-style user metadata


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
        try:
            st = path.stat()
        except FileNotFoundError as exc:
            raise ObjectUnavailable(f"{key!r} no longer exists") from exc
        except OSError as exc:
            raise ObjectUnavailable(f"cannot stat {key!r}: {exc.strerror}") from exc
        if not path.is_file():
            raise ObjectUnavailable(f"{key!r} is not a regular file")
        return _info(key, st, self._metadata(path))

    def read(self, key: str, *, max_bytes: int) -> tuple[bytes, ObjectInfo]:
        path = self.path_for(key)
        try:
            with path.open("rb") as handle:
                before = os.fstat(handle.fileno())
                if before.st_size > max_bytes:
                    raise ObjectTooLarge(
                        f"file too large: {before.st_size:,} bytes (limit {max_bytes:,})"
                    )
                # read what fstat announced (+1 to notice growth), not a max_bytes buffer
                data = handle.read(min(before.st_size, max_bytes) + 1)
                after = os.fstat(handle.fileno())
        except FileNotFoundError as exc:
            raise ObjectUnavailable(f"{key!r} no longer exists") from exc
        except IsADirectoryError as exc:
            raise ObjectUnavailable(f"{key!r} is not a regular file") from exc
        if len(data) > max_bytes:
            raise ObjectTooLarge(f"file too large: over {max_bytes:,} bytes")
        if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
            raise OSError(f"{key!r} changed while being read")  # transient: retried
        return data, _info(key, after, self._metadata(path))

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        base = self.root / prefix
        if not base.is_dir():
            return
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames.sort()
            for name in sorted(filenames):
                if name.endswith(METADATA_SUFFIX) or name.startswith("."):
                    continue
                path = Path(dirpath) / name
                try:
                    st = path.stat()
                except OSError:
                    continue  # vanished or a dangling symlink: nothing to process
                yield _info(self.key_for(path), st, {})

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
            loaded = json.loads(sidecar.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return {str(k): str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}


def _info(key: str, st: os.stat_result, metadata: dict[str, str]) -> ObjectInfo:
    return ObjectInfo(
        key=key,
        size=st.st_size,
        etag=f"{st.st_size:x}-{st.st_mtime_ns:x}",
        sequencer=f"{st.st_mtime_ns:020d}",
        metadata=metadata,
    )
