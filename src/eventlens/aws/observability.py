"""Structured JSON logs (one line per outcome) and CloudWatch Embedded Metric Format."""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from eventlens.pipeline import Action, Outcome

NAMESPACE = "eventlens"
EMF_VALUES_LIMIT = 100  # CloudWatch accepts at most 100 values per metric per document

Emit = Callable[[str], None]


def _stdout(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def outcome_line(outcome: Outcome, environment: str, duration_ms: float) -> dict[str, Any]:
    record = outcome.record
    error = None
    if outcome.action in (Action.FAILED, Action.RETRY):
        error = (record.error if record is not None else None) or outcome.reason
    return {
        "level": "ERROR"
        if outcome.action is Action.FAILED
        else ("WARNING" if outcome.action is Action.RETRY else "INFO"),
        "message": "outcome",
        "key": outcome.event.key,
        "bucket": outcome.event.bucket,
        "env": environment,
        "action": outcome.action.value,
        "duration_ms": round(duration_ms, 3),
        "error": error,
        "reason": outcome.reason or None,
        "labels": record.label_count if record is not None and record.ok else None,
    }


def emf_documents(
    outcomes: Sequence[tuple[Outcome, float]], environment: str, *, now_ms: int | None = None
) -> list[dict[str, Any]]:
    """Processed / Failed / Retried / Skipped counts and per-image DurationMs, one document
    per 100 duration values, dimension ``environment``, namespace ``eventlens``."""
    counts = Counter(outcome.action for outcome, _ in outcomes)
    durations = [
        round(ms, 3) for outcome, ms in outcomes if outcome.action in (Action.STORED, Action.FAILED)
    ]
    chunks = [durations[i : i + EMF_VALUES_LIMIT] for i in range(0, len(durations), 100)] or [[]]
    timestamp = now_ms if now_ms is not None else int(time.time() * 1000)
    documents = []
    for index, chunk in enumerate(chunks):
        metrics = [{"Name": "DurationMs", "Unit": "Milliseconds"}] if chunk else []
        body: dict[str, Any] = {"environment": environment}
        if chunk:
            body["DurationMs"] = chunk
        if index == 0:
            for name, action in (
                ("Processed", Action.STORED),
                ("Failed", Action.FAILED),
                ("Retried", Action.RETRY),
                ("Skipped", Action.SKIPPED),
                ("Unchanged", Action.UNCHANGED),
            ):
                metrics.append({"Name": name, "Unit": "Count"})
                body[name] = counts.get(action, 0)
        documents.append(
            {
                "_aws": {
                    "Timestamp": timestamp,
                    "CloudWatchMetrics": [
                        {
                            "Namespace": NAMESPACE,
                            "Dimensions": [["environment"]],
                            "Metrics": metrics,
                        }
                    ],
                },
                **body,
            }
        )
    return documents


def report(
    outcomes: Sequence[tuple[Outcome, float]], environment: str, emit: Emit = _stdout
) -> None:
    """Write one log line per outcome, then the EMF metric documents, to stdout."""
    for outcome, ms in outcomes:
        emit(json.dumps(outcome_line(outcome, environment, ms), ensure_ascii=False, default=str))
    for document in emf_documents(outcomes, environment):
        emit(json.dumps(document, separators=(",", ":")))
