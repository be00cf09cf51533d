"""The results-store port (after Powertools' idempotency persistence layer: a small record API)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

from eventlens.results.record import Record, Status
from eventlens.results.stats import Granularity, Stats, stats_from_records


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
    include_deleted: bool = False  # records of deleted objects (``deleted_at`` set) too


def table_for(tables: Mapping[str, str], environment: str) -> str:
    """The table of an environment, or a KeyError naming the configured ones."""
    try:
        return tables[environment]
    except KeyError:
        known = ", ".join(sorted(tables))
        raise KeyError(f"unknown environment {environment!r} (configured: {known})") from None


class ResultStore(ABC):
    """One record per (environment, key)."""

    #: Whether ``count`` and an all-time ``stats`` are index look-ups (SQLite) rather than
    #: reads of every record (DynamoDB): dashboards cache them when they are not.
    cheap_aggregates: ClassVar[bool] = False

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

    def live_keys(self, environment: str, *, prefix: str = "") -> Iterator[str]:
        """Keys below ``prefix`` whose records are not marked deleted (stores with a query
        engine read only the keys)."""
        for record in self.iter_all(environment):
            if record.deleted_at is None and record.filename.startswith(prefix):
                yield record.filename

    def delete_many(
        self, environment: str, keys: Sequence[str], *, timestamps: Sequence[str] | None = None
    ) -> int:
        """Delete ``keys``; with ``timestamps`` (one per key) only rows whose timestamp still
        equals it, so a record rewritten meanwhile stays. Returns how many rows went. Stores
        that can should make this one transaction (SQLite does); this fallback goes one by one.
        """
        deleted = 0
        for i, key in enumerate(keys):
            if timestamps is not None:
                live = self.get(environment, key)
                if live is None or live.timestamp != timestamps[i]:
                    continue
            deleted += self.delete(environment, key)
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
        """Aggregates for dashboards. This generic fallback reads every record once;
        stores with a query engine override it with aggregate queries."""
        return stats_from_records(
            environment, self.iter_all(environment),
            since=since, until=until, granularity=granularity, top=top,
        )  # fmt: skip

    def close(self) -> None:  # noqa: B027 - stores without resources need nothing
        """Release connections."""

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
