"""The duplicates analyzer's port to earlier images' hashes, and the hashes' arithmetic.

The analyzer (``eventlens.analyzers.duplicates``) asks a ``HashIndex``; the results side
implements it next to the records (``eventlens.results.hash_index`` in SQLite,
``eventlens.results.dynamodb_hashes`` in DynamoDB), so neither knows the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class HashEntry:
    key: str
    sha256: str
    phash: int
    dhash: int


@dataclass(frozen=True, slots=True)
class HashMatch:
    key: str
    distance: int  # pHash Hamming distance (0 for exact copies)
    exact: bool


class HashIndex(Protocol):
    """Earlier images' hashes, per environment."""

    def find_exact(self, environment: str, sha256: str, exclude_key: str) -> str | None:
        """The earliest other key with these exact bytes."""
        ...

    def find_similar(
        self, environment: str, phash: int, dhash: int, max_distance: int, exclude_key: str
    ) -> HashMatch | None:
        """The nearest other image (earliest on ties) within ``max_distance`` pHash bits and
        ``2 * max_distance`` dHash bits."""
        ...

    def add(self, environment: str, entry: HashEntry) -> None: ...

    def remove(self, environment: str, key: str) -> None:
        """Forget a key whose object was deleted: it is no longer anyone's original."""
        ...


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def to_hex(value: int) -> str:
    return f"{value:016x}"
