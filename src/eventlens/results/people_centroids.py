"""What a warm Lambda keeps of an environment's people between photos: each live person's
mean descriptor and up to ``REPRESENTATIVES`` of their faces, in numpy arrays, so that finding
the people near a new face is one vectorised comparison and no read of every face.

A face is near a person when it is within the threshold of their mean or of one of their
representatives (a person whose photos vary keeps matching through the face closest to the
new one, as single-linkage over all faces would, at a bounded cost).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

DIMENSIONS = 128
REPRESENTATIVES = 3
_SLOTS = 1 + REPRESENTATIVES  # the mean, then the representatives
F32 = np.ndarray[Any, np.dtype[np.float32]]


@dataclass(slots=True)
class PersonVectors:
    """One person's matching state, as stored in their person item."""

    number: int
    total: F32  # the sum of their faces' descriptors
    faces: int
    reps: dict[str, F32] = field(default_factory=dict)  # "<key>#<face>" → descriptor

    def mean(self) -> F32:
        return (self.total / max(self.faces, 1)).astype(np.float32)


class Centroids:
    """Rows addressed by person number, each the mean and up to ``REPRESENTATIVES`` faces (with
    their squared norms, so that a look-up is one matrix-vector product); a row is dropped
    when the person is merged away or left without faces."""

    def __init__(self) -> None:
        self.numbers = np.zeros(0, np.int64)
        self.vectors = np.zeros((0, _SLOTS, DIMENSIONS), np.float32)
        self.squares = np.full((0, _SLOTS), np.inf, np.float32)  # inf: an empty slot
        self.alive = np.zeros(0, bool)
        self.row: dict[int, int] = {}
        self.used = 0

    def __len__(self) -> int:
        return len(self.row)

    def put(self, person: PersonVectors) -> None:
        at = self.row.get(person.number)
        if at is None:
            at = self._grow()
            self.row[person.number] = at
            self.numbers[at] = person.number
        slots = [person.mean(), *list(person.reps.values())[:REPRESENTATIVES]]
        self.vectors[at] = 0.0
        self.squares[at] = np.inf
        for i, vector in enumerate(slots):
            self.vectors[at, i] = vector
            self.squares[at, i] = float(np.dot(vector, vector))
        self.alive[at] = person.faces > 0

    def drop(self, number: int) -> None:
        at = self.row.pop(number, None)
        if at is not None:
            self.alive[at] = False

    def within(self, vector: F32, threshold: float) -> list[tuple[float, int]]:
        """(distance, person number) of every live person within ``threshold``, nearest
        first; a person's distance is that of their mean or nearest representative."""
        if not self.used:
            return []
        vector = np.asarray(vector, np.float32)
        flat = self.vectors[: self.used].reshape(-1, DIMENSIONS)
        squared = self.squares[: self.used].ravel() + np.dot(vector, vector) - 2 * (flat @ vector)
        nearest = squared.reshape(self.used, _SLOTS).min(axis=1)
        hits = np.flatnonzero((nearest <= threshold * threshold) & self.alive[: self.used])
        order = hits[np.argsort(nearest[hits], kind="stable")]
        return [(float(np.sqrt(max(nearest[i], 0.0))), int(self.numbers[i])) for i in order]

    def _grow(self) -> int:
        if self.used == len(self.numbers):
            extra = max(1024, len(self.numbers))
            self.numbers = np.concatenate([self.numbers, np.zeros(extra, np.int64)])
            self.vectors = np.concatenate(
                [self.vectors, np.zeros((extra, _SLOTS, DIMENSIONS), np.float32)]
            )
            self.squares = np.concatenate(
                [self.squares, np.full((extra, _SLOTS), np.inf, np.float32)]
            )
            self.alive = np.concatenate([self.alive, np.zeros(extra, bool)])
        self.used += 1
        return self.used - 1
