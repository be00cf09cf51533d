"""What became of one event: the pipeline's answer, which drivers and hooks act on."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from eventlens.events.base import ObjectEvent
from eventlens.results.record import Record


class Action(StrEnum):
    STORED = "stored"  # a new or changed object was analysed and its record written
    FAILED = "failed"  # an error record was written (bad input or retries exhausted)
    UNCHANGED = "unchanged"  # same bytes, same model: nothing to do
    DELETED = "deleted"  # the object was removed: its record is marked deleted
    SKIPPED = "skipped"  # not ours: outside the prefixes, not an image, stale
    RETRY = "retry"  # a transient error; the caller retries the event later


@dataclass(slots=True)
class Outcome:
    event: ObjectEvent
    action: Action
    record: Record | None = None
    reason: str = ""
    error: BaseException | None = None


@dataclass(frozen=True, slots=True)
class Delivered:
    """An outcome as the edge that received its event settled it (Lambda, SQS worker): how
    long it took and what ties it to its delivery (the SQS message id, else the S3 event)."""

    outcome: Outcome
    duration_ms: float
    correlation_id: str
