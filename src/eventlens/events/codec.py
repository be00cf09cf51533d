"""ObjectEvent ⇄ JSON, for durable queues."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from eventlens.events.base import EventKind, ObjectEvent


def event_to_json(event: ObjectEvent) -> str:
    data: dict[str, Any] = {
        "bucket": event.bucket, "key": event.key, "kind": event.kind.value, "size": event.size,
        "etag": event.etag, "sequencer": event.sequencer, "source": event.source,
        "event_time": event.event_time.isoformat(), "metadata": event.metadata,
    }  # fmt: skip
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def event_from_json(text: str) -> ObjectEvent:
    data = json.loads(text)
    return ObjectEvent(
        bucket=data["bucket"],
        key=data["key"],
        kind=EventKind(data.get("kind", "created")),
        size=data.get("size"),
        etag=data.get("etag"),
        sequencer=data.get("sequencer"),
        event_time=datetime.fromisoformat(data["event_time"]),
        source=data.get("source", "local"),
        metadata=dict(data.get("metadata") or {}),
    )
