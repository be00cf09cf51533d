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


def worker_count() -> int:
    """``EVENTLENS_WORKERS``, else the CPU cores."""
    configured = settings.read("workers")
    return int(configured) if configured else max(1, os.cpu_count() or 1)


def pool() -> ThreadPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(worker_count(), thread_name_prefix="eventlens-cpu")
        return _pool


def map_in_pool(func: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """``list(map(func, items))`` on the shared pool; runs inline for a single item."""
    materialised = list(items)
    if len(materialised) <= 1 or worker_count() == 1:
        return [func(item) for item in materialised]
    return list(pool().map(func, materialised))
