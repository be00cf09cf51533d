"""The results-store port (after Powertools' idempotency persistence layer: a small record API)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import ClassVar

from eventlens.results.finding_terms import matches
from eventlens.results.record import Record, Status
from eventlens.results.stats import Granularity, Stats, stats_from_records


class Order(StrEnum):
    """How listings are sorted, newest first (ties: the larger key first)."""

    PROCESSED = "processed"  # the record's timestamp
    CAPTURED = "captured"  # captured_at; records without one come last


@dataclass(frozen=True, slots=True)
class Cursor:
    """A position in a listing: the sort value and key of the last record seen."""

    value: str
    filename: str


def sort_value(record: Record, order: Order) -> str:
    """What ``order`` sorts by ("" for a record without a capture time)."""
    return record.timestamp if order is Order.PROCESSED else record.captured_at or ""


def position(record: Record, order: Order) -> Cursor:
    return Cursor(sort_value(record, order), record.filename)


def is_past(record: Record, cursor: Cursor, order: Order, *, ascending: bool = False) -> bool:
    """Whether ``record`` comes after ``cursor`` in the listing's direction."""
    here = (sort_value(record, order), record.filename)
    there = (cursor.value, cursor.filename)
    return here > there if ascending else here < there


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
    order: Order = Order.PROCESSED
    #: only records after this position (the last record of the previous page)
    after: Cursor | None = None
    #: oldest first: paging backwards from ``after``
    ascending: bool = False
    captured_since: str | None = None  # capture-time window: inclusive, on the local time
    captured_until: str | None = None  # exclusive
    no_labels: bool = False  # only records without labels

    def accepts(self, record: Record) -> bool:
        """The filters as a predicate on one record (for stores that filter in Python); labels
        and findings compare case-insensitively, as SQLite's indexes do."""
        label = self.label.casefold() if self.label else None
        captured = record.captured_at
        return (
            (label is None or any(n.casefold() == label for n in record.label_names()))
            and (self.status is None or record.status is Status(self.status))
            and (self.since is None or record.timestamp >= self.since)
            and (self.until is None or record.timestamp < self.until)
            and (self.prefix is None or record.filename.startswith(self.prefix))
            and (self.captured_since is None or (captured or "") >= self.captured_since)
            and (self.captured_until is None or (captured or "~") < self.captured_until)
            and (not self.no_labels or not record.labels)
            and (self.include_deleted or record.deleted_at is None)
            and (self.after is None or is_past(record, self.after, self.order,
                                               ascending=self.ascending))
            and matches(record, self.findings)
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class LabelSummary:
    """One label of an environment: on how many records, as their most specific label on how
    many (0: only ever a parent, such as "Animal"), and the newest record that has it."""

    name: str
    records: int
    specific: int
    cover: str | None = None  # a key


def summarise_labels(records: Iterable[Record]) -> list[LabelSummary]:
    """The generic (one pass over every record) label summary, most records first."""
    counts: dict[str, list[int]] = {}
    names: dict[str, str] = {}
    covers: dict[str, tuple[str, str]] = {}
    for record in records:
        specific = {n.casefold() for n in record.specific_label_names()}
        spellings = {name.casefold(): name for name in reversed(record.label_names())}
        for folded, name in spellings.items():
            names.setdefault(folded, name)
            count = counts.setdefault(folded, [0, 0])
            count[0] += 1
            count[1] += folded in specific
            if folded not in covers or covers[folded] < (record.timestamp, record.filename):
                covers[folded] = (record.timestamp, record.filename)
    return sorted(
        (LabelSummary(names[k], n, s, covers[k][1]) for k, (n, s) in counts.items()),
        key=lambda summary: (-summary.records, summary.name.casefold()),
    )


def table_for(tables: Mapping[str, str], environment: str) -> str:
    """The table of an environment, or a KeyError naming the configured ones."""
    try:
        return tables[environment]
    except KeyError:
        known = ", ".join(sorted(tables))
        raise KeyError(f"unknown environment {environment!r} (configured: {known})") from None


class ResultStore(ABC):
    """One record per (environment, key)."""

    #: environment → table name; each store sets its own
    tables: Mapping[str, str] = MappingProxyType({})

    #: Whether ``count`` and an all-time ``stats`` are index look-ups (SQLite) rather than
    #: reads of every record (DynamoDB): dashboards cache them when they are not.
    cheap_aggregates: ClassVar[bool] = False

    @abstractmethod
    def get(self, environment: str, key: str) -> Record | None: ...

    @abstractmethod
    def put(self, record: Record) -> bool:
        """Write ``record`` unless the stored one comes from a newer object version
        (larger sequencer). Returns False when the write was refused as out of order."""

    def put_many(self, records: list[Record]) -> list[bool]:
        """``put`` each record, in order; stores that can write them in one transaction
        (SQLite) override this."""
        return [self.put(record) for record in records]

    @property
    def environments(self) -> tuple[str, ...]:
        """The environments this store keeps records of."""
        return tuple(self.tables)

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

    def count_matching(self, query: Query) -> int | None:
        """How many records match ``query``'s filters (its cursor and limit aside), or None
        where that would mean reading every record (the default)."""
        return None

    def label_summary(self, environment: str, *, covers: bool = True) -> list[LabelSummary]:
        """Every label of the environment, most records first; ``covers``: with the newest
        record of each (else ``cover`` may be None). This fallback reads every record; stores
        that keep label counts override it."""
        return summarise_labels(self.iter_all(environment))

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

    def connect(self) -> None:  # noqa: B027 - stores without connections need nothing
        """Make the connection now rather than on the first read or write (a Lambda init
        phase does it ahead of the first event)."""

    def close(self) -> None:  # noqa: B027 - stores without resources need nothing
        """Release connections."""

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
