"""One budget of decoded-image memory per process, shared by every decode (the runner's
lanes and the dashboard's thumbnails): a decode waits until its estimated bytes fit, so eight
big images arriving at once are decoded a few at a time instead of all together."""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from eventlens import settings

TRIM_AFTER_BYTES = 32 * 1024 * 1024  # decodes this big hand freed memory back when done


class DecodeBudget:
    def __init__(self, limit_bytes: int) -> None:
        self.limit = max(1, limit_bytes)
        self._used = 0
        self._changed = threading.Condition()

    @contextmanager
    def reserve(self, estimate: int) -> Iterator[None]:
        """Hold ``estimate`` bytes of the budget (all of it, at most: a decode larger than the
        whole budget runs alone rather than never)."""
        wanted = max(1, min(estimate, self.limit))
        with self._changed:
            self._changed.wait_for(lambda: self._used + wanted <= self.limit)
            self._used += wanted
        try:
            yield
        finally:
            with self._changed:
                self._used -= wanted
                idle = self._used == 0
                self._changed.notify_all()
            if idle and wanted >= TRIM_AFTER_BYTES:
                _return_free_memory()

    @property
    def in_use(self) -> int:
        with self._changed:
            return self._used


def _return_free_memory() -> None:
    """Give freed heap back to the system (glibc keeps it in per-thread arenas otherwise, so
    a burst of big decodes would leave the process large for good)."""
    if _libc is not None:
        _libc.malloc_trim(0)


def _load_libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
    except (OSError, AttributeError):  # not glibc (macOS, musl): nothing to trim
        return None
    return libc


_libc = _load_libc()


BUDGET = DecodeBudget(int(settings.read("decode_memory_mb")) * 1024 * 1024)
