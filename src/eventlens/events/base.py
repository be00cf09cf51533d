"""The one event type every source is translated into."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

_DECIMAL = re.compile(r"-?[0-9]+")


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


def outranks_clock(sequencer: str | None, now_ns: int) -> bool:
    """Whether ``sequencer`` is a local one from before the database clock that no newly
    numbered event would outrank. Release 0.1.0 used a file's nanosecond mtime: a file dated
    in the future (2100) ranks above every number the clock gives now, and one dated before
    1970 too (its minus sign makes it longer). Those are rewritten when a database is upgraded.
    """
    if sequencer is None or not _DECIMAL.fullmatch(sequencer):
        return False
    return sequencer.startswith("-") or int(sequencer) > now_ns


#: where a rewritten pre-clock sequencer ranks: below every event
OLDEST_SEQUENCER = "0" * 20


def sequencer_newer_or_equal(candidate: str | None, stored: str | None) -> bool:
    """True when ``candidate`` is not older than ``stored`` (unknown sequencers never block)."""
    if candidate is None or stored is None:
        return True
    a, b = candidate.lstrip("0") or "0", stored.lstrip("0") or "0"
    return (len(a), a) >= (len(b), b)
