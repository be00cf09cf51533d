"""``eventlens worker``: long-poll an SQS queue and run the Lambda handler logic on each batch.

Succeeded messages are deleted; failed ones are left alone and come back when their visibility
timeout expires (and end in the queue's DLQ after ``maxReceiveCount``). Any number of workers
can share one queue. ``stop()`` (SIGTERM/SIGINT in the CLI) ends the loop after the batch in
progress.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eventlens.aws.app import AwsApp, BatchResult
from eventlens.aws_clients import client as make_client
from eventlens.events.s3 import parse_lambda_event
from eventlens.retry import Backoff

log = logging.getLogger("eventlens.aws.worker")


def to_lambda_records(messages: list[dict[str, Any]], queue_arn: str = "") -> list[dict[str, Any]]:
    """SQS ReceiveMessage output → the ``Records`` of a Lambda SQS event."""
    return [
        {
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m.get("Body", ""),
            "attributes": dict(m.get("Attributes") or {}),
            "messageAttributes": {},
            "md5OfBody": m.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": queue_arn,
        }
        for m in messages
    ]


@dataclass(slots=True)
class WorkerStats:
    batches: int = 0
    messages: int = 0
    deleted: int = 0
    left_for_retry: int = 0
    errors: int = 0


class Worker:
    def __init__(
        self,
        app: AwsApp,
        queue_url: str,
        *,
        client: Any | None = None,
        wait_s: int = 20,
        max_messages: int = 10,
        visibility_timeout_s: int | None = None,
    ) -> None:
        self.app = app
        self.queue_url = queue_url
        self.sqs = client or make_client("sqs")
        self.wait_s = wait_s
        self.max_messages = max_messages
        self.visibility_timeout_s = visibility_timeout_s
        self.stats = WorkerStats()
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def run(
        self,
        *,
        until_empty: bool = False,
        on_batch: Callable[[BatchResult], None] | None = None,
    ) -> WorkerStats:
        """Poll until stopped (or, with ``until_empty``, until a receive returns nothing)."""
        backoff = Backoff(first_s=1.0, max_s=30.0)
        while not self._stop.is_set():
            try:
                handled = self.poll_once(on_batch)
            except Exception as exc:  # SQS unreachable, throttled ...: back off, keep going
                self.stats.errors += 1
                delay = backoff.next_delay()
                log.warning("poll failed (%s); retrying in %.1fs", exc, delay)
                if self._stop.wait(delay):
                    break
                continue
            backoff.reset()
            if handled == 0 and until_empty:
                break
        return self.stats

    def poll_once(self, on_batch: Callable[[BatchResult], None] | None = None) -> int:
        request: dict[str, Any] = {
            "QueueUrl": self.queue_url,
            "MaxNumberOfMessages": self.max_messages,
            "WaitTimeSeconds": self.wait_s,
            "MessageSystemAttributeNames": ["ApproximateReceiveCount", "SentTimestamp"],
        }
        if self.visibility_timeout_s is not None:
            request["VisibilityTimeout"] = self.visibility_timeout_s
        messages = self.sqs.receive_message(**request).get("Messages", [])
        if not messages:
            return 0
        result = self.app.handle(parse_lambda_event({"Records": to_lambda_records(messages)}))
        self.stats.batches += 1
        self.stats.messages += len(messages)
        receipts = {m["MessageId"]: m["ReceiptHandle"] for m in messages}
        done = [i for i in result.succeeded_message_ids if i in receipts]
        self._delete(done, receipts)
        self.stats.left_for_retry += len(result.failed_message_ids)
        if on_batch is not None:
            on_batch(result)
        return len(messages)

    def _delete(self, ids: list[str], receipts: dict[str, str]) -> None:
        for start in range(0, len(ids), 10):
            chunk = ids[start : start + 10]
            response = self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(n), "ReceiptHandle": receipts[i]} for n, i in enumerate(chunk)],
            )
            failed = response.get("Failed", [])
            for failure in failed:
                log.warning("could not delete message: %s", failure)
            self.stats.deleted += len(chunk) - len(failed)
