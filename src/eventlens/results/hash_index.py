"""The duplicate analyzer's hash index in SQLite, in the results database (one table).

SQLite answers exact (sha256) look-ups through an index. Near-duplicate look-ups compare a
pHash against every earlier image, which SQLite could only do as a full scan calling a Python
function per row (about 60 ms per image at 100,000 images). So each index keeps the hashes in
numpy arrays addressed by rowid, brings them up to date from the table before every look-up
(rows whose ``seq`` is newer than the last one seen; other processes writing the same database
included), and compares all of them at once: about 0.25 ms per image at 100,000 images.

``seq`` orders images by when their content was first seen: it is assigned on insert and
renewed only when a key's bytes change, and a look-up only matches images with a smaller
``seq``, so re-analysing an original never names its later copy as the original.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np

from eventlens.db import connect
from eventlens.image_hashes import HashEntry, HashMatch

_MASK = (1 << 64) - 1
_UNUSED = np.iinfo(np.int64).max  # the seq of an array slot with no row behind it
_BLOCK = 512  # rows compared per step when grouping
_LOAD_CHUNK = 50_000

U64 = np.ndarray[Any, np.dtype[np.uint64]]


def _signed(value: int) -> int:
    """SQLite integers are signed 64-bit: store the hash's bit pattern."""
    return value - (1 << 64) if value >= 1 << 63 else value


def _unsigned(value: int) -> int:
    return value & _MASK


class _Hashes:
    """Every row's hashes, seq and environment, in arrays indexed by rowid."""

    def __init__(self) -> None:
        self.phash = np.zeros(0, np.uint64)
        self.dhash = np.zeros(0, np.uint64)
        self.seq = np.zeros(0, np.int64)
        self.env = np.zeros(0, np.int32)
        self.env_ids: dict[str, int] = {}
        self.last_seq = 0
        self.used = 0  # slots up to the largest rowid seen; the rest is spare capacity

    def env_id(self, environment: str) -> int:
        return self.env_ids.setdefault(environment, len(self.env_ids))

    def update(self, rows: list[tuple[int, str, int, int, int]]) -> None:
        if not rows:
            return
        rowids = np.fromiter((r[0] for r in rows), np.int64, len(rows))
        self.used = max(self.used, int(rowids.max()) + 1)
        self._grow(self.used)
        self.env[rowids] = [self.env_id(r[1]) for r in rows]
        self.phash[rowids] = np.fromiter((_unsigned(r[2]) for r in rows), np.uint64, len(rows))
        self.dhash[rowids] = np.fromiter((_unsigned(r[3]) for r in rows), np.uint64, len(rows))
        self.seq[rowids] = [r[4] for r in rows]
        self.last_seq = max(self.last_seq, max(r[4] for r in rows))

    def _grow(self, size: int) -> None:
        if size <= len(self.seq):
            return
        capacity = max(size, 2 * len(self.seq), 1024)
        extra = capacity - len(self.seq)
        self.phash = np.concatenate([self.phash, np.zeros(extra, np.uint64)])
        self.dhash = np.concatenate([self.dhash, np.zeros(extra, np.uint64)])
        self.seq = np.concatenate([self.seq, np.full(extra, _UNUSED, np.int64)])
        self.env = np.concatenate([self.env, np.full(extra, -1, np.int32)])

    def drop(self, rowid: int) -> None:
        """The row is gone: its slot never matches again (until a new row reuses the rowid)."""
        if rowid < len(self.seq):
            self.seq[rowid] = _UNUSED
            self.env[rowid] = -1

    def nearest(
        self, environment: str, phash: int, dhash: int, max_distance: int, before_seq: int
    ) -> tuple[int, int] | None:
        """(rowid, pHash distance) of the nearest earlier image, the earliest on ties."""
        if environment not in self.env_ids:
            return None
        used = slice(0, self.used)
        p_dist = np.bitwise_count(self.phash[used] ^ np.uint64(phash))
        d_dist = np.bitwise_count(self.dhash[used] ^ np.uint64(dhash))
        seq = self.seq[used]
        candidates = np.flatnonzero(
            (self.env[used] == self.env_ids[environment])
            & (seq < before_seq)
            & (p_dist <= max_distance)
            & (d_dist <= 2 * max_distance)
        )
        if not len(candidates):
            return None
        best = candidates[np.lexsort((seq[candidates], p_dist[candidates]))[0]]
        return int(best), int(p_dist[best])


class SQLiteHashIndex:
    def __init__(self, path: Path | str, table: str = "image_hashes") -> None:
        self.table = table
        self._conn = connect(path)
        self._lock = threading.RLock()
        self._hashes = _Hashes()
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
                CREATE INDEX IF NOT EXISTS "{table}_by_seq" ON "{table}" (seq);
                """
            )

    def find_exact(self, environment: str, sha256: str, exclude_key: str) -> str | None:
        with self._lock:
            row = self._conn.execute(
                f'SELECT filename FROM "{self.table}" WHERE environment = ? AND sha256 = ? '
                "AND seq < ? ORDER BY seq LIMIT 1",
                (environment, sha256, self._seq_of(environment, exclude_key)),
            ).fetchone()
        return str(row[0]) if row else None

    def find_similar(
        self, environment: str, phash: int, dhash: int, max_distance: int, exclude_key: str
    ) -> HashMatch | None:
        with self._lock:
            self._refresh()
            before = self._seq_of(environment, exclude_key)
            while found := self._hashes.nearest(environment, phash, dhash, max_distance, before):
                rowid, distance = found
                row = self._conn.execute(
                    f'SELECT filename FROM "{self.table}" WHERE rowid = ?', (rowid,)
                ).fetchone()
                if row:
                    return HashMatch(str(row[0]), distance, False)
                self._hashes.drop(rowid)  # removed by another process: try the next nearest
        return None

    def add(self, environment: str, entry: HashEntry) -> None:
        """Insert or update a key's hashes; its ``seq`` is renewed only if its bytes changed."""
        with self._lock:
            self._conn.execute(
                f"""INSERT INTO "{self.table}" VALUES (?, ?, ?, ?, ?,
                        (SELECT COALESCE(MAX(seq), 0) + 1 FROM "{self.table}"))
                    ON CONFLICT (environment, filename) DO UPDATE SET
                        seq = CASE WHEN sha256 = excluded.sha256 THEN seq
                                   ELSE excluded.seq END,
                        sha256 = excluded.sha256, phash = excluded.phash,
                        dhash = excluded.dhash""",
                (environment, entry.key, entry.sha256, _signed(entry.phash), _signed(entry.dhash)),
            )

    def remove(self, environment: str, key: str) -> None:
        with self._lock:
            row = self._conn.execute(
                f'DELETE FROM "{self.table}" WHERE environment = ? AND filename = ? '
                "RETURNING rowid",
                (environment, key),
            ).fetchone()
            if row:
                self._hashes.drop(int(row[0]))

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

    def _seq_of(self, environment: str, key: str) -> int:
        """Only images seen before ``key`` count as its originals (all of them for a new key)."""
        row = self._conn.execute(
            f'SELECT seq FROM "{self.table}" WHERE environment = ? AND filename = ?',
            (environment, key),
        ).fetchone()
        return int(row[0]) if row else int(_UNUSED)

    def _refresh(self) -> None:
        cursor = self._conn.execute(
            f'SELECT rowid, environment, phash, dhash, seq FROM "{self.table}" '
            "WHERE seq > ? ORDER BY seq",
            (self._hashes.last_seq,),
        )
        while rows := cursor.fetchmany(_LOAD_CHUNK):  # bounded memory on a first load
            self._hashes.update(rows)


def duplicate_groups(entries: list[HashEntry], max_distance: int) -> list[list[HashEntry]]:
    """Groups of two or more images that are exact or near copies (exact copies have equal
    hashes; single linkage, oldest first within each group, groups ordered by their oldest
    member).

    Every pair is compared, ``_BLOCK`` rows at a time in numpy: quadratic, but about
    1 s per 20,000 images (``bench/bench_duplicates.py``)."""
    count = len(entries)
    parent = list(range(count))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    phashes: U64 = np.fromiter((e.phash for e in entries), np.uint64, count)
    dhashes: U64 = np.fromiter((e.dhash for e in entries), np.uint64, count)
    for start in range(0, count, _BLOCK):
        stop = min(start + _BLOCK, count)
        near = (
            np.bitwise_count(phashes[start:stop, None] ^ phashes[None, :stop]) <= max_distance
        ) & (np.bitwise_count(dhashes[start:stop, None] ^ dhashes[None, :stop]) <= 2 * max_distance)
        for row, column in zip(*np.nonzero(near), strict=True):
            i, j = start + int(row), int(column)
            if j < i:
                parent[find(i)] = find(j)
    groups: dict[int, list[HashEntry]] = {}
    for i, entry in enumerate(entries):
        groups.setdefault(find(i), []).append(entry)
    # members were appended oldest first, and groups inserted in order of their oldest member
    return [g for g in groups.values() if len(g) > 1]
