"""What an error means for the event it happened to: three bases, and every error class of
eventlens derives from one of them, so the pipeline decides by class in one place.

* ``Permanent``: this input (or this request) will never work as it is: the event gets an
  error record (a corrupt or oversized image), the command fails with its message.
* ``Skip``: not ours, or gone: the event is logged and ignored (an object deleted before it
  was read, a key outside the bucket, an unrecognised notification).
* ``Transient``: may work later: the event is retried with backoff, up to the attempts limit
  (a throttled service, a missing model package being installed). Errors of no eventlens
  class (``OSError``, a bug) are treated as transient too: retried, then given up with an
  error record.
"""

from __future__ import annotations

from enum import StrEnum


class Permanent(Exception):
    """Will never work as it is: record an error."""


class Skip(Exception):
    """Not ours, or gone: log and ignore."""


class Transient(Exception):
    """May work later: retry."""


class Disposition(StrEnum):
    RECORD = "record"  # an error record
    SKIP = "skip"  # log and ignore
    RETRY = "retry"  # try again later


def disposition(exc: BaseException) -> Disposition:
    if isinstance(exc, Permanent):
        return Disposition.RECORD
    if isinstance(exc, Skip):
        return Disposition.SKIP
    return Disposition.RETRY
