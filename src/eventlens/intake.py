"""Durable intake: events are persisted in SQLite before they are acknowledged, claimed under a
lease, retried with backoff and dead-lettered after too many attempts.

One row per (bucket, key): a burst of events for the same file collapses into one job, and a
newer event for a key that is being processed makes the job run again after the current attempt.

Local events carry no sequencer of their own (an mtime can be set back: ``cp -p``, ``touch -d``,
``mv`` of an older file); the queue numbers them as they arrive, from a clock kept in the
database that only ever moves forward, so a later event for a key always orders after an
earlier one, across restarts and clock steps.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from eventlens.db import apply_once, connect
from eventlens.events.base import ObjectEvent, outranks_clock
from eventlens.events.codec import event_from_json, event_to_json
from eventlens.health import process_alive
from eventlens.retry import RetryPolicy

_SCHEMA = """
CREATE TABLE IF NOT EXISTS intake (
    bucket TEXT NOT NULL, key TEXT NOT NULL, event TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1, attempts INTEGER NOT NULL DEFAULT 0,
    enqueued_at REAL NOT NULL, available_at REAL NOT NULL,
    lease_owner TEXT, lease_until REAL, last_error TEXT,
    PRIMARY KEY (bucket, key)
);
CREATE INDEX IF NOT EXISTS intake_ready ON intake (available_at);
CREATE TABLE IF NOT EXISTS intake_clock (
    id INTEGER PRIMARY KEY CHECK (id = 1), last INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT, bucket TEXT NOT NULL, key TEXT NOT NULL,
    event TEXT NOT NULL, attempts INTEGER NOT NULL, error TEXT, failed_at REAL NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class Job:
    event: ObjectEvent
    version: int
    attempts: int  # including the current one


@dataclass(frozen=True, slots=True)
class DeadLetter:
    id: int
    event: ObjectEvent
    attempts: int
    error: str
    failed_at: float


def new_owner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class IntakeQueue:
    """Thread-safe: one connection, every operation under a lock, writes in one transaction."""

    def __init__(
        self,
        path: Path | str,
        *,
        lease_s: float = 300.0,
        retry: RetryPolicy | None = None,
        owner: str | None = None,
    ) -> None:
        self._conn = connect(path)
        self._conn.executescript(_SCHEMA)
        self._lock = threading.RLock()
        with self._transaction() as conn:
            apply_once(conn, "intake: pre-clock sequencers", lambda: _renumber_pre_clock(conn))
        self.lease_s = lease_s
        self.retry_policy = retry or RetryPolicy()
        self.owner = owner or new_owner_id()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _query(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def check_writable(self) -> None:
        """Raise sqlite3.Error now when the database takes no writes (a read-only file, a full
        disk); a rolled-back write of the queue's clock, so nothing changes."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.execute(
                    "INSERT INTO intake_clock (id, last) VALUES (1, 0) "
                    "ON CONFLICT (id) DO UPDATE SET last = last"
                )
            finally:
                self._conn.execute("ROLLBACK")

    def enqueue(self, events: Iterable[ObjectEvent]) -> int:
        batch = list(events)
        if batch:
            with self._transaction() as conn:
                _upsert(conn, batch)
        return len(batch)

    def claim(self, limit: int) -> list[Job]:
        now = time.time()
        with self._transaction() as conn:
            rows = conn.execute(
                """
                UPDATE intake SET lease_owner = ?, lease_until = ?, attempts = attempts + 1
                WHERE rowid IN (
                    SELECT rowid FROM intake
                    WHERE available_at <= ? AND (lease_until IS NULL OR lease_until < ?)
                    ORDER BY available_at LIMIT ?
                )
                RETURNING event, version, attempts
                """,
                (self.owner, now + self.lease_s, now, now, limit),
            ).fetchall()
        return [Job(event_from_json(e), v, a) for e, v, a in rows]

    def ack(self, job: Job) -> None:
        self.ack_many([job])

    def ack_many(self, jobs: Iterable[Job]) -> None:
        """Done with these versions; a newer version enqueued meanwhile stays, ready to run."""
        keys = [(j.event.bucket, j.event.key, j.version) for j in jobs]
        with self._transaction() as conn:
            conn.executemany(
                "DELETE FROM intake WHERE bucket = ? AND key = ? AND version = ?", keys
            )
            conn.executemany(
                "UPDATE intake SET lease_owner = NULL, lease_until = NULL "
                "WHERE bucket = ? AND key = ? AND lease_owner = ?",
                [(bucket, key, self.owner) for bucket, key, _ in keys],
            )

    def release(self, jobs: Iterable[Job]) -> None:
        """Hand claimed jobs back untried (the store failed, not them): claimable at once,
        and the attempt does not count."""
        with self._transaction() as conn:
            conn.executemany(
                "UPDATE intake SET lease_owner = NULL, lease_until = NULL, "
                "attempts = MAX(0, attempts - 1) WHERE bucket = ? AND key = ? AND lease_owner = ?",
                [(j.event.bucket, j.event.key, self.owner) for j in jobs],
            )

    def fail(self, job: Job, error: str) -> bool:
        """Schedule a retry with backoff. Returns True when the job was dead-lettered instead."""
        key = (job.event.bucket, job.event.key)
        now = time.time()
        with self._transaction() as conn:
            if self.retry_policy.exhausted(job.attempts):
                conn.execute(
                    "INSERT INTO dead_letters (bucket, key, event, attempts, error, failed_at) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (*key, event_to_json(job.event), job.attempts, error, now),
                )
                conn.execute(
                    "DELETE FROM intake WHERE bucket = ? AND key = ? AND version = ?",
                    (*key, job.version),
                )
                return True
            conn.execute(
                "UPDATE intake SET lease_owner = NULL, lease_until = NULL, available_at = ?, "
                "last_error = ? WHERE bucket = ? AND key = ? AND version = ?",
                (now + self.retry_policy.delay(job.attempts), error, *key, job.version),
            )
            return False

    def release_dead_owners(self) -> int:
        """Free leases held by processes on this host that no longer exist (e.g. kill -9)."""
        host = socket.gethostname()
        released = 0
        owners = self._query(
            "SELECT DISTINCT lease_owner FROM intake WHERE lease_owner IS NOT NULL"
        )
        for (owner,) in owners:
            owner_host, _, rest = str(owner).partition(":")
            pid_text = rest.partition(":")[0]
            if owner_host != host or not pid_text.isdigit() or process_alive(int(pid_text)):
                continue
            with self._transaction() as conn:
                cursor = conn.execute(
                    "UPDATE intake SET lease_owner = NULL, lease_until = NULL "
                    "WHERE lease_owner = ?",
                    (owner,),
                )
                released += cursor.rowcount
        return released

    def pending(self) -> int:
        return int(self._query("SELECT COUNT(*) FROM intake")[0][0])

    def next_available_in(self) -> float | None:
        """Seconds until some job not leased by a live worker becomes claimable."""
        row = self._query("SELECT MIN(MAX(available_at, COALESCE(lease_until, 0))) FROM intake")
        return None if row[0][0] is None else max(0.0, float(row[0][0]) - time.time())

    # -- dead letters ----------------------------------------------------------------------

    def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        rows = self._query(
            "SELECT id, event, attempts, error, failed_at FROM dead_letters "
            "ORDER BY id DESC LIMIT ?",
            (limit,),
        )
        return [DeadLetter(i, event_from_json(e), a, err or "", t) for i, e, a, err, t in rows]

    def dead_count(self) -> int:
        return int(self._query("SELECT COUNT(*) FROM dead_letters")[0][0])

    def retry_dead(self, ids: Iterable[int] | None = None) -> int:
        """Move dead letters (all, or the given ids) back into the intake queue, atomically."""
        with self._lock:
            selected = self._select_dead(ids)
            events = [event_from_json(e) for _, e in selected]
            with self._transaction() as conn:
                _upsert(conn, events)
                self._delete_dead(conn, [i for i, _ in selected])
        return len(events)

    def purge_dead(self, ids: Iterable[int] | None = None) -> int:
        with self._lock:
            selected = self._select_dead(ids)
            with self._transaction() as conn:
                self._delete_dead(conn, [i for i, _ in selected])
        return len(selected)

    def _select_dead(self, ids: Iterable[int] | None) -> list[tuple[int, str]]:
        rows = self._query("SELECT id, event FROM dead_letters")
        wanted = None if ids is None else set(ids)
        return [(int(i), str(e)) for i, e in rows if wanted is None or i in wanted]

    @staticmethod
    def _delete_dead(conn: sqlite3.Connection, ids: list[int]) -> None:
        conn.executemany("DELETE FROM dead_letters WHERE id = ?", [(i,) for i in ids])


def _upsert(conn: sqlite3.Connection, events: list[ObjectEvent]) -> None:
    """Queue each event; a newer event for a queued key replaces it and resets its attempts.
    Events without a sequencer get the next numbers of the queue's clock."""
    now = time.time()
    unsequenced = sum(1 for e in events if e.sequencer is None)
    if unsequenced:
        first = _advance_clock(conn, unsequenced)
        numbers = iter(range(first, first + unsequenced))
        events = [e if e.sequencer else replace(e, sequencer=f"{next(numbers):020d}")
                  for e in events]  # fmt: skip
    conn.executemany(
        """
        INSERT INTO intake (bucket, key, event, enqueued_at, available_at)
        VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (bucket, key) DO UPDATE SET
            event = excluded.event, version = intake.version + 1, attempts = 0,
            available_at = excluded.available_at, last_error = NULL
        """,
        [(e.bucket, e.key, event_to_json(e), now, now) for e in events],
    )


def _renumber_pre_clock(conn: sqlite3.Connection) -> None:
    """Events queued or dead-lettered before the database clock whose sequencer no new event
    outranks (a file dated 2100 or 1960): number them from the clock, in queue order."""
    now = time.time_ns()
    for table, id_column in (("intake", "rowid"), ("dead_letters", "id")):
        stale = [
            (row_id, event)
            for row_id, text in conn.execute(
                f"SELECT {id_column}, event FROM {table} ORDER BY {id_column}"
            )
            if outranks_clock((event := event_from_json(text)).sequencer, now)
        ]
        if not stale:
            continue
        first = _advance_clock(conn, len(stale))
        conn.executemany(
            f"UPDATE {table} SET event = ? WHERE {id_column} = ?",
            [
                (event_to_json(replace(event, sequencer=f"{first + i:020d}")), row_id)
                for i, (row_id, event) in enumerate(stale)
            ],
        )


def _advance_clock(conn: sqlite3.Connection, count: int) -> int:
    """Reserve ``count`` sequence numbers; returns the first. The numbers are nanoseconds of
    wall-clock time where that is ahead, so they also order after sequencers written by
    versions that used the file's mtime; a clock set back never makes them go back."""
    row = conn.execute("SELECT last FROM intake_clock WHERE id = 1").fetchone()
    first = max(int(row[0]) + 1 if row else 0, time.time_ns())
    conn.execute(
        "INSERT INTO intake_clock (id, last) VALUES (1, ?) "
        "ON CONFLICT (id) DO UPDATE SET last = excluded.last",
        (first + count - 1,),
    )
    return first
