"""An S3 bucket as the object store (boto3)."""

from __future__ import annotations

import mimetypes
from collections.abc import Iterator
from typing import Any

from eventlens.aws_clients import client as make_client
from eventlens.aws_clients import error_code
from eventlens.errors import Transient
from eventlens.storage.base import ObjectInfo, ObjectStore, ObjectTooLarge, ObjectUnavailable

#: Error codes meaning "this object cannot be read, now or later".
_GONE = frozenset({"NoSuchKey", "404", "NotFound", "NoSuchBucket", "InvalidObjectState"})


class TransientStorageError(Transient, OSError):
    """Throttling, a 5xx, a timeout, a permission problem being fixed: retry later."""


class S3ObjectStore(ObjectStore):
    def __init__(self, bucket: str, client: Any | None = None) -> None:
        self.bucket = bucket
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = make_client("s3")
        return self._client

    def stat(self, key: str) -> ObjectInfo:
        response = self._call(key, self.client.head_object, Bucket=self.bucket, Key=key)
        return _info(key, response)

    def read(self, key: str, *, max_bytes: int) -> tuple[bytes, ObjectInfo]:
        response = self._call(key, self.client.get_object, Bucket=self.bucket, Key=key)
        body = response["Body"]
        try:
            size = int(response.get("ContentLength", 0))
            if size > max_bytes:
                raise ObjectTooLarge(f"file too large: {size:,} bytes (limit {max_bytes:,})")
            try:
                data = body.read(max_bytes + 1)
            except Exception as exc:  # a connection reset half way through the body
                raise TransientStorageError(f"reading {key!r} failed: {exc}") from exc
        finally:
            body.close()
        if len(data) > max_bytes:
            raise ObjectTooLarge(f"file too large: over {max_bytes:,} bytes")
        return data, _info(key, response)

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        paginator = self.client.get_paginator("list_objects_v2")
        pages = self._call(prefix, paginator.paginate, Bucket=self.bucket, Prefix=prefix)
        try:
            for page in pages:
                for item in page.get("Contents", []):
                    yield ObjectInfo(
                        key=item["Key"], size=int(item["Size"]), etag=_etag(item.get("ETag"))
                    )
        except Exception as exc:
            raise _translate(prefix, exc) from exc

    def write(self, key: str, data: bytes, metadata: dict[str, str] | None = None) -> ObjectInfo:
        content_type = mimetypes.guess_type(key)[0] or "application/octet-stream"
        response = self._call(
            key,
            self.client.put_object,
            Bucket=self.bucket,
            Key=key,
            Body=data,
            Metadata=dict(metadata or {}),
            ContentType=content_type,
        )
        return ObjectInfo(
            key=key, size=len(data), etag=_etag(response.get("ETag")), metadata=dict(metadata or {})
        )

    def _call(self, key: str, method: Any, **kwargs: Any) -> Any:
        try:
            return method(**kwargs)
        except Exception as exc:
            raise _translate(key, exc) from exc


def _translate(key: str, exc: Exception) -> Exception:
    code = error_code(exc)
    if code in _GONE:
        return ObjectUnavailable(f"{key!r} is not readable: {code}")
    if isinstance(exc, ObjectUnavailable | TransientStorageError):
        return exc
    return TransientStorageError(f"S3 request for {key!r} failed: {code or exc!r}")


def _etag(value: Any) -> str:
    return str(value or "").strip('"')


def _info(key: str, response: dict[str, Any]) -> ObjectInfo:
    metadata = response.get("Metadata") or {}
    return ObjectInfo(
        key=key,
        size=int(response.get("ContentLength", 0)),
        etag=_etag(response.get("ETag")),
        sequencer=None,  # only notifications carry S3's sequencer
        metadata={str(k).lower(): str(v) for k, v in metadata.items()},
    )
