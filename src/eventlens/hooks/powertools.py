"""AWS logs and metrics of each delivery batch, with Powertools for AWS Lambda (Python).

* **Logs**: one line per outcome on the ``eventlens.aws.outcomes`` logger with ``key``,
  ``bucket``, ``env``, ``action``, ``duration_ms``, ``error``, ``reason``, ``labels`` and a
  ``correlation_id`` (the SQS message id, else the S3 sequencer, else the key); JSON through
  Powertools' Logger where ``eventlens.aws.observability.structured_logs`` set it up.
* **Metrics**: CloudWatch Embedded Metric Format through Powertools' Metrics: namespace
  ``eventlens``, dimensions ``environment`` and ``service``; counts ``Processed``, ``Failed``,
  ``Retried``, ``Skipped``, ``Unchanged``, ``Deleted`` per batch and one ``DurationMs`` value
  per analysed image, flushed at the end of every batch.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from eventlens.hooks.base import Hook
from eventlens.outcome import Action, Delivered

if TYPE_CHECKING:
    from aws_lambda_powertools import Metrics

NAMESPACE = "eventlens"
SERVICE = "eventlens"
COUNTS = (
    ("Processed", Action.STORED),
    ("Failed", Action.FAILED),
    ("Retried", Action.RETRY),
    ("Skipped", Action.SKIPPED),
    ("Unchanged", Action.UNCHANGED),
    ("Deleted", Action.DELETED),
)
LEVELS = {Action.FAILED: logging.ERROR, Action.RETRY: logging.WARNING}

log = logging.getLogger("eventlens.aws.outcomes")
_metrics: Metrics | None = None


class OutcomeLogsAndMetrics(Hook):
    """The AWS app's hook: ``report`` for every delivery batch."""

    def after_batch(self, delivered: Sequence[Delivered], environment: str) -> None:
        report(delivered, environment)


def outcome_fields(item: Delivered, environment: str) -> dict[str, Any]:
    outcome, record = item.outcome, item.outcome.record
    error = None
    if outcome.action in (Action.FAILED, Action.RETRY):
        error = (record.error if record is not None else None) or outcome.reason
    return {
        "correlation_id": item.correlation_id,
        "key": outcome.event.key,
        "bucket": outcome.event.bucket,
        "env": environment,
        "action": outcome.action.value,
        "duration_ms": round(item.duration_ms, 3),
        "error": error,
        "reason": outcome.reason or None,
        "labels": record.label_count if record is not None and record.ok else None,
    }


def metrics() -> Metrics:
    """The process's Powertools Metrics (EMF documents on stdout)."""
    global _metrics
    if _metrics is None:
        from aws_lambda_powertools import Metrics

        _metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
    return _metrics


def report(delivered: Sequence[Delivered], environment: str) -> None:
    """One log line per outcome, then the batch's metrics."""
    for item in delivered:
        level = LEVELS.get(item.outcome.action, logging.INFO)
        log.log(level, "outcome", extra=outcome_fields(item, environment))
    sink = metrics()
    if sink.default_dimensions.get("environment") != environment:  # once per process
        sink.clear_default_dimensions()
        sink.clear_metrics()  # nothing is pending: every report flushes
        sink.set_default_dimensions(environment=environment)
    counts = Counter(item.outcome.action for item in delivered)
    for name, action in COUNTS:  # first, so they are in the first of several documents
        sink.add_metric(name=name, unit="Count", value=counts.get(action, 0))
    for item in delivered:
        if item.outcome.action in (Action.STORED, Action.FAILED):
            sink.add_metric(
                name="DurationMs", unit="Milliseconds", value=round(item.duration_ms, 3)
            )
    sink.flush_metrics()
