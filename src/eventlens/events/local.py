"""Local folder events: a backfill scan and a filesystem watcher (watchdog / inotify)."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from watchdog.events import (
    DirDeletedEvent,
    DirMovedEvent,
    EventsLostEvent,
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
from eventlens.events.inotify_limits import (
    LIMITS,
    WATCHDOG_INOTIFY_LOG,
    Unwatched,
    UnwatchedFolderFilter,
    count_folders,
    limit_value,
)
from eventlens.routing import Router
from eventlens.storage.base import ObjectUnavailable
from eventlens.storage.local import (
    METADATA_SUFFIX,
    LocalFolderStore,
    broken_link_reason,
    hidden_name_reason,
    not_regular_reason,
)

log = logging.getLogger("eventlens.events.local")

#: A file modified and not yet closed (where the kernel reports closes) is waited for until its
#: writer closes it, or until it is unchanged for this long (a writer that never closes).
OPEN_WRITER_WAIT_S = 60.0


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


@dataclass(frozen=True, slots=True)
class Scanned:
    event: ObjectEvent
    changed_ns: int | None  # when the file last changed (its ctime)


def scan(store: LocalFolderStore, router: Router) -> Iterator[Scanned]:
    """One event per file below the configured prefixes (the backfill / reconcile source)."""
    for route in router.routes:
        for info in store.list(route.prefix):
            event = ObjectEvent(
                bucket=store.bucket, key=info.key, size=info.size, etag=info.etag,
                sequencer=info.sequencer, source="scan",
            )  # fmt: skip
            yield Scanned(event, info.changed_ns)


def removal_event(store: LocalFolderStore, key: str, source: str) -> ObjectEvent:
    return ObjectEvent(bucket=store.bucket, key=key, kind=EventKind.REMOVED, source=source)


class FolderWatcher(FileSystemEventHandler):
    """Emits an event once a file is completely written.

    - close-after-write (inotify on Linux): the writer is done, emit at once;
    - a rename into the folder: emit at once; a file that appears complete without any write
      activity (moved in from an unwatched folder shows up as a bare "created"): emit after
      ``quiet_s`` (``settle_s`` where closes are reported: it may be a writer's whose write
      events are still queued) if its size and mtime did not change;
    - files being written where no close event arrives (other platforms, mmap writers): emit
      once size and mtime have been stable for ``settle_s``;
    - a file deleted or renamed away: a removal event; a directory deleted or renamed away:
      ``on_folder_gone`` (the runner reconciles, which finds the records of its files);
    - events lost (the kernel's queue overflowed): ``on_overflow`` (the runner reconciles);
    - a folder that cannot be watched (a kernel limit on watches reached, at start or for a
      new folder): ``on_unwatched`` once, and the runner scans periodically instead.

    Where the kernel reports closes (inotify), a file modified but not closed is waited for
    until it is closed, or unchanged for ``OPEN_WRITER_WAIT_S``: a writer that pauses longer
    than ``settle_s`` does not get a half-written file analysed.

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
        on_overflow: Callable[[str], None] | None = None,
        on_unwatched: Callable[[Unwatched], None] | None = None,
    ) -> None:
        super().__init__()
        self.store = store
        self.router = router
        self.emit = emit
        self.on_folder_gone = on_folder_gone
        self.on_overflow = on_overflow
        self.on_unwatched = on_unwatched
        self.unwatched: Unwatched | None = None
        self._closes_reported = False
        self._log_filter = UnwatchedFolderFilter(self._unwatched_folder)
        self.settle_s = settle_s
        self.quiet_s = quiet_s
        # path -> (being written?, when last seen active, size/mtime then)
        self._pending: dict[str, tuple[bool, float, _Signature | None]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._observer: BaseObserver | None = None
        self._settler: threading.Thread | None = None

    def start(self) -> None:
        """Watch every route's folder; when a kernel limit forbids it, watch none of them and
        report ``on_unwatched`` (the runner then scans periodically)."""
        folders = [self.store.root / route.prefix for route in self.router.routes]
        observer = Observer()
        for folder in folders:
            folder.mkdir(parents=True, exist_ok=True)
        logging.getLogger(WATCHDOG_INOTIFY_LOG).addFilter(self._log_filter)
        try:
            for folder in folders:
                observer.schedule(self, str(folder), recursive=True)
            observer.start()
        except OSError as exc:
            if exc.errno not in LIMITS:
                raise
            _stop_quietly(observer)
            self._report_unwatched(str(self.store.root), LIMITS[exc.errno])
        else:
            self._observer = observer
            self._closes_reported = sys.platform.startswith("linux")
        self._settler = threading.Thread(target=self._settle_loop, name="settle", daemon=True)
        self._settler.start()

    def stop(self) -> None:
        self._stop.set()
        logging.getLogger(WATCHDOG_INOTIFY_LOG).removeFilter(self._log_filter)
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)
        if self._settler is not None:
            self._settler.join(timeout=5)

    def is_alive(self) -> bool:
        """Whether its threads run (no observer at all after a limit was hit at start)."""
        observing = self._observer is not None or self.unwatched is not None
        observer_alive = self._observer is None or self._observer.is_alive()
        settler_alive = self._settler is not None and self._settler.is_alive()
        return observing and observer_alive and settler_alive

    def _unwatched_folder(self, folder: str, exc: OSError) -> None:
        self._report_unwatched(folder, LIMITS.get(exc.errno or 0, "fs.inotify.max_user_watches"))

    def _report_unwatched(self, folder: str, setting: str) -> None:
        if self.unwatched is not None:
            return  # reported once; the periodic scans cover every folder
        folders = [self.store.root / route.prefix for route in self.router.routes]
        self.unwatched = Unwatched(folder, setting, limit_value(setting), count_folders(folders))
        if self.on_unwatched is not None:
            self.on_unwatched(self.unwatched)

    def on_any_event(self, event: FileSystemEvent) -> None:
        path = _text(event.src_path)
        if isinstance(event, EventsLostEvent):
            if self.on_overflow is not None:
                self.on_overflow(path)
            return
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
            if signature is None and (reason := broken_link_reason(path)):
                self._skip(path, reason)
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
                    if now - since < self._wait_for(writing=writing):
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

    def _wait_for(self, *, writing: bool) -> float:
        """How long a pending file must stay unchanged before it is taken as complete."""
        if not writing:
            # Where closes are reported, a file "created" and not seen written may be a
            # writer's: its creation handled late (a busy machine) after its first bytes, its
            # writes' events still queued behind; its close ends the wait at once anyway, so
            # only a file moved in from an unwatched folder waits ``settle_s`` (seen under
            # load: a half-written copy taken as complete after ``quiet_s``)
            return self.settle_s if self._closes_reported else self.quiet_s
        return max(self.settle_s, OPEN_WRITER_WAIT_S) if self._closes_reported else self.settle_s


def _stop_quietly(observer: BaseObserver) -> None:
    """Stop an observer whose start failed (some of its emitters may have started)."""
    try:
        observer.stop()
    except Exception:  # already half torn down by the failed start
        log.debug("stopping a failed observer", exc_info=True)


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
