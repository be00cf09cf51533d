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
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, outcome: Outcome) -> None:
        with self._lock:
            self.counts[outcome.action.value] += 1


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
        lanes: int = 1,
    ) -> None:
        self.pipeline = pipeline
        self.queue = queue
        self.store = store
        self.router = router
        self.batch_size = batch_size
        self.settle_s = settle_s
        self.lanes = max(1, lanes)
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
        self._in_lanes(lambda: self._lane(stats, progress, None, wait_for_retries))
        return stats

    def watch(self, stop: threading.Event, progress: Progress | None = None) -> RunStats:
        """Reconcile, then process new files as they are written until ``stop`` is set."""
        stats = RunStats()
        watcher = FolderWatcher(self.store, self.router, self._on_event, settle_s=self.settle_s)
        watcher.start()  # before reconciling, so nothing written in between is missed
        try:
            self.reconcile()
            self._in_lanes(lambda: self._lane(stats, progress, stop, True))
        finally:
            watcher.stop()
        return stats

    def _in_lanes(self, loop: Callable[[], None]) -> None:
        """Run ``loop`` in ``self.lanes`` threads: while one batch is in the model, the next
        one is read and decoded, so both cores stay busy."""
        if self.lanes == 1:
            loop()
            return
        errors: list[BaseException] = []

        def guarded() -> None:
            try:
                loop()
            except BaseException as exc:
                errors.append(exc)
                self._wake.set()

        threads = [threading.Thread(target=guarded, name=f"lane-{i}") for i in range(self.lanes)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]

    def _lane(
        self,
        stats: RunStats,
        progress: Progress | None,
        stop: threading.Event | None,
        wait_for_retries: bool,
    ) -> None:
        """Claim and process batches; without ``stop``, return once nothing is left."""
        while stop is None or not stop.is_set():
            jobs = self.queue.claim(self.batch_size)
            if jobs:
                self._run(jobs, stats, progress)
                continue
            wait = self.queue.next_available_in()
            if stop is None and (wait is None or not wait_for_retries):
                return
            self._wake.wait(0.5 if wait is None else min(wait, 0.5) + 0.005)
            self._wake.clear()

    def stop_waiting(self) -> None:
        self._wake.set()

    def _on_event(self, event: ObjectEvent) -> None:
        self.queue.enqueue([event])
        self._wake.set()

    def _run(self, jobs: list[Job], stats: RunStats, progress: Progress | None) -> None:
        outcomes = self.pipeline.process_batch([job.event for job in jobs])
        self.queue.ack_many(
            job for job, o in zip(jobs, outcomes, strict=True) if o.action is not Action.RETRY
        )
        for job, outcome in zip(jobs, outcomes, strict=True):
            if outcome.action is Action.RETRY:
                log.warning("will retry %s: %s", job.event.key, outcome.reason)
                if not self.queue.fail(job, outcome.reason):
                    continue
                with stats._lock:
                    stats.dead_lettered += 1
                outcome = self.pipeline.record_failure(
                    job.event, f"gave up after {job.attempts} attempts: {outcome.reason}"
                )
            if outcome.action is Action.SKIPPED:
                log.info("skipped %s: %s", job.event.key, outcome.reason)
            stats.add(outcome)
            if progress is not None:
                progress(outcome)
