"""One process-wide thread pool for CPU work that releases the GIL (JPEG decoding, resizing,
hashing, file reads), sized to the cores. Shared so that analyzers and the pipeline do not
oversubscribe the CPU with pools of their own."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from eventlens import settings

T = TypeVar("T")
R = TypeVar("R")

_pool: ThreadPoolExecutor | None = None
_lock = threading.Lock()
THREAD_PREFIX = "eventlens-cpu"
#: ``beside`` calls running on the pool now, at most one per spare core (made with the pool)
_spare = threading.Semaphore(0)


def worker_count() -> int:
    """``EVENTLENS_WORKERS``, else the CPU cores."""
    configured = settings.read("workers")
    return int(configured) if configured else max(1, os.cpu_count() or 1)


def pool() -> ThreadPoolExecutor:
    global _pool, _spare
    with _lock:
        if _pool is None:
            workers = worker_count()
            _pool = ThreadPoolExecutor(workers, thread_name_prefix=THREAD_PREFIX)
            _spare = threading.Semaphore(max(0, workers - 1))
        return _pool


def map_in_pool(func: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """``list(map(func, items))`` on the shared pool; runs inline for a single item."""
    materialised = list(items)
    if len(materialised) <= 1 or worker_count() == 1:
        return [func(item) for item in materialised]
    return list(pool().map(func, materialised))


def beside(func: Callable[[], R], *, later: bool = True) -> Callable[[], R]:
    """Start ``func`` on the shared pool while the caller goes on with other work; returns how
    to wait for its result (which raises its exception). Where that would gain nothing (one
    worker, a call from a pool thread, every spare core already taken by another ``beside``)
    ``func`` runs inline: when the returned callable is called, or now when not ``later``
    (work that a pool thread does for a batch, in parallel with the batch's other items). Not
    yet started when its result is asked for (the pool busy with another lane's batch), it is
    taken back and run by the caller.

    For one image's work on an otherwise idle machine (the watcher at a file a second), whose
    other cores would wait: a batch of many keeps the cores busy without it."""
    if worker_count() <= 1 or threading.current_thread().name.startswith(THREAD_PREFIX):
        return func if later else _done(func())
    executor = pool()
    spare = _spare
    if not spare.acquire(blocking=False):
        return func if later else _done(func())

    def run() -> R:
        try:
            return func()
        finally:
            spare.release()

    future = executor.submit(run)

    def result() -> R:
        if future.cancel():  # still queued behind a batch's work on the pool: do it here
            spare.release()
            return func()
        return future.result()

    return result


def _done(value: R) -> Callable[[], R]:
    return lambda: value
