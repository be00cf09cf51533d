"""Where the dashboard gets pictures: the local bucket folder, or presigned S3 URLs."""

from __future__ import annotations

import io
from abc import ABC, abstractmethod
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from PIL import Image

from eventlens.imaging import ImageRejected, decode
from eventlens.results.record import Record

THUMB_SIDE = 320
MAX_SOURCE_BYTES = 50 * 1024 * 1024


class PathRefused(ValueError):
    """The key resolves outside the bucket root (``..``, absolute path or symlink)."""


class ImageSource(ABC):
    @abstractmethod
    def thumbnail_url(self, record: Record) -> str | None:
        """A URL the browser can load, or None to show the card without a picture."""


class LocalImageSource(ImageSource):
    """Thumbnails rendered from files below ``root`` by ``GET /thumb?key=...``."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).resolve()

    def thumbnail_url(self, record: Record) -> str | None:
        return f"/thumb?key={quote(record.filename, safe='')}"

    def resolve(self, key: str) -> Path:
        if not key or "\x00" in key or key.startswith(("/", "\\")) or Path(key).is_absolute():
            raise PathRefused(f"refused key {key!r}")
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root) or path == self.root:
            raise PathRefused(f"refused key {key!r}: outside the bucket root")
        return path

    def thumbnail(self, key: str, side: int = THUMB_SIDE) -> bytes:
        """JPEG bytes. Raises PathRefused, FileNotFoundError or ImageRejected."""
        path = self.resolve(key)
        if not path.is_file():
            raise FileNotFoundError(key)
        st = path.stat()
        if st.st_size > MAX_SOURCE_BYTES:
            raise ImageRejected("file too large for a thumbnail")
        return _render_thumbnail(path, st.st_mtime_ns, st.st_size, side)


@lru_cache(maxsize=512)  # keyed by mtime and size too: a rewritten file gets a new thumbnail
def _render_thumbnail(path: Path, mtime_ns: int, size: int, side: int) -> bytes:
    image = decode(path.read_bytes(), min_short_side=side).image
    image.thumbnail((side, side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=82)
    return buffer.getvalue()


class S3ImageSource(ImageSource):
    """Presigned GET URLs from a boto3 S3 client (for records kept in DynamoDB)."""

    def __init__(self, client: Any, bucket: str | None = None, expires_s: int = 900) -> None:
        self.client = client
        self.bucket = bucket
        self.expires_s = expires_s

    def thumbnail_url(self, record: Record) -> str | None:
        bucket = self.bucket or record.s3_bucket
        if not bucket:
            return None
        url = self.client.generate_presigned_url(
            "get_object",
            Params={"Bucket": bucket, "Key": record.filename},
            ExpiresIn=self.expires_s,
        )
        return str(url)
