"""The local runner: reconcile, watch, and drain the durable intake queue through the pipeline."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from eventlens.events.base import ObjectEvent
from eventlens.events.local import FolderWatcher, scan
from eventlens.intake import IntakeQueue, Job
from eventlens.pipeline import Action, Outcome, Pipeline
from eventlens.routing import Router
from eventlens.storage.local import LocalFolderStore

log = logging.getLogger("eventlens.runner")

Progress = Callable[[Outcome], None]


@dataclass(slots=True)
class RunStats:
    counts: Counter[str] = field(default_factory=Counter)
    dead_lettered: int = 0

    def add(self, outcome: Outcome) -> None:
        self.counts[outcome.action.value] += 1

    @property
    def processed(self) -> int:
        return sum(self.counts[a] for a in ("stored", "failed", "unchanged", "skipped"))


class LocalRunner:
    def __init__(
        self,
        pipeline: Pipeline,
        queue: IntakeQueue,
        store: LocalFolderStore,
        router: Router,
        *,
        batch_size: int = 16,
        settle_s: float = 1.0,
    ) -> None:
        self.pipeline = pipeline
        self.queue = queue
        self.store = store
        self.router = router
        self.batch_size = batch_size
        self.settle_s = settle_s
        self._wake = threading.Event()

    def reconcile(self) -> int:
        """Enqueue every file that has no record for its current version (missed events)."""
        self.queue.release_dead_owners()
        stale: list[ObjectEvent] = []
        for event in scan(self.store, self.router):
            route = self.router.route_for_key(event.key)
            if route is None or self.pipeline.media_for(route.environment, event.key) is None:
                continue  # the pipeline would skip it; don't requeue it on every start
            record = self.pipeline.results.get(route.environment, event.key)
            if record is None or record.etag != event.etag:
                stale.append(event)
            if len(stale) >= 1000:
                self.queue.enqueue(stale)
                stale.clear()
        self.queue.enqueue(stale)
        return self.queue.pending()

    def drain(self, progress: Progress | None = None, *, wait_for_retries: bool = True) -> RunStats:
        """Process until the queue is empty (waiting out retry back-offs if asked)."""
        stats = RunStats()
        while True:
            jobs = self.queue.claim(self.batch_size)
            if jobs:
                self._run(jobs, stats, progress)
                continue
            wait = self.queue.next_available_in()
            if wait is None or not wait_for_retries:
                return stats
            self._wake.wait(min(wait, 1.0) + 0.01)
            self._wake.clear()

    def watch(self, stop: threading.Event, progress: Progress | None = None) -> RunStats:
        """Reconcile, then process new files as they are written until ``stop`` is set."""
        stats = RunStats()
        watcher = FolderWatcher(self.store, self.router, self._on_event, settle_s=self.settle_s)
        watcher.start()  # before reconciling, so nothing written in between is missed
        try:
            self.reconcile()
            while not stop.is_set():
                jobs = self.queue.claim(self.batch_size)
                if jobs:
                    self._run(jobs, stats, progress)
                    continue
                wait = self.queue.next_available_in()
                self._wake.wait(0.5 if wait is None else min(wait, 0.5))
                self._wake.clear()
        finally:
            watcher.stop()
        return stats

    def stop_waiting(self) -> None:
        self._wake.set()

    def _on_event(self, event: ObjectEvent) -> None:
        self.queue.enqueue([event])
        self._wake.set()

    def _run(self, jobs: list[Job], stats: RunStats, progress: Progress | None) -> None:
        outcomes = self.pipeline.process_batch([job.event for job in jobs])
        for job, outcome in zip(jobs, outcomes, strict=True):
            if outcome.action is Action.RETRY:
                log.warning("will retry %s: %s", job.event.key, outcome.reason)
                if self.queue.fail(job, outcome.reason):
                    stats.dead_lettered += 1
                    outcome = self.pipeline.record_failure(
                        job.event, f"gave up after {job.attempts} attempts: {outcome.reason}"
                    )
                else:
                    continue
            else:
                self.queue.ack(job)
            if outcome.action is Action.SKIPPED:
                log.info("skipped %s: %s", job.event.key, outcome.reason)
            stats.add(outcome)
            if progress is not None:
                progress(outcome)
