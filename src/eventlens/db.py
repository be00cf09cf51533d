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
