"""The AWS runtime: S3 storage + DynamoDB results + an analyzer + SNS, around the pipeline.

Shared by the Lambda handler and the SQS worker. It turns a parsed batch into pipeline calls
and decides, per SQS message, whether it succeeded, must be retried (``batchItemFailures``),
or has used up its attempts (an error record and an SNS message instead). Events that come back
from Lambda's dead-letter topic are past their retries too: they get the error record and the
SNS message without being analysed again.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eventlens.analyzers.base import Analyzer
from eventlens.errors import Transient
from eventlens.events.s3 import ParsedBatch, SourcedEvent
from eventlens.hooks.base import Hook
from eventlens.outcome import Action, Delivered, Outcome
from eventlens.pipeline import Pipeline
from eventlens.results.base import ResultStore
from eventlens.retry import RetryPolicy, gave_up
from eventlens.settings import Settings
from eventlens.storage.base import ObjectStore

log = logging.getLogger("eventlens.aws")


class RetryLater(Transient, RuntimeError):
    """Raised for direct (asynchronous) invocations so Lambda retries the event."""


@dataclass(slots=True)
class BatchResult:
    outcomes: list[Delivered] = field(default_factory=list)
    failed_message_ids: list[str] = field(default_factory=list)
    succeeded_message_ids: list[str] = field(default_factory=list)

    @property
    def retry(self) -> list[Outcome]:
        return [r.outcome for r in self.outcomes if r.outcome.action is Action.RETRY]

    def lambda_response(self) -> dict[str, Any]:
        return {"batchItemFailures": [{"itemIdentifier": i} for i in self.failed_message_ids]}


StorageFactory = Callable[[str], ObjectStore]


def use_packaged_model_cache() -> None:
    """On Lambda only /tmp is writable: use the ONNX model the package was built with, or
    convert it into /tmp on first use (the bundled analyzer reads EVENTLENS_CACHE_DIR)."""
    if os.environ.get("EVENTLENS_CACHE_DIR") or not os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        return
    packaged = Path(__file__).resolve().parent.parent / "data" / "model-cache"
    writable = Path("/tmp/eventlens-cache")  # Lambda: the only writable place
    os.environ["EVENTLENS_CACHE_DIR"] = str(packaged if packaged.is_dir() else writable)


def start_loading(analyzers: Sequence[Analyzer]) -> threading.Thread | None:
    """Open the models of ``analyzers`` in a background thread, for a cold start: ONNX Runtime
    lets go of the GIL while it builds a session or runs one (the person detector's check), so
    with two vCPUs (3538 MB) this overlaps making the AWS clients and fetching the first
    object; with one it overlaps only their waits on the network. The first analysis waits for
    what is not open yet (each model opens once, ``analyzers.model.Lazy``); a model that fails
    to open here is logged, and opened again, raising, on first use. Returns the thread (None
    when there is nothing to open)."""
    from eventlens.analyzers.model import ModelAnalyzer

    loading = [a for a in analyzers if isinstance(a, ModelAnalyzer)]
    if not loading:
        return None

    def load() -> None:
        for analyzer in loading:
            try:
                analyzer.load()
            except Exception as error:  # raised again on first use, where it is handled
                log.warning("opening %s in the background failed: %s", analyzer.name, error)

    thread = threading.Thread(target=load, name="eventlens-load-models", daemon=True)
    thread.start()
    return thread


class AwsApp:
    def __init__(
        self,
        settings: Settings,
        results: ResultStore,
        analyzers: Sequence[Analyzer],
        hooks: Hook | None = None,
        storage_factory: StorageFactory | None = None,
    ) -> None:
        """``analyzers``: this environment's, in order; the first one supplies the labels.
        ``hooks``: failure notices, logs and metrics (``eventlens.wiring.aws_hooks``)."""
        self.settings = settings
        self.results = results
        self.analyzers = list(analyzers)
        self.hooks = hooks or Hook()
        self.retry = RetryPolicy(max_attempts=settings.max_attempts)
        self.router = settings.router
        self._storage_factory = storage_factory or self._s3_store
        self._s3: Any = None
        self._pipelines: dict[str, Pipeline] = {}
        #: the models opening in the background (``start_loading``), if any
        self.loading: threading.Thread | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> AwsApp:
        from eventlens import wiring

        use_packaged_model_cache()
        analyzers = wiring.build_analyzers(settings)[settings.environment]
        # the models open while the AWS clients are made and the first object is fetched
        loading = start_loading(analyzers)
        app = cls(settings, wiring.open_results(settings), analyzers, wiring.aws_hooks(settings))
        app.loading = loading
        return app

    def prepare(self, *, wait_for_models: bool) -> None:
        """Do now what the first event would otherwise wait for: make the results store's and
        S3's clients and, with ``wait_for_models``, wait for the models opening in the
        background (else the first event's reads overlap their opening). For a Lambda init
        phase (``handler.initialise``)."""
        self.results.connect()
        if self._storage_factory == self._s3_store:
            self._s3_client()
        if wait_for_models and self.loading is not None:
            self.loading.join()

    def _s3_client(self) -> Any:
        """One S3 client for every bucket's store."""
        if self._s3 is None:
            from eventlens.aws_clients import client

            self._s3 = client("s3")
        return self._s3

    def _s3_store(self, bucket: str) -> ObjectStore:
        from eventlens.storage.s3 import S3ObjectStore

        return S3ObjectStore(bucket, self._s3_client())

    def pipeline_for(self, bucket: str) -> Pipeline:
        """One pipeline per source bucket; the analyzers and the results store are shared."""
        if bucket not in self._pipelines:
            self._pipelines[bucket] = Pipeline(
                self._storage_factory(bucket),
                self.results,
                {self.settings.environment: self.analyzers},
                router=self.router,
                settings=self.settings,
                hooks=self.hooks,
            )
        return self._pipelines[bucket]

    def handle(self, batch: ParsedBatch) -> BatchResult:
        result = BatchResult()
        by_bucket: dict[str, list[SourcedEvent]] = {}
        for item in batch.events:
            by_bucket.setdefault(item.event.bucket, []).append(item)
        failed: set[str] = set(batch.unparseable)
        log_unparseable(batch)
        for bucket, items in by_bucket.items():
            pipeline = self.pipeline_for(bucket)
            fresh = [item for item in items if item.dead_letter_error is None]
            dead = [item for item in items if item.dead_letter_error is not None]
            for item, outcome, ms in self._process(pipeline, fresh) + self._give_up(pipeline, dead):
                if outcome.action is Action.RETRY and item.message_id is not None:
                    failed.add(item.message_id)
                result.outcomes.append(Delivered(outcome, ms, correlation_id(item)))
        result.failed_message_ids = [m for m in batch.message_ids if m in failed]
        result.succeeded_message_ids = [m for m in batch.message_ids if m not in failed]
        self.hooks.after_batch(result.outcomes, self.settings.environment)
        return result

    def _process(
        self, pipeline: Pipeline, items: list[SourcedEvent]
    ) -> list[tuple[SourcedEvent, Outcome, float]]:
        """Analyse; an SQS message out of attempts gets an error record instead of a retry."""
        if not items:
            return []
        started = time.perf_counter()
        outcomes = pipeline.process_batch([item.event for item in items])
        share_ms = (time.perf_counter() - started) * 1000 / len(items)
        done = []
        for item, outcome in zip(items, outcomes, strict=True):
            if outcome.action is Action.RETRY and self._exhausted(item):
                outcome = pipeline.record_failure(
                    item.event, gave_up(item.receive_count, outcome.reason)
                )
            ms = outcome.record.duration_ms if outcome.record is not None else share_ms
            if outcome.action in (Action.UNCHANGED, Action.SKIPPED):
                ms = share_ms
            done.append((item, outcome, ms))
        return done

    def _give_up(
        self, pipeline: Pipeline, items: list[SourcedEvent]
    ) -> list[tuple[SourcedEvent, Outcome, float]]:
        """Events back from Lambda's dead-letter topic: its retries are used up, so record the
        failure (and notify) without analysing them again."""
        done = []
        for item in items:
            started = time.perf_counter()
            outcome = pipeline.record_failure(
                item.event, gave_up("Lambda's retries", str(item.dead_letter_error))
            )
            done.append((item, outcome, (time.perf_counter() - started) * 1000))
        return done

    def _exhausted(self, item: SourcedEvent) -> bool:
        return item.message_id is not None and self.retry.exhausted(item.receive_count)


def correlation_id(item: SourcedEvent) -> str:
    """What ties an outcome's log line to its delivery: the SQS message, else the S3 event."""
    return item.message_id or item.event.sequencer or item.event.key


def log_unparseable(batch: ParsedBatch) -> None:
    for message_id, reason in batch.unparseable.items():
        if batch.is_sqs:
            log.error("unparseable SQS message %s left for the DLQ: %s", message_id, reason)
        else:
            log.warning("ignored %s message %s: %s", batch.source, message_id, reason)


def describe(outcomes: Sequence[Outcome]) -> str:
    return "; ".join(f"{o.event.key}: {o.reason}" for o in outcomes)
