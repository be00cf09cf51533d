"""Failure notifications for local mode: a JSON POST to a webhook, sent off the pipeline's thread.

``failure()`` only puts the payload on a bounded queue (dropping it, with a log line, when the
queue is full), so a slow or dead endpoint never holds up analysis. A daemon thread posts each
payload, retrying connection errors, timeouts, 429 and 5xx answers with exponential backoff.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import threading
import time
import urllib.error
import urllib.request
from typing import Any

from eventlens import __version__
from eventlens.hooks.notify import Notifier
from eventlens.results.record import Record
from eventlens.retry import backoff_delay, gave_up

log = logging.getLogger("eventlens.notify.webhook")

_STOP = object()


def failure_payload(record: Record) -> dict[str, Any]:
    return {
        "event": "analysis_failed",
        "filename": record.filename,
        "environment": record.environment,
        "error": record.error,
        "timestamp": record.timestamp,
        "sha256": record.sha256,
        "s3_bucket": record.s3_bucket,
        "branch": record.branch,
    }


class WebhookNotifier(Notifier):
    def __init__(
        self,
        url: str,
        retries: int = 3,
        timeout: float = 5.0,
        *,
        backoff_s: float = 0.5,
        max_pending: int = 100,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"webhook URL must be http(s): {url!r}")
        self.url = url
        self.retries = retries
        self.timeout = timeout
        self.backoff_s = backoff_s
        self.sent = 0
        self.dropped = 0
        self._queue: queue.Queue[object] = queue.Queue(maxsize=max_pending)
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._work, name="eventlens-webhook", daemon=True)
        self._thread.start()

    def failure(self, record: Record) -> None:
        try:
            if self._closed.is_set():
                raise queue.Full
            self._queue.put_nowait(failure_payload(record))
        except queue.Full:
            self.dropped += 1
            log.warning("webhook queue full or closed; dropped notice for %s", record.filename)
        except Exception:  # never let a notifier break the pipeline
            log.exception("webhook notifier failed to queue a notice")

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued notice was sent or given up; False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True

    def close(self, timeout: float = 10.0) -> None:
        """Send what is queued (waiting at most ``timeout`` seconds), then stop the thread."""
        if self._closed.is_set():
            return
        self._closed.set()
        self.flush(timeout)
        with contextlib.suppress(queue.Full):
            self._queue.put(_STOP, timeout=0.1)
        self._thread.join(timeout=1.0)

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is _STOP:
                    return
                assert isinstance(item, dict)
                self._deliver(item)
            except Exception:
                log.exception("webhook delivery crashed")
            finally:
                self._queue.task_done()

    def _deliver(self, payload: dict[str, Any]) -> bool:
        body = json.dumps(payload).encode()
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(backoff_delay(attempt, self.backoff_s, 30.0))
            request = urllib.request.Request(
                self.url,
                data=body,
                method="POST",
                headers={
                    "Content-Type": "application/json",
                    "User-Agent": f"eventlens/{__version__}",
                },
            )
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    response.read()
                self.sent += 1
                return True
            except urllib.error.HTTPError as exc:
                if exc.code != 429 and exc.code < 500:
                    log.warning("webhook refused notice (HTTP %s); not retrying", exc.code)
                    return False
                log.info("webhook answered HTTP %s (attempt %d)", exc.code, attempt + 1)
            except (OSError, TimeoutError) as exc:  # URLError, refused, reset, timeout
                log.info("webhook unreachable: %s (attempt %d)", exc, attempt + 1)
        log.warning("webhook notice for %s: %s", payload.get("filename"),
                    gave_up(self.retries + 1, "no answer it accepted"))  # fmt: skip
        return False
