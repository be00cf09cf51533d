"""Logs and metrics the AWS way, with Powertools for AWS Lambda (Python).

* **Logs**: one line per outcome on the ``eventlens.aws.outcomes`` logger with ``key``,
  ``bucket``, ``env``, ``action``, ``duration_ms``, ``error``, ``reason``, ``labels`` and a
  ``correlation_id`` (the SQS message id, else the S3 sequencer, else the key). In Lambda and
  in ``eventlens worker``, ``structured_logs()`` puts Powertools' Logger on the ``eventlens``
  logger, so every eventlens line is JSON on stdout with ``service``, ``level``, ``timestamp``,
  and, through ``lambda_entry``, the invocation's ``function_request_id`` and ``cold_start``.
* **Metrics**: CloudWatch Embedded Metric Format through Powertools' Metrics: namespace
  ``eventlens``, dimensions ``environment`` and ``service``; counts ``Processed``, ``Failed``,
  ``Retried``, ``Skipped``, ``Unchanged``, ``Deleted`` per batch and one ``DurationMs`` value
  per analysed image, flushed at the end of every batch.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, TypeVar

from eventlens.pipeline import Action, Outcome

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger, Metrics

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
F = TypeVar("F", bound=Callable[..., Any])
_metrics: Metrics | None = None
_logger: Logger | None = None


@dataclass(frozen=True, slots=True)
class Reported:
    outcome: Outcome
    duration_ms: float
    correlation_id: str


def outcome_fields(item: Reported, environment: str) -> dict[str, Any]:
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


def structured_logs(stream: IO[str] | None = None) -> Logger:
    """Powertools' JSON Logger on the ``eventlens`` logger (stdout, which Lambda sends to
    CloudWatch Logs); once per process, later calls return the same Logger."""
    global _logger
    if _logger is None:
        from aws_lambda_powertools import Logger

        _logger = Logger(service=SERVICE, stream=stream)
    return _logger


def lambda_entry(handler: F) -> F:
    """In Lambda (``AWS_LAMBDA_FUNCTION_NAME`` set): ``handler`` with JSON logs carrying the
    invocation's context (request id, cold start); elsewhere ``handler`` itself."""
    if not os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        return handler
    decorated: F = structured_logs().inject_lambda_context(handler, clear_state=True)
    return decorated


def report(reported: Sequence[Reported], environment: str) -> None:
    """One log line per outcome, then the batch's metrics."""
    for item in reported:
        level = LEVELS.get(item.outcome.action, logging.INFO)
        log.log(level, "outcome", extra=outcome_fields(item, environment))
    sink = metrics()
    if sink.default_dimensions.get("environment") != environment:  # once per process
        sink.clear_default_dimensions()
        sink.clear_metrics()  # nothing is pending: every report flushes
        sink.set_default_dimensions(environment=environment)
    counts = Counter(item.outcome.action for item in reported)
    for name, action in COUNTS:  # first, so they are in the first of several documents
        sink.add_metric(name=name, unit="Count", value=counts.get(action, 0))
    for item in reported:
        if item.outcome.action in (Action.STORED, Action.FAILED):
            sink.add_metric(
                name="DurationMs", unit="Milliseconds", value=round(item.duration_ms, 3)
            )
    sink.flush_metrics()
