"""The results-store port (after Powertools' idempotency persistence layer: a small record API)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass

from eventlens.results.record import Record, Status


@dataclass(frozen=True, slots=True)
class Query:
    environment: str
    label: str | None = None
    status: Status | None = None
    since: str | None = None  # ISO-8601 timestamp, inclusive
    until: str | None = None  # ISO-8601 timestamp, exclusive
    prefix: str | None = None  # key prefix
    limit: int = 100
    #: (kind, value) pairs that must all match the record's findings (``finding_terms``):
    #: ("text", "word"), ("faces", "*"), ("moderation", "Suggestive"), ("duplicate", "*");
    #: value "*" matches any value of that kind.
    findings: tuple[tuple[str, str], ...] = ()


class ResultStore(ABC):
    """One record per (environment, key)."""

    @abstractmethod
    def get(self, environment: str, key: str) -> Record | None: ...

    @abstractmethod
    def put(self, record: Record) -> bool:
        """Write ``record`` unless the stored one comes from a newer object version
        (larger sequencer). Returns False when the write was refused as out of order."""

    @abstractmethod
    def delete(self, environment: str, key: str) -> bool: ...

    @abstractmethod
    def query(self, query: Query) -> list[Record]:
        """Newest first."""

    @abstractmethod
    def iter_all(self, environment: str) -> Iterator[Record]: ...

    @abstractmethod
    def count(self, environment: str, status: Status | None = None) -> int: ...

    def close(self) -> None:  # noqa: B027 - stores without resources need nothing
        """Release connections."""

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
