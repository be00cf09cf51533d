"""The local runner: reconcile, watch, and drain the durable intake queue through the pipeline.

Every background thread is supervised. A fault of the machine (a full disk, a read-only or
locked database) is logged, reported to ``Health`` and retried with backoff while it lasts;
claimed work is handed back, and once the fault is gone the runner reconciles the folder with
the store, so files written meanwhile are not lost. A fault that waiting cannot cure (a bug, a
corrupt database, or a fault outlasting ``give_up_after_s``) stops the run with an
``Unrecoverable`` error, so the process exits non-zero and a supervisor can restart it.

The watcher can go blind without failing: when the kernel drops events (its inotify queue
overflowed) the runner reconciles at once; when folders cannot be watched (the inotify watch
limit) it reconciles every ``fallback_scan_s`` and reports itself degraded.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from eventlens.events.base import ObjectEvent
from eventlens.events.inotify_limits import Unwatched
from eventlens.events.local import FolderWatcher, removal_event, scan
from eventlens.health import EVENTS_LOST, Health, is_transient
from eventlens.intake import IntakeQueue, Job
from eventlens.outcome import Action, Outcome
from eventlens.pipeline import Pipeline
from eventlens.reanalysis import is_stale, newest_first
from eventlens.retry import Backoff, gave_up
from eventlens.routing import Router
from eventlens.storage.local import LocalFolderStore

log = logging.getLogger("eventlens.runner")

Progress = Callable[[Outcome], None]

RECONCILE_BATCH = 1000
CATCH_UP = "catch-up"  # the health part degraded from lost events until a reconcile is done
CHECKPOINT = "database checkpoint"  # the health part of the WAL checkpoints (db.Checkpointer)


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
        watch_batch_size: int = 1,
        settle_s: float = 1.0,
        lanes: int = 1,
        health: Health | None = None,
        reanalyse_on_change: bool = True,
        fallback_scan_s: float = 10.0,
        checkpoint: Callable[[], object] | None = None,
    ) -> None:
        """``batch_size``: events a lane claims at a time while draining (``drain``, ``run
        --once``: throughput); ``watch_batch_size``: while watching, where a record is wanted
        soon after its file closed. A batch's records are written together once its last image
        is done, so a burst of files waits for whole batches; one image's forward passes cost
        no more CPU alone than in a batch of 16 (the model threads are one per lane), so the
        watcher's default is one image per claim (bench/RESULTS.md, 2026-12-07 evening).

        ``checkpoint``: called by ``watch``'s main loop every 0.25 s (``db.Checkpointer``),
        so that the lanes' and the watcher's commits need not checkpoint the database."""
        self.pipeline = pipeline
        self.reanalyse_on_change = reanalyse_on_change
        #: how many records the last reconcile queued because the model or analyzers changed
        self.stale_queued = 0
        self.queue = queue
        self.store = store
        self.router = router
        self.batch_size = batch_size
        self.watch_batch_size = max(1, watch_batch_size)
        self.settle_s = settle_s
        self.lanes = max(1, lanes)
        self.health = health or Health()
        self.fallback_scan_s = fallback_scan_s
        self.checkpoint = checkpoint
        self._wake = threading.Event()
        self._reconcile_wanted = threading.Event()
        self._scan_every: float | None = None  # set while some folders cannot be watched
        self._deferred = 0  # files the last reconcile left for the next (still changing)
        self._events_lost_at: float | None = None  # monotonic

    def reconcile(self, *, defer_changing: bool = False) -> int:
        """Enqueue every file that has no record for its current version (missed events), then
        (``reanalyse_on_change``) every record made by other model versions or another analyzer
        set, newest record first, and a removal for every record whose file is gone (deleted or
        renamed while not watched).

        ``defer_changing``: leave files changed in the last ``settle_s`` (maybe still being
        written) for a reconcile ``settle_s`` later, instead of analysing half a file."""
        self.queue.release_dead_owners()
        self._deferred = 0
        batch: list[ObjectEvent] = []
        for event in self._missed_events(defer_changing):
            batch.append(event)
            if len(batch) >= RECONCILE_BATCH:
                self.queue.enqueue(batch)
                batch.clear()
        self.queue.enqueue(batch)
        self._wake.set()
        return self.queue.pending()

    def _missed_events(self, defer_changing: bool) -> Iterator[ObjectEvent]:
        results = self.pipeline.results
        stale: list[tuple[str, ObjectEvent]] = []
        changing_since = time.time_ns() - int(self.settle_s * 1e9)
        for scanned in scan(self.store, self.router):
            event = scanned.event
            route = self.router.route_for_key(event.key)
            if route is None or self.pipeline.media_for(route.environment, event.key) is None:
                continue  # the pipeline would skip it; don't requeue it on every start
            record = results.get(route.environment, event.key)
            if record is None or record.etag != event.etag or record.deleted_at is not None:
                changed = scanned.changed_ns
                if defer_changing and changed is not None and changed > changing_since:
                    self._deferred += 1  # ctime, which no one can set back
                    continue
                yield event
            elif self.reanalyse_on_change and is_stale(
                record, self.pipeline.model_version(route.environment)
            ):
                stale.append((record.timestamp, event))
        self.stale_queued = len(stale)
        if stale:
            log.info("re-analysing %d records: the model or the analyzers changed", len(stale))
        yield from newest_first(stale)
        for route in self.router.routes:
            for key in results.live_keys(route.environment, prefix=route.prefix):
                if not self.store.exists(key):
                    yield removal_event(self.store, key, source="scan")

    def request_reconcile(self) -> None:
        self._reconcile_wanted.set()

    def drain(
        self,
        progress: Progress | None = None,
        *,
        wait_for_retries: bool = True,
        stop: threading.Event | None = None,
    ) -> RunStats:
        """Process until the queue is empty (waiting out retry back-offs if asked), or until
        ``stop`` is set. Raises Unrecoverable when processing cannot go on."""
        stats = RunStats()
        stop = stop or threading.Event()
        lanes = self._start_lanes(stats, progress, stop, until_empty=True,
                                  wait_for_retries=wait_for_retries)  # fmt: skip
        for lane in lanes:
            lane.join()
        self.health.check()
        return stats

    def watch(self, stop: threading.Event, progress: Progress | None = None) -> RunStats:
        """Reconcile, then process new files as they are written until ``stop`` is set.
        Raises Unrecoverable when processing cannot go on."""
        stats = RunStats()
        self._reconcile_wanted.set()
        lanes = self._start_lanes(stats, progress, stop, until_empty=False)
        watcher: FolderWatcher | None = None
        backoff = Backoff()
        next_scan: float | None = None  # when to reconcile again by itself (monotonic)
        try:
            while not stop.is_set():
                if watcher is None or not watcher.is_alive():
                    if watcher is not None:
                        log.warning("the folder watcher stopped; restarting it")
                        watcher.stop()
                    # before reconciling, so nothing written in between is missed
                    watcher = self._new_watcher()
                    watcher.start()
                    self._reconcile_wanted.set()
                due = next_scan is not None and time.monotonic() >= next_scan
                if due:
                    self._reconcile_wanted.set()
                if self._reconcile_wanted.is_set():
                    if self._supervised_reconcile(stop):
                        backoff.reset()
                        next_scan = self._next_scan(follow_up=not due)
                    else:
                        stop.wait(backoff.next_delay())
                self.health.check()
                self._checkpoint()
                stop.wait(0.25)
        finally:
            stop.set()
            self._wake.set()
            for lane in lanes:
                lane.join()
            if watcher is not None:
                watcher.stop()
        self.health.check()
        return stats

    def _next_scan(self, *, follow_up: bool) -> float | None:
        """When to reconcile again unasked: every ``fallback_scan_s`` while folders cannot be
        watched, else never; and once ``settle_s`` later when files were left changing (any
        change after that one is the watcher's to see)."""
        waits = [self.settle_s] if self._deferred and follow_up else []
        if self._scan_every is not None:
            waits.append(self._scan_every)
        return time.monotonic() + min(waits) if waits else None

    def _supervised_reconcile(self, stop: threading.Event) -> bool:
        """One reconcile; a fault is reported (and retried later), never raised."""
        self._reconcile_wanted.clear()
        started = time.monotonic()
        try:
            self.reconcile(defer_changing=True)
        except Exception as exc:
            self._reconcile_wanted.set()
            self._report("reconcile", exc, stop)
            return False
        self.health.recovered("reconcile")
        self.health.recovered("watcher")  # the events it could not queue are queued now
        lost_at = self._events_lost_at
        if lost_at is not None and lost_at < started:
            self.health.recovered(CATCH_UP)  # the files whose events were lost are queued
        return True

    def _checkpoint(self) -> None:
        if self.checkpoint is None:
            return
        try:
            self.checkpoint()
        except Exception as exc:  # a fault like a failing commit's: retried, given up on late
            self.health.fault(CHECKPOINT, exc)
        else:
            self.health.recovered(CHECKPOINT)

    def _report(self, part: str, exc: BaseException, stop: threading.Event) -> None:
        if is_transient(exc):
            self.health.fault(part, exc)
        else:
            log.exception("%s failed", part)
            self.health.fatal(part, exc)
            stop.set()
            self._wake.set()

    def _new_watcher(self) -> FolderWatcher:
        return FolderWatcher(
            self.store, self.router, self._on_event, settle_s=self.settle_s,
            on_folder_gone=self.request_reconcile, on_overflow=self._on_events_lost,
            on_unwatched=self._on_unwatched,
        )  # fmt: skip

    def _on_events_lost(self, folder: str) -> None:
        """The kernel dropped events (its queue overflowed): reconcile at once; shown in the
        health as a notice, and as degraded until the reconcile has caught up."""
        message = f"filesystem events lost below {folder} (the inotify queue overflowed)"
        log.warning("%s; reconciling", message)
        self._events_lost_at = time.monotonic()
        self.health.notice(EVENTS_LOST, message)
        self.health.degraded(CATCH_UP, f"{message}; reconciling")
        self.request_reconcile()

    def _on_unwatched(self, unwatched: Unwatched) -> None:
        """Some folders cannot be watched: scan every ``fallback_scan_s`` instead, degraded
        until the runner is restarted (after the limit was raised)."""
        every = f"scanning every {self.fallback_scan_s:g} s instead"
        log.warning("%s; %s", unwatched.describe(), every)
        self.health.degraded("watching", f"{unwatched.describe()}; {every}")
        self._scan_every = self.fallback_scan_s
        self.request_reconcile()

    def _start_lanes(
        self,
        stats: RunStats,
        progress: Progress | None,
        stop: threading.Event,
        *,
        until_empty: bool,
        wait_for_retries: bool = True,
    ) -> list[threading.Thread]:
        """``self.lanes`` threads: while one batch is in the model, the next one is read and
        decoded, so both cores stay busy."""
        threads = [
            threading.Thread(
                target=self._lane,
                args=(f"lane-{i}", stats, progress, stop, until_empty, wait_for_retries),
                name=f"lane-{i}",
            )
            for i in range(self.lanes)
        ]
        for thread in threads:
            thread.start()
        return threads

    def _lane(
        self,
        name: str,
        stats: RunStats,
        progress: Progress | None,
        stop: threading.Event,
        until_empty: bool,
        wait_for_retries: bool,
    ) -> None:
        """Claim and process batches until ``stop`` (or, ``until_empty``, nothing is left).
        A storage fault hands the claimed jobs back once the database takes writes again."""
        backoff = Backoff()
        unsettled: list[Job] = []
        claim = self.batch_size if until_empty else self.watch_batch_size
        while not stop.is_set():
            try:
                if unsettled:
                    self.queue.release(unsettled)
                    unsettled = []
                jobs = self.queue.claim(claim)
                if jobs:
                    unsettled = jobs
                    self._run(jobs, stats, progress)
                    unsettled = []
                elif not self._idle(until_empty, wait_for_retries):
                    return
            except Exception as exc:
                self._report(name, exc, stop)
                try:
                    self.health.check()
                except Exception:
                    stop.set()
                    return
                stop.wait(backoff.next_delay())
                continue
            if self.health.recovered(name):
                self.request_reconcile()  # events may have been lost while it failed
            backoff.reset()

    def _idle(self, until_empty: bool, wait_for_retries: bool) -> bool:
        """Wait for work; False when the lane should end (drained)."""
        wait = self.queue.next_available_in()
        if until_empty and (wait is None or not wait_for_retries):
            return False
        self._wake.wait(0.5 if wait is None else min(wait, 0.5) + 0.005)
        self._wake.clear()
        return True

    def stop_waiting(self) -> None:
        self._wake.set()

    def _on_event(self, event: ObjectEvent) -> None:
        """Called on watchdog's thread: must not raise. An event that cannot be queued is
        recovered by the reconcile that follows the fault."""
        try:
            self.queue.enqueue([event])
        except Exception as exc:
            self.health.fault("watcher", exc)
            self.request_reconcile()
        else:
            self.health.recovered("watcher")
        self._wake.set()

    def _run(self, jobs: list[Job], stats: RunStats, progress: Progress | None) -> None:
        outcomes = self.pipeline.process_batch([job.event for job in jobs])
        for outcome in outcomes:
            # the database failed, not these files: retry them all once it works again
            if outcome.action is Action.RETRY and isinstance(outcome.error, sqlite3.Error):
                raise outcome.error
        self.queue.ack_many(
            job for job, o in zip(jobs, outcomes, strict=True) if o.action is not Action.RETRY
        )
        self.health.progress()
        for job, outcome in zip(jobs, outcomes, strict=True):
            if outcome.action is Action.RETRY:
                log.warning("will retry %s: %s", job.event.key, outcome.reason)
                if not self.queue.fail(job, outcome.reason):
                    continue
                with stats._lock:
                    stats.dead_lettered += 1
                outcome = self.pipeline.record_failure(
                    job.event, gave_up(job.attempts, outcome.reason)
                )
            if outcome.action is Action.SKIPPED:
                log.info("skipped %s: %s", job.event.key, outcome.reason)
            stats.add(outcome)
            if progress is not None:
                progress(outcome)
