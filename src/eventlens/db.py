"""SQLite connections for every part that keeps a table: the results, the intake queue and dead
letters, the duplicates' hash index. One file, WAL, a busy timeout, autocommit."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from eventlens.retry import retry_call


def connect(
    path: Path | str, *, timeout_s: float = 30.0, read_only: bool = False
) -> sqlite3.Connection:
    """A connection tuned for many short writers: WAL, a busy timeout, autocommit mode.
    ``read_only`` opens an existing file for reading and never creates or changes anything."""
    if read_only:
        conn = sqlite3.connect(
            f"file:{quote(str(Path(path).resolve()))}?mode=ro", uri=True, timeout=timeout_s,
            isolation_level=None, check_same_thread=False,
        )  # fmt: skip
        conn.execute(f"PRAGMA busy_timeout={int(timeout_s * 1000)}")
        return conn
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(
        str(path), timeout=timeout_s, isolation_level=None, check_same_thread=False
    )
    _enable_wal(conn, timeout_s)
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(f"PRAGMA busy_timeout={int(timeout_s * 1000)}")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def _enable_wal(conn: sqlite3.Connection, timeout_s: float) -> None:
    """Switch to WAL, retrying: two processes creating the database at once race for the
    exclusive lock this needs, and SQLite answers "database is locked" without waiting."""
    retry_call(
        lambda: conn.execute("PRAGMA journal_mode=WAL"),
        retry_if=lambda exc: isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc),
        deadline_s=timeout_s, first_s=0.005, max_s=0.2,
    )  # fmt: skip


def apply_once(conn: sqlite3.Connection, name: str, migrate: Callable[[], object]) -> bool:
    """Run ``migrate`` unless the database records ``name`` as done, then record it; call it
    inside the caller's write transaction, so that two processes opening the file at once
    migrate it once. Returns whether it ran."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)"
    )
    if conn.execute("SELECT 1 FROM migrations WHERE name = ?", (name,)).fetchone():
        return False
    migrate()
    conn.execute("INSERT INTO migrations (name, applied_at) VALUES (?, ?)", (name, time.time()))
    return True


@contextmanager
def immediate_transaction(
    conn: sqlite3.Connection, lock: threading.Lock | threading.RLock
) -> Iterator[None]:
    """One writer's transaction on an autocommit connection: taken under ``lock`` (the
    connection is shared by threads), BEGIN IMMEDIATE, rolled back on any exception."""
    with lock:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")


class Checkpointer:
    """Copies the write-ahead log into the database on its own connection, called now and then
    by a thread that is not in a hurry (the runner's main loop).

    SQLite otherwise checkpoints inside whichever commit takes the log past 1,000 pages, and
    that commit then waits for two fsyncs (up to ~70 ms measured on a busy disk); the watcher writes
    ~5 pages an image, so about one image in 200 waited, when the commit was its intake or its
    claim. Checkpointed every ``every_s``, the log stays far short of that, and commits only
    append to it. PASSIVE never waits for, nor blocks, readers and writers; SQLite's own
    checkpoints stay on as the fallback, and what a commit guarantees does not change (WAL,
    synchronous=NORMAL)."""

    def __init__(self, path: Path | str, *, every_s: float = 2.0) -> None:
        """``every_s``: at most one checkpoint in that time (a busy runner writes ~5 pages an
        image, a few hundred in that time at most)."""
        self.path = path
        self.every_s = every_s
        self._conn: sqlite3.Connection | None = None
        self._last: float | None = None  # monotonic

    def __call__(self) -> int:
        """Checkpoint what the log holds, unless one ran in the last ``every_s``; returns how
        many pages the log held (the next commit starts it afresh once all are copied), 0
        when it did not run. Raises what the database raises (a full disk: the log's pages
        cannot be copied, while commits may still fit in the log's space): the runner reports
        it as a fault of its own, so a full disk shows before the commits fail."""
        now = time.monotonic()
        if self._last is not None and now - self._last < self.every_s:
            return 0
        self._last = now
        if self._conn is None:
            self._conn = connect(self.path)
        row = self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return max(0, int(row[1])) if row else 0

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
