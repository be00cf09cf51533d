"""How a runner is doing, told truthfully to its log and to whoever monitors it.

A runner keeps one ``Health``: every background part (the watcher, each processing lane, the
reconcile scan, the notifier) reports faults and recoveries to it. A heartbeat thread writes a
small status file next to the database every ``HEARTBEAT_S``; ``eventlens serve`` reads those
files for ``/healthz`` and ``/metrics``. A status file that stops being rewritten (the process
hangs, or the disk is full) goes stale, and a stale one counts as down: silence is never
taken for health.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import socket
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eventlens.errors import Permanent

log = logging.getLogger("eventlens.health")

HEARTBEAT_S = 2.0
EVENTS_LOST = "events lost"  # the notice of a watcher whose kernel queue overflowed
STALE_AFTER_S = 5 * HEARTBEAT_S
#: Status files are padded with spaces (JSON whitespace) to this size, so that on a full disk
#: the heartbeat can still rewrite its own file in place, into blocks it already owns, and tell
#: why the runner is failing instead of going silent.
STATUS_FILE_BYTES = 16384

_TRANSIENT_ERRNOS = frozenset(
    {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO, errno.EACCES, errno.EPERM, errno.EAGAIN}
)


class Unrecoverable(Permanent, RuntimeError):
    """A fault that waiting will not cure: the process exits non-zero (a supervisor restarts it)."""


def is_transient(exc: BaseException) -> bool:
    """Faults of the machine rather than of the code: a full disk, a read-only or locked
    database, an I/O error. They are retried with backoff for as long as they last."""
    if isinstance(exc, sqlite3.OperationalError):
        return True  # full, read-only, locked, I/O error, cannot open
    if isinstance(exc, sqlite3.DatabaseError):
        return False  # a corrupt file ("database disk image is malformed")
    return isinstance(exc, OSError) and exc.errno in _TRANSIENT_ERRNOS


def status_dir_for(db_path: Path) -> Path:
    """Where the runners using ``db_path`` publish their status."""
    return db_path.with_name(db_path.name + ".runners")


class Health:
    """Thread-safe record of faults, recoveries and progress of one runner process."""

    def __init__(
        self,
        status_dir: Path | None = None,
        *,
        give_up_after_s: float = 0.0,
        owner: str | None = None,
    ) -> None:
        """``give_up_after_s``: a fault lasting longer makes ``check`` raise Unrecoverable
        (0: retry for as long as it lasts)."""
        self.status_dir = status_dir
        self.give_up_after_s = give_up_after_s
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}"
        self.started = time.time()
        self.last_progress: float | None = None
        self._faults: dict[str, tuple[float, str]] = {}  # part -> (since, message)
        # part -> (since, message): working, but not as well (never a reason to give up)
        self._degraded: dict[str, tuple[float, str]] = {}
        self._notices: dict[str, dict[str, Any]] = {}  # what -> count, last, message
        self._fatal: BaseException | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None

    # -- what the parts report ---------------------------------------------------------------

    def fault(self, part: str, exc: BaseException) -> None:
        message = f"{type(exc).__name__}: {exc}"
        with self._lock:
            first = part not in self._faults
            since = self._faults[part][0] if not first else time.time()
            self._faults[part] = (since, message)
        if first:
            log.warning("%s failing, will retry until it works: %s", part, message)

    def degraded(self, part: str, message: str) -> None:
        """``part`` works, though less well (e.g. scanning instead of watching): the state is
        degraded until ``recovered(part)``, but ``check`` never gives up because of it. The
        caller logs why."""
        with self._lock:
            since = self._degraded.get(part, (time.time(), ""))[0]
            self._degraded[part] = (since, message)

    def notice(self, what: str, message: str) -> None:
        """Something that happened and was dealt with (events lost, then caught up): counted
        and shown, without changing the state."""
        with self._lock:
            seen = self._notices.get(what, {"count": 0})
            self._notices[what] = {"count": seen["count"] + 1, "last": time.time(),
                                   "message": message}  # fmt: skip

    def recovered(self, part: str) -> bool:
        """Clear ``part``'s fault (or degradation); True when it had one."""
        with self._lock:
            fault = self._faults.pop(part, None)
            fault = self._degraded.pop(part, None) or fault
        if fault is not None:
            log.warning("%s recovered after %.1f s", part, time.time() - fault[0])
        return fault is not None

    def progress(self) -> None:
        self.last_progress = time.time()

    def fatal(self, part: str, exc: BaseException) -> None:
        """A part died of a fault that waiting cannot cure; ``check`` raises it."""
        log.error("%s failed and cannot recover: %s: %s", part, type(exc).__name__, exc)
        with self._lock:
            if self._fatal is None:
                self._fatal = Unrecoverable(f"{part}: {type(exc).__name__}: {exc}")

    def check(self) -> None:
        """Raise Unrecoverable when a part died, or a fault outlasted ``give_up_after_s``."""
        with self._lock:
            if self._fatal is not None:
                raise self._fatal
            if not self.give_up_after_s:
                return
            for part, (since, message) in self._faults.items():
                if time.time() - since > self.give_up_after_s:
                    raise Unrecoverable(
                        f"{part} failing for over {self.give_up_after_s:g} s: {message}"
                    )

    @property
    def healthy(self) -> bool:
        with self._lock:
            return not self._faults and not self._degraded and self._fatal is None

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            faults = {part: {"since": s, "error": m}
                      for part, (s, m) in (self._degraded | self._faults).items()}  # fmt: skip
            state = "failed" if self._fatal else "degraded" if faults else "ok"
            notices = {what: dict(seen) for what, seen in self._notices.items()}
        return {
            "owner": self.owner, "host": socket.gethostname(), "pid": os.getpid(),
            "state": state, "faults": faults, "notices": notices, "started": self.started,
            "last_progress": self.last_progress, "heartbeat": time.time(),
        }  # fmt: skip

    # -- publishing ---------------------------------------------------------------------------

    def start_heartbeat(self) -> None:
        if self.status_dir is None:
            return
        self._heartbeat = threading.Thread(target=self._beat, name="heartbeat", daemon=True)
        self._heartbeat.start()

    def stop_heartbeat(self) -> None:
        self._stop.set()
        if self._heartbeat is not None:
            self._heartbeat.join(timeout=5)
        if self.status_dir is not None:
            self._path().unlink(missing_ok=True)

    def _path(self) -> Path:
        assert self.status_dir is not None
        return self.status_dir / f"{self.owner.replace(':', '_')}.json"

    def _beat(self) -> None:
        failing = False
        while True:
            try:
                self.write_status()
                failing = False
            except OSError as exc:  # not even in place: the file goes stale, which readers see
                if not failing:
                    log.warning("cannot write the status file: %s", exc)
                failing = True
            if self._stop.wait(HEARTBEAT_S):
                return

    def write_status(self) -> None:
        """Replace the status file atomically; when the disk has no room for a new file, rewrite
        the old one in place (a reader may then catch a torn file once, and skips it)."""
        path = self._path()
        payload = _padded(self.snapshot())
        tmp = path.with_suffix(".tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(payload)
            os.replace(tmp, path)
        except OSError as exc:
            if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise
            tmp.unlink(missing_ok=True)  # a partial copy would hold on to blocks
            fd = os.open(path, os.O_WRONLY)  # no O_TRUNC: keep the blocks it has
            try:
                os.pwrite(fd, payload, 0)
            finally:
                os.close(fd)


def _padded(snapshot: dict[str, Any]) -> bytes:
    """The snapshot as JSON padded to ``STATUS_FILE_BYTES``; fault messages are shortened when
    the whole would not fit."""
    data = json.dumps(snapshot).encode("utf-8")
    faults: dict[str, dict[str, Any]] = snapshot["faults"]
    for limit in (200, 0):
        if len(data) <= STATUS_FILE_BYTES:
            break
        short = {part: {**f, "error": str(f["error"])[:limit]} for part, f in faults.items()}
        data = json.dumps({**snapshot, "faults": short}).encode("utf-8")
    if len(data) > STATUS_FILE_BYTES:  # hundreds of failing parts: say how many
        many = {"parts": {"since": time.time(), "error": f"{len(faults)} parts failing"}}
        data = json.dumps({**snapshot, "faults": many}).encode("utf-8")
    return data.ljust(STATUS_FILE_BYTES, b" ")


@dataclass(frozen=True, slots=True)
class RunnerStatus:
    """A runner as its status file tells, judged by a reader."""

    owner: str
    state: str  # ok, degraded, failed, or stale (no heartbeat for STALE_AFTER_S)
    faults: dict[str, Any]
    last_progress: float | None
    heartbeat: float
    notices: dict[str, Any]

    @property
    def up(self) -> bool:
        return self.state == "ok"


def read_runner_statuses(status_dir: Path) -> list[RunnerStatus]:
    """Live runners (processes on other hosts are trusted to be alive while they beat)."""
    found: list[RunnerStatus] = []
    try:
        paths = sorted(status_dir.glob("*.json"))
    except OSError:
        return found
    host, now = socket.gethostname(), time.time()
    for path in paths:
        try:
            data = _read_status(path)
            pid, heartbeat = int(data["pid"]), float(data["heartbeat"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if data.get("host") == host and not process_alive(pid):
            continue  # killed without removing its file
        state = "stale" if now - heartbeat > STALE_AFTER_S else str(data.get("state"))
        found.append(
            RunnerStatus(
                str(data.get("owner")),
                state,
                dict(data.get("faults") or {}),
                data.get("last_progress"),
                heartbeat,
                dict(data.get("notices") or {}),
            )
        )
    return found


def _read_status(path: Path) -> dict[str, Any]:
    """A status file's JSON, read again once if it was caught half rewritten in place."""
    try:
        data: dict[str, Any] = json.loads(path.read_bytes())
    except ValueError:
        time.sleep(0.05)
        data = json.loads(path.read_bytes())
    return data


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
