"""Turn what happened (a file event, an S3 notification, a backfill scan) into one event type."""

from eventlens.events.base import EventKind, ObjectEvent

__all__ = ["EventKind", "ObjectEvent"]
