"""Failure notices: a hook that tells someone about each error record (the log, a webhook, SNS)."""

from __future__ import annotations

import logging
from abc import abstractmethod
from collections.abc import Sequence

from eventlens.hooks.base import Hook
from eventlens.outcome import Action, Outcome
from eventlens.results.record import Record

log = logging.getLogger("eventlens.notify")


class Notifier(Hook):
    """Reports every error record the pipeline writes (``failed`` outcomes)."""

    def after_write(self, outcomes: Sequence[Outcome]) -> None:
        for outcome in outcomes:
            if outcome.action is Action.FAILED and outcome.record is not None:
                self.failure(outcome.record)

    @abstractmethod
    def failure(self, record: Record) -> None:
        """Report a record whose analysis failed. Must not raise."""


class LogNotifier(Notifier):
    def failure(self, record: Record) -> None:
        log.warning(
            "analysis failed for %s (%s): %s", record.filename, record.environment, record.error,
            extra={"key": record.filename, "environment": record.environment,
                   "error": record.error},
        )  # fmt: skip
