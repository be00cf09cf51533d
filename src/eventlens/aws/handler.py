"""The Lambda entry point: ``eventlens.aws.handler.handler``.

One module for every environment; ``EVENTLENS_*`` variables select the environment, table,
analyzer and prefix (see ``eventlens.settings``). The pipeline is built once per sandbox, in
Lambda's init phase (``initialise``), else on first use.

* SQS event source (recommended; enable ``ReportBatchItemFailures`` on the mapping): returns
  ``{"batchItemFailures": [...]}`` naming the messages to redeliver. A message whose
  ``ApproximateReceiveCount`` has reached ``EVENTLENS_MAX_ATTEMPTS`` gets an error record and
  an SNS message instead, and is acknowledged. Set the queue's ``maxReceiveCount`` ≥
  ``EVENTLENS_MAX_ATTEMPTS``; the DLQ then only collects unparseable messages.
* Direct S3, SNS or EventBridge invocations (asynchronous): a transient failure raises
  ``RetryLater`` so that Lambda's own async retries (2 by default) apply. An event that still
  fails goes to the function's dead-letter SNS topic (``dead_letter_config``). Subscribed to that
  topic with a filter on the ``ErrorCode`` message attribute (as ``infra/terraform`` does in
  direct mode), the handler gets the event back, marked as a dead letter, and writes the error
  record and the SNS failure message for it instead of analysing it again. Keys outside
  ``EVENTLENS_PREFIX`` are skipped, so environments can share the topic. SNS messages that are
  not object events (failure notices, alarms, a dead letter of a dead letter) are logged and
  ignored rather than raised on, which would only send them round again.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from eventlens.aws import observability
from eventlens.aws.app import AwsApp, RetryLater, describe, log_unparseable
from eventlens.events.s3 import parse_lambda_event
from eventlens.settings import Mode, Settings

log = logging.getLogger("eventlens.aws")

_app: AwsApp | None = None
_lock = threading.Lock()


def get_app() -> AwsApp:
    """The process-wide app, built on first use (a Lambda cold start) from the environment."""
    global _app
    with _lock:
        if _app is None:
            _app = AwsApp.from_settings(Settings.from_env(mode=Mode.AWS))
        return _app


def initialise() -> None:
    """Build the app in the Lambda init phase (``AWS_LAMBDA_INITIALIZATION_TYPE`` is set
    there), at the init phase's full vCPU: its AWS clients made, its models opening. Where the
    sandbox is initialised ahead of its first event (provisioned concurrency) the models are
    opened before init ends; on demand the event follows at once, and its object's fetch
    overlaps their opening. Not under SnapStart: a snapshot is restored on other CPUs, and
    ONNX Runtime picks its kernels, and the person detector checks its int8 graph, for the CPU
    a session opens on. A configuration that does not build is logged here and raises again
    at the first event, where the handler meets it as before."""
    initialisation = os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE")
    if not initialisation or initialisation == "snap-start":
        return
    try:
        get_app().prepare(wait_for_models=initialisation != "on-demand")
    except Exception as error:
        log.warning("building the app in the init phase failed (tried again per event): %s", error)


def reset() -> None:
    """Forget the cached app (tests, or after changing the environment)."""
    global _app
    with _lock:
        _app = None


def handle(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    batch = parse_lambda_event(event)
    if not batch.is_sqs and not batch.events:
        # nothing to do; and not building the app here means a broken configuration cannot
        # send a dead letter of a dead letter round again
        log_unparseable(batch)
        return {"processed": 0}
    app = get_app()
    result = app.handle(batch)
    if batch.is_sqs:
        return result.lambda_response()
    if result.retry:
        raise RetryLater(f"{len(result.retry)} event(s) to retry: {describe(result.retry)}")
    return {"processed": len(result.outcomes)}


#: The entry point; in Lambda with Powertools' JSON logs and the invocation's context.
handler = observability.lambda_entry(handle)

initialise()
