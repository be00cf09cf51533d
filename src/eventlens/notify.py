"""Failure notification port: SNS on AWS, a webhook or the log locally."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod

from eventlens.results.record import Record

log = logging.getLogger("eventlens.notify")


class Notifier(ABC):
    @abstractmethod
    def failure(self, record: Record) -> None:
        """Report a record whose analysis failed. Must not raise."""

    def close(self) -> None:  # noqa: B027 - most notifiers hold nothing
        """Deliver what is still pending and release resources."""


class LogNotifier(Notifier):
    def failure(self, record: Record) -> None:
        log.warning(
            "analysis failed for %s (%s): %s", record.filename, record.environment, record.error,
            extra={"key": record.filename, "environment": record.environment,
                   "error": record.error},
        )  # fmt: skip
