"""SQLite results store: one file, WAL, one table per environment plus a label index."""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from eventlens.events.base import sequencer_newer_or_equal
from eventlens.results.base import Query, ResultStore, table_for
from eventlens.results.finding_terms import ANY, finding_terms
from eventlens.results.record import Record, Status
from eventlens.results.stats import (
    LATENCY_BOUNDS_MS,
    Granularity,
    Stats,
    ThroughputBucket,
    resolve_granularity,
)

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")

_SCALAR_COLUMNS = (
    "filename", "timestamp", "branch", "environment", "label_count", "analysis_method",
    "s3_bucket", "sha256", "size", "width", "height", "model_version", "duration_ms",
    "status", "error", "etag", "sequencer", "expires_at", "deleted_at",
)  # fmt: skip
#: columns added after the first release: (name, type), added to older files when missing
_ADDED_COLUMNS = (("deleted_at", "TEXT"),)
_JSON_COLUMNS = ("labels", "metadata", "findings")


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
    deadline = time.monotonic() + timeout_s
    delay = 0.005
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.2)


class SQLiteResultStore(ResultStore):
    cheap_aggregates = True

    def __init__(
        self, path: Path | str, tables: Mapping[str, str], *, read_only: bool = False
    ) -> None:
        """``tables`` maps environment → table name (e.g. beta → beta_results).
        ``read_only``: an existing file, opened for reading; tables it lacks read as empty."""
        for table in tables.values():
            if not _IDENTIFIER.match(table):
                raise ValueError(f"invalid table name {table!r}")
        self.path = path
        self.tables = dict(tables)
        self._conn = connect(path, read_only=read_only)
        self._lock = threading.RLock()
        with self._lock:
            for table in self.tables.values():
                if not read_only:
                    self._create(table)
                elif not self._exists(table):
                    self._create(table, temporary=True)  # reads as empty, nothing written
                elif not self._has_added_columns(table):
                    raise sqlite3.OperationalError(
                        f"{path} was written by an older eventlens: run `eventlens run --once` "
                        "once to upgrade it"
                    )

    def _exists(self, table: str) -> bool:
        row = self._conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
        ).fetchone()
        return row is not None

    def _has_added_columns(self, table: str) -> bool:
        present = {row[1] for row in self._conn.execute(f'PRAGMA table_info("{table}")')}
        return all(name in present for name, _ in _ADDED_COLUMNS)

    def _create(self, t: str, *, temporary: bool = False) -> None:
        had_findings_index = self._exists(f"{t}_findings")
        temp = "TEMP" if temporary else ""
        self._conn.executescript(
            f"""
            CREATE {temp} TABLE IF NOT EXISTS "{t}" (
                filename TEXT PRIMARY KEY,
                timestamp TEXT NOT NULL,
                branch TEXT, environment TEXT NOT NULL, label_count INTEGER NOT NULL,
                analysis_method TEXT, s3_bucket TEXT, sha256 TEXT, size INTEGER,
                width INTEGER, height INTEGER, model_version TEXT, duration_ms REAL,
                status TEXT NOT NULL, error TEXT, etag TEXT, sequencer TEXT,
                expires_at INTEGER,
                labels TEXT NOT NULL, metadata TEXT NOT NULL, findings TEXT NOT NULL,
                deleted_at TEXT
            );
            CREATE INDEX IF NOT EXISTS "{t}_by_time" ON "{t}" (timestamp);
            CREATE INDEX IF NOT EXISTS "{t}_by_status" ON "{t}" (status, timestamp);
            CREATE {temp} TABLE IF NOT EXISTS "{t}_labels" (
                filename TEXT NOT NULL REFERENCES "{t}"(filename) ON DELETE CASCADE,
                name TEXT NOT NULL COLLATE NOCASE,
                confidence REAL NOT NULL,
                timestamp TEXT NOT NULL,
                PRIMARY KEY (filename, name)
            ) WITHOUT ROWID;
            CREATE INDEX IF NOT EXISTS "{t}_labels_by_name"
                ON "{t}_labels" (name, timestamp DESC);
            CREATE {temp} TABLE IF NOT EXISTS "{t}_findings" (
                filename TEXT NOT NULL REFERENCES "{t}"(filename) ON DELETE CASCADE,
                kind TEXT NOT NULL,
                value TEXT NOT NULL COLLATE NOCASE,
                confidence REAL NOT NULL,
                PRIMARY KEY (filename, kind, value)
            ) WITHOUT ROWID;
            CREATE INDEX IF NOT EXISTS "{t}_findings_by_value" ON "{t}_findings" (kind, value);
            """
        )
        _add_missing_columns(self._conn, t)
        if not had_findings_index:  # a database from before the index: fill it once
            rows = self._conn.execute(f'SELECT filename, findings FROM "{t}"').fetchall()
            for filename, findings in rows:
                record = Record(filename=filename, environment="", findings=json.loads(findings))
                self._index_findings(t, record)

    def _table(self, environment: str) -> str:
        return table_for(self.tables, environment)

    def get(self, environment: str, key: str) -> Record | None:
        t = self._table(environment)
        with self._lock:
            cursor = self._conn.execute(f'SELECT * FROM "{t}" WHERE filename = ?', (key,))
            row = cursor.fetchone()
            names = [d[0] for d in cursor.description]
        return _to_record(dict(zip(names, row, strict=True))) if row else None

    def put(self, record: Record) -> bool:
        return self.put_many([record])[0]

    def put_many(self, records: list[Record]) -> list[bool]:
        """Write several records in one transaction (much faster than one commit each)."""
        written: list[bool] = []
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                for record in records:
                    written.append(self._put_locked(record))
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        return written

    def _put_locked(self, record: Record) -> bool:
        t = self._table(record.environment)
        stored = self._conn.execute(
            f'SELECT sequencer FROM "{t}" WHERE filename = ?', (record.filename,)
        ).fetchone()
        if stored and not sequencer_newer_or_equal(record.sequencer, stored[0]):
            return False
        row = _to_row(record)
        columns = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        self._conn.execute(f'DELETE FROM "{t}_labels" WHERE filename = ?', (record.filename,))
        self._conn.execute(
            f'INSERT OR REPLACE INTO "{t}" ({columns}) VALUES ({marks})', tuple(row.values())
        )
        self._conn.execute(f'DELETE FROM "{t}_findings" WHERE filename = ?', (record.filename,))
        self._index_findings(t, record)
        self._conn.executemany(
            f'INSERT OR REPLACE INTO "{t}_labels" VALUES (?, ?, ?, ?)',
            [
                (
                    record.filename,
                    str(label["Name"]),
                    float(label.get("Confidence", 0.0)),
                    record.timestamp,
                )
                for label in record.labels
            ],
        )
        return True

    def _index_findings(self, t: str, record: Record) -> None:
        self._conn.executemany(
            f'INSERT OR REPLACE INTO "{t}_findings" VALUES (?, ?, ?, ?)',
            [(record.filename, kind, value, conf) for kind, value, conf in finding_terms(record)],
        )

    def delete(self, environment: str, key: str) -> bool:
        t = self._table(environment)
        with self._lock:
            cursor = self._conn.execute(f'DELETE FROM "{t}" WHERE filename = ?', (key,))
        return cursor.rowcount > 0

    def delete_many(
        self, environment: str, keys: Sequence[str], *, timestamps: Sequence[str] | None = None
    ) -> int:
        """One transaction: every matching row goes or none does (see ResultStore)."""
        t = self._table(environment)
        if timestamps is not None and len(timestamps) != len(keys):
            raise ValueError("one timestamp per key")
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                deleted = 0
                for i, key in enumerate(keys):
                    if timestamps is None:
                        sql, params = f'DELETE FROM "{t}" WHERE filename = ?', [key]
                    else:
                        sql = f'DELETE FROM "{t}" WHERE filename = ? AND timestamp = ?'
                        params = [key, timestamps[i]]
                    deleted += self._conn.execute(sql, params).rowcount
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        return deleted

    def stats(
        self,
        environment: str,
        *,
        since: str | None = None,
        until: str | None = None,
        granularity: Granularity = Granularity.AUTO,
        top: int = 10,
    ) -> Stats:
        """Aggregate queries (indexes on timestamp and label name) instead of reading rows."""
        t = self._table(environment)
        where, params = _time_filter("timestamp", since, until)
        bounds = [b for b in LATENCY_BOUNDS_MS if b != float("inf")]
        le = ", ".join("SUM(COALESCE(duration_ms, 0) <= ?)" for _ in bounds)
        stats = Stats(environment)
        with self._lock:
            total, errors, first, last, dsum, *cumulative = self._conn.execute(
                f"SELECT COUNT(*), SUM(status = 'error'), MIN(timestamp), MAX(timestamp), "
                f'SUM(COALESCE(duration_ms, 0)), {le} FROM "{t}"{where}',
                [*bounds, *params],
            ).fetchone()
            stats.total, stats.errors = int(total), int(errors or 0)
            stats.first, stats.last = first, last
            stats.latency_sum_ms = float(dsum or 0.0)
            stats.latency_cumulative = [int(c or 0) for c in cumulative] + [stats.total]
            stats.granularity = resolve_granularity(granularity, first, last)
            width = stats.granularity.prefix_len
            rows = self._conn.execute(
                f"SELECT substr(timestamp, 1, {width}) AS b, SUM(status != 'error'), "
                f"SUM(status = 'error') FROM \"{t}\"{where} GROUP BY b ORDER BY b",
                params,
            ).fetchall()
            stats.throughput = [ThroughputBucket(b, int(o), int(e)) for b, o, e in rows]
            lwhere, lparams = _time_filter("timestamp", since, until)
            stats.top_labels = [
                (str(name), int(count))
                for name, count in self._conn.execute(
                    f'SELECT name, COUNT(*) AS n FROM "{t}_labels"{lwhere} '
                    "GROUP BY name ORDER BY n DESC, name LIMIT ?",
                    [*lparams, top],
                )
            ]
        return stats

    def query(self, query: Query) -> list[Record]:
        t = self._table(query.environment)
        where: list[str] = []
        params: list[Any] = []
        if query.label:
            source = f'"{t}_labels" AS l JOIN "{t}" AS r ON r.filename = l.filename'
            where.append("l.name = ?")
            params.append(query.label)
            order = "l.timestamp DESC"
        else:
            source = f'"{t}" AS r'
            order = "r.timestamp DESC"
        for kind, value in query.findings:
            match = (
                f'SELECT 1 FROM "{t}_findings" AS f WHERE f.filename = r.filename AND f.kind = ?'
            )
            params.append(kind)
            if value != ANY:
                match += " AND f.value = ?"
                params.append(value)
            where.append(f"EXISTS ({match})")
        if query.status:
            where.append("r.status = ?")
            params.append(Status(query.status).value)
        if query.since:
            where.append("r.timestamp >= ?")
            params.append(query.since)
        if query.until:
            where.append("r.timestamp < ?")
            params.append(query.until)
        if query.prefix:
            where.append("substr(r.filename, 1, ?) = ?")
            params.extend([len(query.prefix), query.prefix])
        if not query.include_deleted:
            where.append("r.deleted_at IS NULL")
        sql = f"SELECT r.* FROM {source}"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += f" ORDER BY {order} LIMIT ?"
        params.append(query.limit)
        with self._lock:
            cursor = self._conn.execute(sql, params)
            names = [d[0] for d in cursor.description]
            rows = cursor.fetchall()
        return [_to_record(dict(zip(names, row, strict=True))) for row in rows]

    def iter_all(self, environment: str) -> Iterator[Record]:
        t = self._table(environment)
        last = ""
        while True:
            with self._lock:
                cursor = self._conn.execute(
                    f'SELECT * FROM "{t}" WHERE filename > ? ORDER BY filename LIMIT 500', (last,)
                )
                names = [d[0] for d in cursor.description]
                rows = cursor.fetchall()
            if not rows:
                return
            for row in rows:
                record = _to_record(dict(zip(names, row, strict=True)))
                last = record.filename
                yield record

    def live_keys(self, environment: str, *, prefix: str = "") -> Iterator[str]:
        t = self._table(environment)
        last = ""
        while True:
            with self._lock:
                rows = self._conn.execute(
                    f'SELECT filename FROM "{t}" WHERE filename > ? AND deleted_at IS NULL '
                    "AND substr(filename, 1, ?) = ? ORDER BY filename LIMIT 5000",
                    (last, len(prefix), prefix),
                ).fetchall()
            if not rows:
                return
            for (key,) in rows:
                yield key
            last = rows[-1][0]

    def count(self, environment: str, status: Status | None = None) -> int:
        t = self._table(environment)
        sql, params = f'SELECT COUNT(*) FROM "{t}"', []
        if status:
            sql += " WHERE status = ?"
            params.append(Status(status).value)
        with self._lock:
            return int(self._conn.execute(sql, params).fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _add_missing_columns(conn: sqlite3.Connection, table: str) -> None:
    """Migrate a results table written by an older version: add the columns it lacks."""
    present = {row[1] for row in conn.execute(f'PRAGMA table_info("{table}")')}
    for name, sql_type in _ADDED_COLUMNS:
        if name not in present:
            conn.execute(f'ALTER TABLE "{table}" ADD COLUMN {name} {sql_type}')


def _time_filter(column: str, since: str | None, until: str | None) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if since:
        clauses.append(f"{column} >= ?")
        params.append(since)
    if until:
        clauses.append(f"{column} < ?")
        params.append(until)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def _to_row(record: Record) -> dict[str, Any]:
    data = record.to_dict()
    row = {name: data[name] for name in _SCALAR_COLUMNS}
    for name in _JSON_COLUMNS:
        row[name] = json.dumps(data[name], separators=(",", ":"), ensure_ascii=False)
    return row


def _to_record(row: dict[str, Any]) -> Record:
    for name in _JSON_COLUMNS:
        row[name] = json.loads(row[name])
    return Record.from_dict(row)
