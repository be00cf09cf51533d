"""Local folder events: a backfill scan and a filesystem watcher (watchdog / inotify)."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator

from watchdog.events import (
    DirDeletedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver

from eventlens.events.base import EventKind, ObjectEvent
from eventlens.routing import Router
from eventlens.storage.base import ObjectUnavailable
from eventlens.storage.local import (
    METADATA_SUFFIX,
    LocalFolderStore,
    hidden_name_reason,
    not_regular_reason,
)

log = logging.getLogger("eventlens.events.local")


def event_for_key(store: LocalFolderStore, key: str, source: str) -> ObjectEvent | None:
    try:
        info = store.stat(key)
    except ObjectUnavailable as exc:
        log.info("skipped %s: %s", key, exc)
        return None
    return ObjectEvent(
        bucket=store.bucket, key=key, kind=EventKind.CREATED, size=info.size, etag=info.etag,
        sequencer=info.sequencer, source=source, metadata=info.metadata,
    )  # fmt: skip


def scan(store: LocalFolderStore, router: Router) -> Iterator[ObjectEvent]:
    """One event per file below the configured prefixes (the backfill / reconcile source)."""
    for route in router.routes:
        for info in store.list(route.prefix):
            yield ObjectEvent(
                bucket=store.bucket, key=info.key, size=info.size, etag=info.etag,
                sequencer=info.sequencer, source="scan",
            )  # fmt: skip


def removal_event(store: LocalFolderStore, key: str, source: str) -> ObjectEvent:
    return ObjectEvent(bucket=store.bucket, key=key, kind=EventKind.REMOVED, source=source)


class FolderWatcher(FileSystemEventHandler):
    """Emits an event once a file is completely written.

    - close-after-write (inotify on Linux): the writer is done, emit at once;
    - a rename into the folder, or a file that appears complete without any write activity
      (moved in from an unwatched folder shows up as a bare "created"): emit after
      ``quiet_s`` if its size and mtime did not change;
    - files being written where no close event arrives (other platforms, mmap writers): emit
      once size and mtime have been stable for ``settle_s``;
    - a file deleted or renamed away: a removal event; a directory deleted or renamed away:
      ``on_folder_gone`` (the runner reconciles, which finds the records of its files).

    Anything that is not a regular file (FIFO, socket, device) is skipped with a logged reason.
    ``emit`` must not raise (the runner's does not): watchdog's thread would die of it.
    """

    def __init__(
        self,
        store: LocalFolderStore,
        router: Router,
        emit: Callable[[ObjectEvent], None],
        *,
        settle_s: float = 1.0,
        quiet_s: float = 0.03,
        on_folder_gone: Callable[[], None] | None = None,
    ) -> None:
        super().__init__()
        self.store = store
        self.router = router
        self.emit = emit
        self.on_folder_gone = on_folder_gone
        self.settle_s = settle_s
        self.quiet_s = quiet_s
        # path -> (being written?, when last seen active, size/mtime then)
        self._pending: dict[str, tuple[bool, float, _Signature | None]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._observer: BaseObserver | None = None
        self._settler: threading.Thread | None = None

    def start(self) -> None:
        observer = Observer()
        for route in self.router.routes:
            folder = self.store.root / route.prefix
            folder.mkdir(parents=True, exist_ok=True)
            observer.schedule(self, str(folder), recursive=True)
        observer.start()
        self._observer = observer
        self._settler = threading.Thread(target=self._settle_loop, name="settle", daemon=True)
        self._settler.start()

    def stop(self) -> None:
        self._stop.set()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)
        if self._settler is not None:
            self._settler.join(timeout=5)

    def is_alive(self) -> bool:
        threads = [self._observer, self._settler]
        return all(t is not None and t.is_alive() for t in threads)

    def on_any_event(self, event: FileSystemEvent) -> None:
        path = _text(event.src_path)
        if event.is_directory:
            if isinstance(event, DirDeletedEvent | DirMovedEvent) and self.on_folder_gone:
                self.on_folder_gone()
            return
        if isinstance(event, FileClosedEvent):
            self._forget(path)
            self._emit_path(path)
        elif isinstance(event, FileMovedEvent):
            self._forget(path)
            self._emit_removal(path)
            self._emit_path(_text(event.dest_path))
        elif isinstance(event, FileDeletedEvent):
            self._forget(path)
            self._emit_removal(path)
        elif isinstance(event, FileCreatedEvent | FileModifiedEvent):
            signature = _signature(path)
            if signature is not None and signature[2] is not None:
                self._skip(path, signature[2])  # a FIFO or a device: never waited for
                return
            with self._lock:
                writing = isinstance(event, FileModifiedEvent)
                self._pending[path] = (writing, time.monotonic(), signature)

    def _forget(self, path: str) -> None:
        with self._lock:
            self._pending.pop(path, None)

    def _routed_key(self, path: str, *, log_hidden: bool = True) -> str | None:
        """The key of a file under a route, or None (hidden names logged if asked)."""
        name = os.path.basename(path)
        if name.endswith(METADATA_SUFFIX):
            return None
        try:
            key = self.store.key_for(path)
        except ValueError:
            return None
        if self.router.route_for_key(key) is None:
            return None
        if reason := hidden_name_reason(name) or self.store.shadowed_reason(path):
            if log_hidden:
                log.info("skipped %s: %s", key, reason)
            return None
        return key

    def _skip(self, path: str, reason: str) -> None:
        if (key := self._routed_key(path)) is not None:
            log.info("skipped %s: %s", key, reason)

    def _emit_path(self, path: str) -> None:
        key = self._routed_key(path)
        if key is None:
            return
        event = event_for_key(self.store, key, source="watch")
        if event is not None:
            self.emit(event)

    def _emit_removal(self, path: str) -> None:
        # quietly: a hidden temporary file renamed into place (rsync, editors) is no news
        key = self._routed_key(path, log_hidden=False)
        if key is not None:
            self.emit(removal_event(self.store, key, source="watch"))

    def _settle_loop(self) -> None:
        while not self._stop.wait(min(self.quiet_s, self.settle_s / 4)):
            now = time.monotonic()
            ready: list[str] = []
            with self._lock:
                for path, (writing, since, signature) in list(self._pending.items()):
                    if now - since < (self.settle_s if writing else self.quiet_s):
                        continue
                    current = _signature(path)
                    if current is None or current[2] is not None:
                        del self._pending[path]  # gone, or no longer a regular file
                    elif current == signature and current[0] > 0:
                        del self._pending[path]
                        ready.append(path)
                    else:  # still changing (or still empty): look again later
                        self._pending[path] = (True, now, current)
            for path in ready:
                self._emit_path(path)


_Signature = tuple[int, int, str | None]


def _signature(path: str) -> _Signature | None:
    """(size, mtime, why it is not a regular file or None), or None when it is gone."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns, not_regular_reason(st.st_mode)


def _text(path: str | bytes) -> str:
    return os.fsdecode(path)
