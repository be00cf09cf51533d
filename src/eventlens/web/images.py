"""Where the dashboard gets pictures: the local bucket folder, or presigned S3 URLs."""

from __future__ import annotations

import io
import math
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any
from urllib.parse import quote

from PIL import Image, ImageOps

from eventlens.errors import Permanent, Skip
from eventlens.imaging import ImageRejected, decode, looks_like_image_key
from eventlens.results.record import Record
from eventlens.routing import DEFAULT_ROUTES
from eventlens.storage.local import LocalFolderStore

THUMB_SIDE = 320
FACE_SIDE = 160
#: the face thumbnail shows this much of the box's size around it (hair, chin)
FACE_MARGIN = 0.3
MAX_SOURCE_BYTES = 50 * 1024 * 1024


class PathRefused(Skip, ValueError):
    """The key resolves outside the bucket root (``..``, absolute path or symlink) or the
    route prefixes, or names a hidden file: decided before the file system is touched, except
    for symlinks, whose targets are checked."""


class ImageSource(ABC):
    @abstractmethod
    def thumbnail_url(self, record: Record) -> str | None:
        """A URL the browser can load, or None to show the card without a picture."""


class LocalImageSource(ImageSource):
    """Thumbnails rendered from images below ``root`` by ``GET /thumb?key=...``, for keys
    under the route ``prefixes`` only (default: the default routes')."""

    def __init__(self, root: Path | str, prefixes: Sequence[str] | None = None) -> None:
        self.root = Path(root).resolve()
        self.prefixes = tuple(prefixes or (r.prefix for r in DEFAULT_ROUTES))
        self.store = LocalFolderStore(self.root)
        self.cache = ThumbnailCache()

    def thumbnail_url(self, record: Record) -> str | None:
        return f"/thumb?key={quote(record.filename, safe='')}"

    def resolve(self, key: str) -> Path:
        if not key or "\x00" in key or key.startswith(("/", "\\")) or Path(key).is_absolute():
            raise PathRefused(f"refused key {key!r}")
        parts = key.split("/")
        if ".." in parts or not key.startswith(self.prefixes) or parts[-1].startswith("."):
            raise PathRefused(f"refused key {key!r}: not an image key of a route")
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root) or path == self.root:
            raise PathRefused(f"refused key {key!r}: outside the bucket root")
        return path

    def thumbnail(self, key: str, side: int = THUMB_SIDE) -> bytes:
        """JPEG bytes. Raises PathRefused, or FileNotFoundError for anything else that has
        no thumbnail (missing, not a regular file, not an image, unreadable, too large)
        alike, so answers do not tell whether a file exists."""
        self.resolve(key)
        try:
            if not looks_like_image_key(key):
                raise ImageRejected("not an image file extension")
            info = self.store.stat(key)  # a FIFO or a device is refused here, never opened
            if info.size > MAX_SOURCE_BYTES:
                raise ImageRejected("file too large for a thumbnail")
            return self.cache.get((key, info.etag, side), lambda: self._render(key, side))
        except (OSError, Permanent, Skip) as exc:  # missing, refused, not an image, too big
            raise FileNotFoundError(key) from exc

    def face(self, key: str, box: Mapping[str, float], side: int = FACE_SIDE) -> bytes:
        """A square JPEG of the face in ``box`` (Rekognition's ``BoundingBox``, fractions of
        the upright image) of the photo ``key``; raises as :meth:`thumbnail` does, and
        FileNotFoundError for a box that is not one."""
        region = face_region(box)
        if region is None:
            raise FileNotFoundError(f"no face box for {key!r}")
        self.resolve(key)
        try:
            if not looks_like_image_key(key):
                raise ImageRejected("not an image file extension")
            info = self.store.stat(key)
            if info.size > MAX_SOURCE_BYTES:
                raise ImageRejected("file too large for a thumbnail")
            version = (key, info.etag, region, side)
            return self.cache.get(version, lambda: self._render_face(key, region, side))
        except (OSError, Permanent, Skip) as exc:
            raise FileNotFoundError(key) from exc

    def _render_face(self, key: str, region: tuple[float, ...], side: int) -> bytes:
        left, top, width, height = region
        data, _ = self.store.read(key, max_bytes=MAX_SOURCE_BYTES)
        # decoded just large enough that the face is ``side`` pixels: a small face in a big
        # photo needs more of it than the thumbnail does, still within the memory budget
        image = decode(data, min_short_side=math.ceil(side / min(width, height))).image
        w, h = image.size
        reach = max(width * w, height * h) * (1 + 2 * FACE_MARGIN) / 2
        cx, cy = (left + width / 2) * w, (top + height / 2) * h
        crop = image.crop((
            max(0, round(cx - reach)), max(0, round(cy - reach)),
            min(w, round(cx + reach)), min(h, round(cy + reach)),
        ))  # fmt: skip
        crop = ImageOps.fit(crop, (side, side), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        crop.save(buffer, "JPEG", quality=85)
        return buffer.getvalue()

    def _render(self, key: str, side: int) -> bytes:
        data, _ = self.store.read(key, max_bytes=MAX_SOURCE_BYTES)
        image = decode(data, min_short_side=side).image  # within the memory budget
        image.thumbnail((side, side), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=82)
        return buffer.getvalue()


def face_region(box: Mapping[str, Any] | None) -> tuple[float, float, float, float] | None:
    """(left, top, width, height) of a ``BoundingBox`` clipped to the image, None for one
    that is missing, not numbers, or smaller than 1 % a side (nothing to show)."""
    if not isinstance(box, Mapping):
        return None
    try:
        values = [float(box[name]) for name in ("Left", "Top", "Width", "Height")]
    except (KeyError, TypeError, ValueError):
        return None
    if not all(math.isfinite(v) for v in values):
        return None
    left, top, width, height = values
    right, bottom = min(1.0, left + width), min(1.0, top + height)
    left, top = max(0.0, left), max(0.0, top)
    if right - left < 0.01 or bottom - top < 0.01:
        return None
    return left, top, right - left, bottom - top


class ThumbnailCache:
    """Rendered thumbnails by (key, version, side), least recently used out past
    ``max_bytes``; concurrent requests for one thumbnail wait for a single rendering."""

    def __init__(self, max_bytes: int = 32 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, bytes] = OrderedDict()
        self._size = 0
        self._rendering: dict[Hashable, Future[bytes]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, render: Callable[[], bytes]) -> bytes:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            pending = self._rendering.get(key)
            if pending is None:
                self._rendering[key] = mine = Future[bytes]()
        if pending is not None:
            return pending.result()
        try:
            data = render()
        except BaseException as exc:
            mine.set_exception(exc)
            raise
        finally:
            with self._lock:
                del self._rendering[key]
        mine.set_result(data)
        self._keep(key, data)
        return data

    def _keep(self, key: Hashable, data: bytes) -> None:
        with self._lock:
            self._items[key] = data
            self._size += len(data)
            while self._size > self.max_bytes and self._items:
                _, dropped = self._items.popitem(last=False)
                self._size -= len(dropped)


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
