"""Re-run a prefix on AWS (after a model or analyzer change, or for objects uploaded before the
notifications existed): one S3 ``ObjectCreated`` notification per object, sent to the queue the
function reads, exactly as S3 would have sent it.

The function analyses an object again only when its record was made by another model or
analyzer set, or for other bytes (``Pipeline``'s dedup on ETag and ``model_version``), so
re-running a prefix whose records are current costs a DynamoDB read per object, no analysis.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from eventlens.imaging import looks_like_image_key, looks_like_video_key

SQS_BATCH = 10  # SendMessageBatch's limit


def notification(bucket: str, obj: dict[str, Any]) -> str:
    """An S3 event notification body for one listed object (``ListObjectsV2`` ``Contents``)."""
    modified = obj.get("LastModified")
    when = modified if isinstance(modified, datetime) else datetime.now(UTC)
    record = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "eventName": "ObjectCreated:Put",
        "eventTime": when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "s3": {
            "bucket": {"name": bucket},
            "object": {"key": obj["Key"], "size": obj.get("Size"), "eTag": obj.get("ETag")},
        },
    }
    return json.dumps({"Records": [record]})


def listed_media(s3: Any, bucket: str, prefix: str) -> Iterator[dict[str, Any]]:
    """The images and videos below ``prefix`` (the function would skip anything else)."""
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            key = str(obj["Key"])
            if looks_like_image_key(key) or looks_like_video_key(key):
                yield obj


def backfill(s3: Any, sqs: Any, bucket: str, prefix: str, queue_url: str) -> int:
    """Send a notification for every image and video below ``prefix``; returns how many.
    Raises RuntimeError naming the keys SQS refused."""
    sent = 0
    batch: list[dict[str, Any]] = []
    for obj in listed_media(s3, bucket, prefix):
        batch.append(obj)
        if len(batch) == SQS_BATCH:
            sent += _send(sqs, queue_url, bucket, batch)
            batch = []
    if batch:
        sent += _send(sqs, queue_url, bucket, batch)
    return sent


def _send(sqs: Any, queue_url: str, bucket: str, batch: list[dict[str, Any]]) -> int:
    entries = [{"Id": str(i), "MessageBody": notification(bucket, obj)}
               for i, obj in enumerate(batch)]  # fmt: skip
    response = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
    if failed := response.get("Failed"):
        keys = [batch[int(f["Id"])]["Key"] for f in failed]
        raise RuntimeError(f"SQS refused {len(keys)} messages, e.g. {keys[0]!r}: "
                           f"{failed[0].get('Message', '')}")  # fmt: skip
    return len(batch)
