"""The one event type every source is translated into."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum


class EventKind(StrEnum):
    CREATED = "created"
    REMOVED = "removed"


@dataclass(frozen=True, slots=True)
class ObjectEvent:
    """An object appeared, changed or disappeared in a bucket (a local folder or S3).

    ``sequencer`` orders events for the same key: S3's hex sequencer, or a zero-padded
    nanosecond mtime for local files. Larger means newer; comparison is done on
    (length, value) so that sequencers of different lengths still order correctly.
    """

    bucket: str
    key: str
    kind: EventKind = EventKind.CREATED
    size: int | None = None
    etag: str | None = None
    sequencer: str | None = None
    event_time: datetime = field(default_factory=lambda: datetime.now(UTC))
    source: str = "local"
    metadata: dict[str, str] = field(default_factory=dict)


def sequencer_newer_or_equal(candidate: str | None, stored: str | None) -> bool:
    """True when ``candidate`` is not older than ``stored`` (unknown sequencers never block)."""
    if candidate is None or stored is None:
        return True
    a, b = candidate.lstrip("0") or "0", stored.lstrip("0") or "0"
    return (len(a), a) >= (len(b), b)
