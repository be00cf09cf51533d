"""The people index in SQLite, in the results database: every face's descriptor and person,
and the people (an id and an optional name).

Looking a new face up compares it with every stored face of its environment; SQLite could
only do that as a full scan calling Python per row, so each index keeps the descriptors in a
numpy matrix, brings it up to date from the table before each look-up (rows added since,
other processes' included; any deletion elsewhere, seen through a counter, reloads it) and
compares all of them at once (bench/bench_people.py: about 10 ms with 100,000 faces).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import numpy as np

from eventlens.db import connect, immediate_transaction
from eventlens.face_people import (
    DEFAULT_THRESHOLD,
    FaceEntry,
    PeopleError,
    Person,
    person_id,
    person_number,
)

DIMENSIONS = 128
F32 = np.ndarray[Any, np.dtype[np.float32]]
__all__ = ["PeopleError", "SQLitePeopleIndex"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS people (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    environment TEXT NOT NULL,
    name TEXT COLLATE NOCASE,
    created TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX IF NOT EXISTS people_by_name ON people (environment, name);
CREATE TABLE IF NOT EXISTS people_faces (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    environment TEXT NOT NULL,
    key TEXT NOT NULL,
    face INTEGER NOT NULL,
    person INTEGER NOT NULL REFERENCES people(id),
    descriptor BLOB NOT NULL,
    box TEXT,
    confidence REAL NOT NULL DEFAULT 0,
    UNIQUE (environment, key, face)
);
CREATE INDEX IF NOT EXISTS people_faces_by_person ON people_faces (person);
-- a person merged into another: their id, which records keep, names who they are now
CREATE TABLE IF NOT EXISTS people_merged (
    id INTEGER PRIMARY KEY,
    environment TEXT NOT NULL,
    person INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS people_state (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO people_state VALUES ('deletions', 0);
"""


class _Matrix:
    """One environment's descriptors, rows addressed by position (spare capacity doubles, so
    adding a face does not copy the matrix); ``ids`` the face rows."""

    def __init__(self) -> None:
        self.used = 0
        self.ids = np.zeros(0, np.int64)
        self.vectors = np.zeros((0, DIMENSIONS), np.float32)
        self.alive = np.zeros(0, bool)
        self.position: dict[int, int] = {}

    def add(self, ids: list[int], vectors: list[F32]) -> None:
        if not ids:
            return
        start, end = self.used, self.used + len(ids)
        if end > len(self.ids):
            extra = max(end, 2 * len(self.ids), 1024) - len(self.ids)
            self.ids = np.concatenate([self.ids, np.zeros(extra, np.int64)])
            self.vectors = np.vstack([self.vectors, np.zeros((extra, DIMENSIONS), np.float32)])
            self.alive = np.concatenate([self.alive, np.zeros(extra, bool)])
        self.ids[start:end] = ids
        self.vectors[start:end] = np.stack(vectors).astype(np.float32)
        self.alive[start:end] = True
        self.used = end
        self.position.update({face: start + i for i, face in enumerate(ids)})

    def drop(self, ids: Sequence[int]) -> None:
        for face in ids:
            at = self.position.pop(face, None)
            if at is not None:
                self.alive[at] = False

    def within(self, vector: F32, threshold: float) -> list[tuple[float, int]]:
        """(distance, face id) of every live face within ``threshold``, nearest first."""
        if not self.used:
            return []
        distances = np.linalg.norm(self.vectors[: self.used] - vector, axis=1)
        hits = np.flatnonzero((distances <= threshold) & self.alive[: self.used])
        order = hits[np.argsort(distances[hits], kind="stable")]
        return [(float(distances[i]), int(self.ids[i])) for i in order]


class SQLitePeopleIndex:
    def __init__(self, path: Path | str, *, threshold: float = DEFAULT_THRESHOLD) -> None:
        self.threshold = threshold
        self._conn = connect(path)
        self._conn.executescript(_SCHEMA)
        self._lock = threading.RLock()
        self._matrices: dict[str, _Matrix] = {}
        self._last_id = 0
        self._deletions = -1

    # -- the port ------------------------------------------------------------------------

    def assign(self, environment: str, key: str, faces: Sequence[FaceEntry]) -> list[str]:
        with self._transaction():
            self._refresh()
            matrix = self._matrices.setdefault(environment, _Matrix())
            old = self._conn.execute(
                "SELECT id, person, descriptor FROM people_faces WHERE environment = ? AND key = ?",
                (environment, key),
            ).fetchall()
            old_ids = [row[0] for row in old]
            self._delete_faces(old_ids)
            matrix.drop(old_ids)
            previous = [(person, _vector(blob)) for _, person, blob in old]
            used: set[int] = set()
            people: list[int] = []
            added_ids: list[int] = []
            for face in faces:
                vector = np.asarray(face.descriptor, np.float32)
                person = self._previous_person(previous, vector, used)
                if person is None:
                    person = self._nearest_person(environment, matrix, vector, used)
                used.add(person)
                people.append(person)
                added_ids.append(self._insert(environment, key, face, vector, person))
            matrix.add(added_ids, [np.asarray(f.descriptor, np.float32) for f in faces])
            self._last_id = max([self._last_id, *added_ids])
            self._drop_if_empty({person for person, _ in previous})
            # a merge inside this photo may have renumbered an earlier face's person
            final = dict(
                self._conn.execute(
                    "SELECT face, person FROM people_faces WHERE environment = ? AND key = ?",
                    (environment, key),
                ).fetchall()
            )
        return [person_id(final[face.index]) for face in faces]

    def remove(self, environment: str, key: str) -> None:
        with self._transaction():
            rows = self._conn.execute(
                "SELECT id, person FROM people_faces WHERE environment = ? AND key = ?",
                (environment, key),
            ).fetchall()
            ids = [face for face, _ in rows]
            self._delete_faces(ids)
            self._matrices.setdefault(environment, _Matrix()).drop(ids)
            self._drop_if_empty({person for _, person in rows})

    # -- people ----------------------------------------------------------------------------

    def people(self, environment: str) -> list[Person]:
        """Everyone of the environment, most photos first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT p.id, p.name, COUNT(f.id), COUNT(DISTINCT f.key) FROM people AS p "
                "JOIN people_faces AS f ON f.person = p.id WHERE p.environment = ? "
                "GROUP BY p.id",
                (environment,),
            ).fetchall()
            found = [self._person(environment, *row) for row in rows]
        return sorted(found, key=lambda p: (-p.photos, p.name is None, p.name or "", p.id))

    def find(self, environment: str, ref: str) -> Person:
        """A person by id ("P12") or by name (case-insensitive). The id of someone merged
        into another person (by ``merge`` or by a face between them), which their photos'
        records still carry, finds the person they are now."""
        number = person_number(ref)
        with self._lock:
            if number is not None:
                merged = self._conn.execute(
                    "SELECT person FROM people_merged WHERE environment = ? AND id = ?",
                    (environment, number),
                ).fetchone()
                row = self._conn.execute(
                    "SELECT id FROM people WHERE environment = ? AND id = ?",
                    (environment, merged[0] if merged else number),
                ).fetchone()
            else:
                row = self._conn.execute(
                    "SELECT id FROM people WHERE environment = ? AND name = ?", (environment, ref)
                ).fetchone()
            if row is None:
                raise PeopleError(f"no person {ref!r} in {environment!r}")
            counts = self._conn.execute(
                "SELECT COUNT(*), COUNT(DISTINCT key) FROM people_faces WHERE person = ?", row
            ).fetchone()
            name = self._conn.execute("SELECT name FROM people WHERE id = ?", row).fetchone()[0]
            return self._person(environment, row[0], name, *counts)

    def photos_of(self, environment: str, ref: str) -> list[str]:
        """The keys of every photo the person is in, in key order."""
        person = self.find(environment, ref)
        with self._lock:
            rows = self._conn.execute(
                "SELECT DISTINCT key FROM people_faces WHERE person = ? ORDER BY key",
                (_number(person),),
            ).fetchall()
        return [row[0] for row in rows]

    def person_of(self, environment: str, key: str, face: int) -> str:
        with self._lock:
            row = self._conn.execute(
                "SELECT person FROM people_faces WHERE environment = ? AND key = ? AND face = ?",
                (environment, key, face),
            ).fetchone()
        if row is None:
            raise PeopleError(f"no face {face} of {key!r}")
        return person_id(row[0])

    def name(self, environment: str, ref: str, name: str | None) -> Person:
        """Name a person (None: forget the name). A name belongs to one person at a time."""
        person = self.find(environment, ref)
        name = (name or "").strip() or None
        with self._transaction():
            if name is not None:
                taken = self._conn.execute(
                    "SELECT id FROM people WHERE environment = ? AND name = ? AND id != ?",
                    (environment, name, _number(person)),
                ).fetchone()
                if taken:
                    raise PeopleError(
                        f"{name!r} is already {person_id(taken[0])}: merge them instead "
                        f"(eventlens people merge {person_id(taken[0])} {person.id})"
                    )
            self._conn.execute("UPDATE people SET name = ? WHERE id = ?", (name, _number(person)))
        return self.find(environment, person.id)

    def merge(self, environment: str, into: str, others: Sequence[str]) -> Person:
        """Move every face of ``others`` to ``into``; ``into`` keeps its name, or takes the
        first name among the others when it has none."""
        target = self.find(environment, into)
        sources = [self.find(environment, ref) for ref in others]
        with self._transaction():
            for source in sources:
                if source.id == target.id:
                    continue
                self._merge_locked(_number(target), _number(source))
        return self.find(environment, target.id)

    def split(self, environment: str, ref: str, keys: Sequence[str]) -> Person:
        """Move the person's faces in the photos ``keys`` to a new person."""
        person = self.find(environment, ref)
        number = _number(person)
        with self._transaction():
            marks = ", ".join("?" for _ in keys)
            moving = self._conn.execute(
                f"SELECT id FROM people_faces WHERE person = ? AND key IN ({marks})",
                (number, *keys),
            ).fetchall()
            if not moving:
                raise PeopleError(f"{person.id} is in none of those photos")
            if len(moving) == person.faces:
                raise PeopleError(f"those are all of {person.id}'s faces: nothing to split off")
            new = self._new_person(environment)
            self._conn.executemany(
                "UPDATE people_faces SET person = ? WHERE id = ?", [(new, f) for (f,) in moving]
            )
        return self.find(environment, person_id(new))

    def forget_all(self) -> tuple[int, int]:
        """Delete every descriptor and person of every environment: (faces, people) gone."""
        with self._transaction():
            faces = self._conn.execute("DELETE FROM people_faces").rowcount
            people = self._conn.execute("DELETE FROM people").rowcount
            self._conn.execute("DELETE FROM people_merged")
            self._bump_deletions()
            self._matrices.clear()
        with self._lock:
            self._conn.execute("VACUUM")  # the descriptors' bytes leave the file too
        return faces, people

    def face_count(self, environment: str | None = None) -> int:
        sql, params = "SELECT COUNT(*) FROM people_faces", []
        if environment is not None:
            sql, params = sql + " WHERE environment = ?", [environment]
        with self._lock:
            return int(self._conn.execute(sql, params).fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -- internals -------------------------------------------------------------------------

    def _transaction(self) -> AbstractContextManager[None]:
        return immediate_transaction(self._conn, self._lock)

    def _refresh(self) -> None:
        """Bring the matrices up to date with the table (other processes' writes)."""
        deletions = int(
            self._conn.execute("SELECT value FROM people_state WHERE name = 'deletions'")
            .fetchone()[0]
        )  # fmt: skip
        if deletions != self._deletions:
            self._matrices.clear()
            self._last_id = 0
            self._deletions = deletions
        rows = self._conn.execute(
            "SELECT id, environment, descriptor FROM people_faces WHERE id > ? ORDER BY id",
            (self._last_id,),
        ).fetchall()
        by_env: dict[str, tuple[list[int], list[F32]]] = {}
        for face, environment, blob in rows:
            ids, vectors = by_env.setdefault(environment, ([], []))
            ids.append(face)
            vectors.append(_vector(blob))
        for environment, (ids, vectors) in by_env.items():
            self._matrices.setdefault(environment, _Matrix()).add(ids, vectors)
        if rows:
            self._last_id = rows[-1][0]

    def _previous_person(
        self, previous: list[tuple[int, F32]], vector: F32, used: set[int]
    ) -> int | None:
        """Re-analysis: the person of this photo's earlier face nearest the new one."""
        best: tuple[float, int] | None = None
        for person, old in previous:
            distance = float(np.linalg.norm(old - vector))
            closer = best is None or distance < best[0]
            if person not in used and distance <= self.threshold and closer:
                best = (distance, person)
        return best[1] if best else None

    def _nearest_person(
        self, environment: str, matrix: _Matrix, vector: F32, used: set[int]
    ) -> int:
        """The nearest person within the threshold (merging the others within it into them
        when no two names disagree), or a new person."""
        hits = matrix.within(vector, self.threshold)
        if not hits:
            return self._new_person(environment)
        marks = ", ".join("?" for _ in hits)
        person_by_face = dict(
            self._conn.execute(
                f"SELECT id, person FROM people_faces WHERE id IN ({marks})",
                [face for _, face in hits],
            ).fetchall()
        )
        candidates: list[int] = []
        for _, face in hits:
            person = person_by_face.get(face)
            if person is not None and person not in used and person not in candidates:
                candidates.append(person)
        if not candidates:
            return self._new_person(environment)
        nearest, *others = candidates
        for other in others:
            nearest = self._merge_if_names_agree(nearest, other)
        return nearest

    def _merge_if_names_agree(self, a: int, b: int) -> int:
        """Merge person ``b`` into ``a`` (into ``b`` when only ``b`` has a name); two people a
        user named differently stay apart."""
        names = dict(
            self._conn.execute("SELECT id, name FROM people WHERE id IN (?, ?)", (a, b)).fetchall()
        )
        name_a, name_b = names.get(a), names.get(b)
        if name_a and name_b and str(name_a).casefold() != str(name_b).casefold():
            return a
        keep, gone = (b, a) if name_b and not name_a else (a, b)
        self._merge_locked(keep, gone)
        return keep

    def _merge_locked(self, keep: int, gone: int) -> None:
        name = self._conn.execute("SELECT name FROM people WHERE id = ?", (keep,)).fetchone()
        other = self._conn.execute("SELECT name FROM people WHERE id = ?", (gone,)).fetchone()
        self._conn.execute("UPDATE people_faces SET person = ? WHERE person = ?", (keep, gone))
        # ids are never reused (AUTOINCREMENT), so every id merged before keeps pointing at
        # a live person in one step
        self._conn.execute("UPDATE people_merged SET person = ? WHERE person = ?", (keep, gone))
        self._conn.execute(
            "INSERT OR REPLACE INTO people_merged (id, environment, person) "
            "SELECT id, environment, ? FROM people WHERE id = ?",
            (keep, gone),
        )
        self._conn.execute("DELETE FROM people WHERE id = ?", (gone,))
        if name is not None and name[0] is None and other is not None and other[0]:
            self._conn.execute("UPDATE people SET name = ? WHERE id = ?", (other[0], keep))

    def _new_person(self, environment: str) -> int:
        cursor = self._conn.execute("INSERT INTO people (environment) VALUES (?)", (environment,))
        return int(cursor.lastrowid or 0)

    def _insert(self, environment: str, key: str, face: FaceEntry, vector: F32, person: int) -> int:
        cursor = self._conn.execute(
            "INSERT INTO people_faces (environment, key, face, person, descriptor, box, "
            "confidence) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                environment, key, face.index, person, vector.astype("<f4").tobytes(),
                json.dumps(face.box) if face.box else None, face.confidence,
            ),
        )  # fmt: skip
        return int(cursor.lastrowid or 0)

    def _delete_faces(self, ids: Sequence[int]) -> None:
        if not ids:
            return
        self._conn.executemany("DELETE FROM people_faces WHERE id = ?", [(i,) for i in ids])
        self._bump_deletions()

    def _bump_deletions(self) -> None:
        """Tell other processes' matrices to reload; this one's is already current."""
        self._conn.execute("UPDATE people_state SET value = value + 1 WHERE name = 'deletions'")
        if self._deletions >= 0:
            self._deletions += 1

    def _drop_if_empty(self, people: set[int]) -> None:
        """Delete those of ``people`` left without a face."""
        self._conn.executemany(
            "DELETE FROM people WHERE id = ? AND NOT EXISTS "
            "(SELECT 1 FROM people_faces AS f WHERE f.person = people.id)",
            [(person,) for person in people],
        )
        self._conn.executemany(
            "DELETE FROM people_merged WHERE person = ? AND NOT EXISTS "
            "(SELECT 1 FROM people WHERE id = ?)",
            [(person, person) for person in people],
        )

    def _person(
        self, environment: str, number: int, name: str | None, faces: int, photos: int
    ) -> Person:
        cover = self._conn.execute(
            "SELECT key, box FROM people_faces WHERE person = ? "
            "ORDER BY confidence DESC, id LIMIT 1",
            (number,),
        ).fetchone()
        key, box = (cover[0], json.loads(cover[1]) if cover[1] else None) if cover else (None, None)
        return Person(person_id(number), name, int(faces), int(photos), key, box)


def _number(person: Person) -> int:
    number = person_number(person.id)
    assert number is not None  # ids come from person_id()
    return number


def _vector(blob: bytes) -> F32:
    return np.frombuffer(blob, dtype="<f4").astype(np.float32)
