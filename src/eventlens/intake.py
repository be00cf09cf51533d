"""Durable intake: events are persisted in SQLite before they are acknowledged, claimed under a
lease, retried with backoff and dead-lettered after too many attempts.

One row per (bucket, key): a burst of events for the same file collapses into one job, and a
newer event for a key that is being processed makes the job run again after the current attempt.
"""

from __future__ import annotations

import os
import random
import socket
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from eventlens.events.base import ObjectEvent
from eventlens.events.codec import event_from_json, event_to_json
from eventlens.results.sqlite import connect

_SCHEMA = """
CREATE TABLE IF NOT EXISTS intake (
    bucket TEXT NOT NULL, key TEXT NOT NULL, event TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1, attempts INTEGER NOT NULL DEFAULT 0,
    enqueued_at REAL NOT NULL, available_at REAL NOT NULL,
    lease_owner TEXT, lease_until REAL, last_error TEXT,
    PRIMARY KEY (bucket, key)
);
CREATE INDEX IF NOT EXISTS intake_ready ON intake (available_at);
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


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay_s: float = 0.5
    max_delay_s: float = 60.0

    def delay(self, attempts: int) -> float:
        capped = min(self.max_delay_s, self.base_delay_s * 2 ** max(0, attempts - 1))
        return float(capped * random.uniform(0.5, 1.0))  # jitter spreads retries of a burst


def new_owner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class IntakeQueue:
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
        self.lease_s = lease_s
        self.retry_policy = retry or RetryPolicy()
        self.owner = owner or new_owner_id()

    def close(self) -> None:
        self._conn.close()

    def enqueue(self, events: Iterable[ObjectEvent]) -> int:
        now = time.time()
        rows = [(e.bucket, e.key, event_to_json(e), now, now) for e in events]
        if not rows:
            return 0
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            self._conn.executemany(
                """
                INSERT INTO intake (bucket, key, event, enqueued_at, available_at)
                VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (bucket, key) DO UPDATE SET
                    event = excluded.event, version = intake.version + 1, attempts = 0,
                    available_at = excluded.available_at, last_error = NULL
                """,
                rows,
            )
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        return len(rows)

    def claim(self, limit: int) -> list[Job]:
        now = time.time()
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            rows = self._conn.execute(
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
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        return [Job(event_from_json(e), v, a) for e, v, a in rows]

    def ack(self, job: Job) -> None:
        """Done with this version; a newer version enqueued meanwhile stays, ready to run."""
        key = (job.event.bucket, job.event.key)
        self._conn.execute(
            "DELETE FROM intake WHERE bucket = ? AND key = ? AND version = ?", (*key, job.version)
        )
        self._conn.execute(
            "UPDATE intake SET lease_owner = NULL, lease_until = NULL "
            "WHERE bucket = ? AND key = ? AND lease_owner = ?",
            (*key, self.owner),
        )

    def fail(self, job: Job, error: str) -> bool:
        """Schedule a retry with backoff. Returns True when the job was dead-lettered instead."""
        key = (job.event.bucket, job.event.key)
        now = time.time()
        if job.attempts >= self.retry_policy.max_attempts:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.execute(
                    "INSERT INTO dead_letters (bucket, key, event, attempts, error, failed_at) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (*key, event_to_json(job.event), job.attempts, error, now),
                )
                self._conn.execute(
                    "DELETE FROM intake WHERE bucket = ? AND key = ? AND version = ?",
                    (*key, job.version),
                )
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            return True
        self._conn.execute(
            "UPDATE intake SET lease_owner = NULL, lease_until = NULL, available_at = ?, "
            "last_error = ? WHERE bucket = ? AND key = ? AND version = ?",
            (now + self.retry_policy.delay(job.attempts), error, *key, job.version),
        )
        return False

    def release_dead_owners(self) -> int:
        """Free leases held by processes on this host that no longer exist (e.g. kill -9)."""
        host = socket.gethostname()
        released = 0
        owners = self._conn.execute(
            "SELECT DISTINCT lease_owner FROM intake WHERE lease_owner IS NOT NULL"
        ).fetchall()
        for (owner,) in owners:
            owner_host, _, rest = str(owner).partition(":")
            pid_text = rest.partition(":")[0]
            if owner_host != host or not pid_text.isdigit() or _alive(int(pid_text)):
                continue
            cursor = self._conn.execute(
                "UPDATE intake SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ?",
                (owner,),
            )
            released += cursor.rowcount
        return released

    def pending(self) -> int:
        return int(self._conn.execute("SELECT COUNT(*) FROM intake").fetchone()[0])

    def next_available_in(self) -> float | None:
        """Seconds until some job not leased by a live worker becomes claimable."""
        row = self._conn.execute(
            "SELECT MIN(MAX(available_at, COALESCE(lease_until, 0))) FROM intake"
        ).fetchone()
        return None if row[0] is None else max(0.0, float(row[0]) - time.time())

    # -- dead letters ----------------------------------------------------------------------

    def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        rows = self._conn.execute(
            "SELECT id, event, attempts, error, failed_at FROM dead_letters "
            "ORDER BY id DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [DeadLetter(i, event_from_json(e), a, err or "", t) for i, e, a, err, t in rows]

    def dead_count(self) -> int:
        return int(self._conn.execute("SELECT COUNT(*) FROM dead_letters").fetchone()[0])

    def retry_dead(self, ids: Iterable[int] | None = None) -> int:
        """Move dead letters (all, or the given ids) back into the intake queue."""
        selected = self._select_dead(ids)
        events = [event_from_json(e) for _, e in selected]
        self.enqueue(events)
        self._delete_dead([i for i, _ in selected])
        return len(events)

    def purge_dead(self, ids: Iterable[int] | None = None) -> int:
        selected = self._select_dead(ids)
        self._delete_dead([i for i, _ in selected])
        return len(selected)

    def _select_dead(self, ids: Iterable[int] | None) -> list[tuple[int, str]]:
        rows = self._conn.execute("SELECT id, event FROM dead_letters").fetchall()
        wanted = None if ids is None else set(ids)
        return [(int(i), str(e)) for i, e in rows if wanted is None or i in wanted]

    def _delete_dead(self, ids: list[int]) -> None:
        self._conn.executemany("DELETE FROM dead_letters WHERE id = ?", [(i,) for i in ids])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
