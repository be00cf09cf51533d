"""The duplicate analyzer's hash index in SQLite, in the results database (one table)."""

from __future__ import annotations

import threading
from pathlib import Path

from eventlens.analyzers.duplicates import HashEntry, HashMatch, hamming
from eventlens.results.sqlite import connect

_MASK = (1 << 64) - 1


def _signed(value: int) -> int:
    """SQLite integers are signed 64-bit: store the hash's bit pattern."""
    return value - (1 << 64) if value >= 1 << 63 else value


def _unsigned(value: int) -> int:
    return value & _MASK


class SQLiteHashIndex:
    def __init__(self, path: Path | str, table: str = "image_hashes") -> None:
        self.table = table
        self._conn = connect(path)
        self._conn.create_function("hamming", 2, _hamming_sql, deterministic=True)
        self._lock = threading.RLock()
        with self._lock:
            self._conn.executescript(
                f"""
                CREATE TABLE IF NOT EXISTS "{table}" (
                    environment TEXT NOT NULL,
                    filename TEXT NOT NULL,
                    sha256 TEXT NOT NULL,
                    phash INTEGER NOT NULL,
                    dhash INTEGER NOT NULL,
                    seq INTEGER NOT NULL,
                    PRIMARY KEY (environment, filename)
                );
                CREATE INDEX IF NOT EXISTS "{table}_by_sha256"
                    ON "{table}" (environment, sha256, seq);
                """
            )

    def find_exact(self, environment: str, sha256: str, exclude_key: str) -> str | None:
        with self._lock:
            row = self._conn.execute(
                f'SELECT filename FROM "{self.table}" WHERE environment = ? AND sha256 = ? '
                "AND filename != ? ORDER BY seq LIMIT 1",
                (environment, sha256, exclude_key),
            ).fetchone()
        return str(row[0]) if row else None

    def find_similar(
        self, environment: str, phash: int, dhash: int, max_distance: int, exclude_key: str
    ) -> HashMatch | None:
        with self._lock:
            row = self._conn.execute(
                f"""SELECT filename, hamming(phash, ?1) AS d, sha256 FROM "{self.table}"
                    WHERE environment = ?2 AND filename != ?3
                      AND hamming(phash, ?1) <= ?4 AND hamming(dhash, ?5) <= ?4 * 2
                    ORDER BY d, seq LIMIT 1""",
                (_signed(phash), environment, exclude_key, max_distance, _signed(dhash)),
            ).fetchone()
        return HashMatch(str(row[0]), int(row[1]), False) if row else None

    def add(self, environment: str, entry: HashEntry) -> None:
        with self._lock:
            self._conn.execute(
                f"""INSERT INTO "{self.table}" VALUES (?, ?, ?, ?, ?,
                        (SELECT COALESCE(MAX(seq), 0) + 1 FROM "{self.table}"))
                    ON CONFLICT (environment, filename) DO UPDATE SET
                        sha256 = excluded.sha256, phash = excluded.phash,
                        dhash = excluded.dhash""",
                (environment, entry.key, entry.sha256, _signed(entry.phash), _signed(entry.dhash)),
            )

    def entries(self, environment: str) -> list[HashEntry]:
        """Every entry of an environment, oldest first."""
        with self._lock:
            rows = self._conn.execute(
                f'SELECT filename, sha256, phash, dhash FROM "{self.table}" '
                "WHERE environment = ? ORDER BY seq",
                (environment,),
            ).fetchall()
        return [HashEntry(str(f), str(s), _unsigned(p), _unsigned(d)) for f, s, p, d in rows]

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _hamming_sql(a: int, b: int) -> int:
    return hamming(_unsigned(a), _unsigned(b))


def duplicate_groups(entries: list[HashEntry], max_distance: int) -> list[list[HashEntry]]:
    """Groups of two or more images that are exact or near copies (single linkage, oldest
    first within each group, groups ordered by their oldest member)."""
    parent = list(range(len(entries)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, a in enumerate(entries):
        for j in range(i):
            b = entries[j]
            if a.sha256 == b.sha256 or (
                hamming(a.phash, b.phash) <= max_distance
                and hamming(a.dhash, b.dhash) <= 2 * max_distance
            ):
                parent[find(i)] = find(j)
    groups: dict[int, list[HashEntry]] = {}
    for i, entry in enumerate(entries):
        groups.setdefault(find(i), []).append(entry)
    # members were appended oldest first, and groups inserted in order of their oldest member
    return [g for g in groups.values() if len(g) > 1]
