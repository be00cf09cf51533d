"""SQLite results store: one file, WAL, one table per environment plus a label index."""

from __future__ import annotations

import json
import math
import re
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from pathlib import Path
from typing import Any

from eventlens.db import apply_once, connect, immediate_transaction
from eventlens.events.base import OLDEST_SEQUENCER, outranks_clock, sequencer_newer_or_equal
from eventlens.results.base import LabelSummary, Order, Query, ResultStore, table_for
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
    "status", "error", "etag", "sequencer", "expires_at", "deleted_at", "captured_at",
)  # fmt: skip
#: columns added after the first release: (table suffix, column, declaration); a database file
#: from before gets them by ALTER TABLE when it is opened (see ``_add_missing_columns``)
_ADDED_COLUMNS = (
    ("", "deleted_at", "TEXT"),
    ("", "captured_at", "TEXT"),
    ("_labels", "specific", "INTEGER NOT NULL DEFAULT 1"),
)
#: the capture-time sort key: records without a capture time sort as "" (last, newest first)
_CAPTURED_KEY = "ifnull(r.captured_at, '')"
_JSON_COLUMNS = ("labels", "metadata", "findings")


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
                elif not self._is_current(table):
                    raise sqlite3.OperationalError(
                        f"{path} was written by an older eventlens: run `eventlens run --once` "
                        "once to upgrade it"
                    )

    def _exists(self, table: str) -> bool:
        row = self._conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
        ).fetchone()
        return row is not None

    def _is_current(self, t: str) -> bool:
        """Whether a table has what this version adds to older files (columns, label counts)."""
        for suffix, column, _ in _ADDED_COLUMNS:
            present = {row[1] for row in self._conn.execute(f'PRAGMA table_info("{t}{suffix}")')}
            if column not in present:
                return False
        return self._exists(f"{t}_label_counts")

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
                deleted_at TEXT,
                captured_at TEXT
            );
            CREATE INDEX IF NOT EXISTS "{t}_by_time" ON "{t}" (timestamp);
            CREATE INDEX IF NOT EXISTS "{t}_by_status" ON "{t}" (status, timestamp);
            CREATE {temp} TABLE IF NOT EXISTS "{t}_labels" (
                filename TEXT NOT NULL REFERENCES "{t}"(filename) ON DELETE CASCADE,
                name TEXT NOT NULL COLLATE NOCASE,
                confidence REAL NOT NULL,
                timestamp TEXT NOT NULL,
                specific INTEGER NOT NULL DEFAULT 1,
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
        if temporary:  # an empty stand-in for a table a read-only file lacks
            self._create_label_counts(t, temp)
            return
        with self._transaction():
            added = self._add_missing_columns(t)
            if ("_labels", "specific") in added:
                self._mark_parent_labels(t)
            self._create_label_counts(t)
            apply_once(self._conn, f"{t}: pre-clock sequencers", lambda: self._rank_pre_clock(t))
            self._conn.execute(
                f'CREATE INDEX IF NOT EXISTS "{t}_by_captured" '
                f"ON \"{t}\" (ifnull(captured_at, ''), filename)"
            )
            # few records are deleted: counts subtract them through this small index
            self._conn.execute(
                f'CREATE INDEX IF NOT EXISTS "{t}_deleted" ON "{t}" (filename) '
                "WHERE deleted_at IS NOT NULL"
            )
        if not had_findings_index:  # a database from before the index: fill it once
            rows = self._conn.execute(f'SELECT filename, findings FROM "{t}"').fetchall()
            for filename, findings in rows:
                record = Record(filename=filename, environment="", findings=json.loads(findings))
                self._index_findings(t, record)

    def _add_missing_columns(self, t: str) -> set[tuple[str, str]]:
        """ALTER TABLE ADD COLUMN for each of ``_ADDED_COLUMNS`` a (older) file lacks."""
        added = set()
        for suffix, column, declaration in _ADDED_COLUMNS:
            table = f"{t}{suffix}"
            have = {row[1] for row in self._conn.execute(f'PRAGMA table_info("{table}")')}
            if column not in have:
                self._conn.execute(f'ALTER TABLE "{table}" ADD COLUMN {column} {declaration}')
                added.add((suffix, column))
        return added

    def _rank_pre_clock(self, t: str) -> None:
        """Records written before the database clock whose sequencer no new event outranks
        (files dated 2100 or 1960): rank them below every event, so the next one wins."""
        self._conn.create_function("outranks_clock", 2, outranks_clock, deterministic=True)
        self._conn.execute(
            f'UPDATE "{t}" SET sequencer = ? WHERE outranks_clock(sequencer, ?)',
            (OLDEST_SEQUENCER, time.time_ns()),
        )

    def _mark_parent_labels(self, t: str) -> None:
        """Label rows written before ``specific`` existed: mark the parents of each record."""
        for filename, labels in self._conn.execute(f'SELECT filename, labels FROM "{t}"'):
            record = Record(filename=filename, environment="", labels=json.loads(labels))
            specific = {name.casefold() for name in record.specific_label_names()}
            parents = [n for n in record.label_names() if n.casefold() not in specific]
            self._conn.executemany(
                f'UPDATE "{t}_labels" SET specific = 0 WHERE filename = ? AND name = ?',
                [(filename, name) for name in parents],
            )

    def _create_label_counts(self, t: str, temp: str = "") -> None:
        """Per-label record counts, kept by triggers on the label index, so the labels page
        reads a row per label instead of counting the index (filled once when created)."""
        if self._exists(f"{t}_label_counts"):
            return
        for statement in (
            f"""CREATE {temp} TABLE "{t}_label_counts" (
                name TEXT PRIMARY KEY COLLATE NOCASE,
                records INTEGER NOT NULL, specific INTEGER NOT NULL
            ) WITHOUT ROWID""",
            f"""INSERT INTO "{t}_label_counts"
                SELECT name, COUNT(*), SUM(specific) FROM "{t}_labels" GROUP BY name""",
            f"""CREATE {temp} TRIGGER "{t}_label_added" AFTER INSERT ON "{t}_labels" BEGIN
                INSERT INTO "{t}_label_counts" VALUES (new.name, 1, new.specific)
                ON CONFLICT (name) DO UPDATE
                SET records = records + 1, specific = specific + new.specific;
            END""",
            f"""CREATE {temp} TRIGGER "{t}_label_removed" AFTER DELETE ON "{t}_labels" BEGIN
                UPDATE "{t}_label_counts"
                SET records = records - 1, specific = specific - old.specific
                WHERE name = old.name;
                DELETE FROM "{t}_label_counts" WHERE name = old.name AND records <= 0;
            END""",
        ):
            self._conn.execute(statement)

    def _transaction(self) -> AbstractContextManager[None]:
        return immediate_transaction(self._conn, self._lock)

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
        with self._transaction():
            return [self._put_locked(record) for record in records]

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
            f'INSERT INTO "{t}_labels" (filename, name, confidence, timestamp, specific) '
            "VALUES (?, ?, ?, ?, ?)",
            _label_rows(record),
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
        deleted = 0
        with self._transaction():
            for i, key in enumerate(keys):
                if timestamps is None:
                    sql, params = f'DELETE FROM "{t}" WHERE filename = ?', [key]
                else:
                    sql = f'DELETE FROM "{t}" WHERE filename = ? AND timestamp = ?'
                    params = [key, timestamps[i]]
                deleted += self._conn.execute(sql, params).rowcount
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
            if since or until:
                lwhere, lparams = _time_filter("timestamp", since, until)
                top_sql = (
                    f'SELECT name, COUNT(*) AS n FROM "{t}_labels"{lwhere} '
                    f"{'AND' if lwhere else 'WHERE'} specific = 1 "
                    "GROUP BY name ORDER BY n DESC, name LIMIT ?"
                )
            else:  # all time: the counts the triggers keep
                lparams = []
                top_sql = (
                    f'SELECT name, specific FROM "{t}_label_counts" WHERE specific > 0 '
                    "ORDER BY specific DESC, name LIMIT ?"
                )
            stats.top_labels = [
                (str(name), int(count))
                for name, count in self._conn.execute(top_sql, [*lparams, top])
            ]
        return stats

    def query(self, query: Query) -> list[Record]:
        """In ``query.order``, newest first (oldest first when ``ascending``), after
        ``query.after``; ties are broken by the key."""
        source, where, params, (key, name) = self._select(query)
        if query.after:
            past = ">" if query.ascending else "<"
            # the first term alone can use an index on the sort value
            where.append(f"{key} {past}= ? AND ({key} {past} ? OR {name} {past} ?)")
            params.extend([query.after.value, query.after.value, query.after.filename])
        direction = "ASC" if query.ascending else "DESC"
        sql = f"SELECT r.* FROM {source}{_where(where)} "
        sql += f"ORDER BY {key} {direction}, {name} {direction} LIMIT ?"
        params.append(query.limit)
        with self._lock:
            cursor = self._conn.execute(sql, params)
            names = [d[0] for d in cursor.description]
            rows = cursor.fetchall()
        return [_to_record(dict(zip(names, row, strict=True))) for row in rows]

    def count_matching(self, query: Query) -> int:
        if query.label and _label_only(query):  # the count the triggers keep
            t = self._table(query.environment)
            with self._lock:
                row = self._conn.execute(
                    f'SELECT records FROM "{t}_label_counts" WHERE name = ?', (query.label,)
                ).fetchone()
                deleted = 0 if query.include_deleted else self._deleted_with(t, query.label)
            return int(row[0]) - deleted if row else 0
        # every record matching, less the deleted ones: "deleted_at IS NULL" would make SQLite
        # read every row, while the deleted ones are few and have a partial index of their own
        source, where, params, _ = self._select(replace(query, include_deleted=True))
        sql = f"SELECT COUNT(*) FROM {source}"
        with self._lock:
            total = int(self._conn.execute(sql + _where(where), params).fetchone()[0])
            if not query.include_deleted:
                only_deleted = [*where, "r.deleted_at IS NOT NULL"]
                total -= int(self._conn.execute(sql + _where(only_deleted), params).fetchone()[0])
        return total

    def _select(self, query: Query) -> tuple[str, list[str], list[Any], tuple[str, str]]:
        """FROM, WHERE terms and parameters for ``query``'s filters, and its sort columns
        (sort value, key): the label index's own copy of the timestamp when it can."""
        t = self._table(query.environment)
        where: list[str] = []
        params: list[Any] = []
        if query.label:
            source = f'"{t}_labels" AS l JOIN "{t}" AS r ON r.filename = l.filename'
            where.append("l.name = ?")
            params.append(query.label)
        else:
            source = f'"{t}" AS r'
        if query.order is Order.CAPTURED:
            sort = (_CAPTURED_KEY, "r.filename")
        else:
            sort = ("l.timestamp", "l.filename") if query.label else ("r.timestamp", "r.filename")
        for kind, value in query.findings:
            if value == ANY:  # common: read in sort order, check each record
                where.append(
                    f'EXISTS (SELECT 1 FROM "{t}_findings" AS f '
                    "WHERE f.filename = r.filename AND f.kind = ?)"
                )
                params.append(kind)
            else:  # rare: start from the findings index
                where.append(
                    f'r.filename IN (SELECT f.filename FROM "{t}_findings" AS f '
                    "WHERE f.kind = ? AND f.value = ?)"
                )
                params.extend([kind, value])
        for clause, bound in (
            ("r.status = ?", Status(query.status).value if query.status else None),
            ("r.timestamp >= ?", query.since),
            ("r.timestamp < ?", query.until),
            # in terms of the capture index's expression, so a window reads only its range
            (f"{_CAPTURED_KEY} >= ?", query.captured_since),
            (f"{_CAPTURED_KEY} > '' AND {_CAPTURED_KEY} < ?", query.captured_until),
        ):
            if bound:
                where.append(clause)
                params.append(bound)
        if query.prefix:
            where.append("substr(r.filename, 1, ?) = ?")
            params.extend([len(query.prefix), query.prefix])
        if not query.include_deleted:
            where.append("r.deleted_at IS NULL")
        if query.no_labels:
            where.append("r.label_count = 0")
        return source, where, params, sort

    def label_summary(self, environment: str, *, covers: bool = True) -> list[LabelSummary]:
        """From the counts the triggers keep, less the records of deleted objects; a cover is
        the newest record with the label whose object is not deleted."""
        t = self._table(environment)
        cover = (
            f'(SELECT l.filename FROM "{t}_labels" AS l JOIN "{t}" AS r '
            "ON r.filename = l.filename WHERE l.name = c.name AND r.deleted_at IS NULL "
            "ORDER BY l.timestamp DESC, l.filename DESC LIMIT 1)"
            if covers
            else "NULL"
        )
        with self._lock:
            rows = self._conn.execute(
                f"SELECT c.name, c.records - ifnull(d.records, 0), "
                f"c.specific - ifnull(d.specific, 0), {cover} "
                f'FROM "{t}_label_counts" AS c LEFT JOIN ('
                f"SELECT l.name AS name, COUNT(*) AS records, SUM(l.specific) AS specific "
                f'FROM "{t}" AS r CROSS JOIN "{t}_labels" AS l '
                "ON l.filename = r.filename WHERE r.deleted_at IS NOT NULL GROUP BY l.name"
                ") AS d ON d.name = c.name"
            ).fetchall()
        summaries = [LabelSummary(str(n), int(r), int(sp), key) for n, r, sp, key in rows if r]
        return sorted(summaries, key=lambda s: (-s.records, s.name.casefold()))

    def _deleted_with(self, t: str, label: str) -> int:
        """Records of deleted objects that carry ``label``; CROSS JOIN makes SQLite start from
        the deleted records (a small partial index), not from every record with the label."""
        row = self._conn.execute(
            f'SELECT COUNT(*) FROM "{t}" AS r CROSS JOIN "{t}_labels" AS l '
            "ON l.filename = r.filename AND l.name = ? WHERE r.deleted_at IS NOT NULL",
            (label,),
        ).fetchone()
        return int(row[0])

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


def _label_only(query: Query) -> bool:
    """Whether ``query`` filters by nothing but its label."""
    return not (
        query.status or query.since or query.until or query.prefix or query.findings
        or query.captured_since or query.captured_until or query.no_labels
    )  # fmt: skip


def _where(terms: list[str]) -> str:
    return " WHERE " + " AND ".join(terms) if terms else ""


def _label_rows(record: Record) -> list[tuple[str, str, float, str, int]]:
    """Rows of the label index: one per name (case-insensitively: the first spelling, the best
    confidence), ``specific`` 0 for labels another label of the record names as a parent."""
    specific = {name.casefold() for name in record.specific_label_names()}
    best: dict[str, tuple[str, float]] = {}
    for label in record.labels:
        name, confidence = str(label["Name"]), _confidence(label.get("Confidence"))
        first, best_confidence = best.get(name.casefold(), (name, confidence))
        best[name.casefold()] = (first, max(confidence, best_confidence))
    return [
        (record.filename, name, confidence, record.timestamp, int(folded in specific))
        for folded, (name, confidence) in best.items()
    ]


def _confidence(value: Any) -> float:
    """A label's confidence for the index: 0 when it is missing, not a number or not finite."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return number if math.isfinite(number) else 0.0


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
