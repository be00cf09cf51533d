"""Aggregates over one environment's records: throughput, latency histogram, top labels, errors.

``ResultStore.stats`` computes them; stores with a query engine (SQLite) override it with
aggregate queries, every other store falls back to :func:`stats_from_records` over ``iter_all``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from eventlens.results.record import Record, Status

# upper bounds (milliseconds) of the latency histogram buckets; the last one is +Inf
LATENCY_BOUNDS_MS: tuple[float, ...] = (
    10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, math.inf,
)  # fmt: skip


class Granularity(StrEnum):
    AUTO = "auto"
    MINUTE = "minute"
    HOUR = "hour"
    DAY = "day"

    @property
    def prefix_len(self) -> int:
        """How many characters of an ISO timestamp name the bucket: 2026-11-28T03:18."""
        return {"minute": 16, "hour": 13, "day": 10}[self.value]


def resolve_granularity(
    granularity: Granularity, first: str | None, last: str | None
) -> Granularity:
    """``auto``: minutes for spans up to 2 hours, hours up to 5 days, days beyond (so a chart
    has at most about 120 bars)."""
    granularity = Granularity(granularity)
    if granularity is not Granularity.AUTO:
        return granularity
    if not first or not last:
        return Granularity.HOUR
    span = _parse(last) - _parse(first)
    hours = span.total_seconds() / 3600
    if hours <= 2:
        return Granularity.MINUTE
    return Granularity.HOUR if hours <= 120 else Granularity.DAY


def bucket_starts(first: str, last: str, granularity: Granularity) -> list[str]:
    """Every bucket from ``first``'s to ``last``'s, so gaps in a chart show as gaps."""
    width = granularity.prefix_len
    step = {
        Granularity.MINUTE: timedelta(minutes=1),
        Granularity.HOUR: timedelta(hours=1),
        Granularity.DAY: timedelta(days=1),
    }[granularity]
    pad = {16: ":00Z", 13: ":00:00Z", 10: "T00:00:00Z"}[width]
    moment, end = _parse(first[:width] + pad), _parse(last[:width] + pad)
    starts = []
    while moment <= end:
        starts.append(moment.strftime("%Y-%m-%dT%H:%M:%S")[:width])
        moment += step
    return starts


def _parse(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00"))


@dataclass(frozen=True, slots=True)
class ThroughputBucket:
    start: str  # timestamp prefix, e.g. "2026-11-28T03" for an hour
    ok: int
    error: int

    @property
    def total(self) -> int:
        return self.ok + self.error


@dataclass(slots=True)
class Stats:
    environment: str
    total: int = 0
    errors: int = 0
    first: str | None = None
    last: str | None = None
    granularity: Granularity = Granularity.HOUR
    throughput: list[ThroughputBucket] = field(default_factory=list)
    # cumulative counts per LATENCY_BOUNDS_MS upper bound (Prometheus style: le)
    latency_cumulative: list[int] = field(default_factory=list)
    latency_sum_ms: float = 0.0
    #: the most specific labels (not a parent of another label of the same record), by records
    top_labels: list[tuple[str, int]] = field(default_factory=list)

    @property
    def error_rate(self) -> float:
        return self.errors / self.total if self.total else 0.0

    @property
    def latency_counts(self) -> list[int]:
        """Per-bucket (non-cumulative) counts."""
        previous = 0
        counts = []
        for cumulative in self.latency_cumulative:
            counts.append(cumulative - previous)
            previous = cumulative
        return counts

    def to_dict(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "total": self.total,
            "errors": self.errors,
            "error_rate": round(self.error_rate, 6),
            "first": self.first,
            "last": self.last,
            "granularity": self.granularity.value,
            "throughput": [
                {"start": b.start, "ok": b.ok, "error": b.error, "total": b.total}
                for b in self.throughput
            ],
            "latency_histogram": [
                {"le_ms": "+Inf" if math.isinf(bound) else bound, "count": count}
                for bound, count in zip(LATENCY_BOUNDS_MS, self.latency_counts, strict=True)
            ],
            "latency_sum_ms": round(self.latency_sum_ms, 3),
            "top_labels": [{"name": name, "count": count} for name, count in self.top_labels],
        }


def stats_from_records(
    environment: str,
    records: Iterable[Record],
    *,
    since: str | None = None,
    until: str | None = None,
    granularity: Granularity = Granularity.AUTO,
    top: int = 10,
) -> Stats:
    """The generic (one pass, in memory per bucket) computation any ResultStore can use."""
    selected = [
        r
        for r in records
        if (since is None or r.timestamp >= since) and (until is None or r.timestamp < until)
    ]
    stats = Stats(environment)
    if not selected:
        stats.granularity = resolve_granularity(granularity, None, None)
        stats.latency_cumulative = [0] * len(LATENCY_BOUNDS_MS)
        return stats
    stats.total = len(selected)
    stats.errors = sum(1 for r in selected if r.status is Status.ERROR)
    stats.first = min(r.timestamp for r in selected)
    stats.last = max(r.timestamp for r in selected)
    stats.granularity = resolve_granularity(granularity, stats.first, stats.last)
    width = stats.granularity.prefix_len
    ok: Counter[str] = Counter()
    err: Counter[str] = Counter()
    labels: Counter[str] = Counter()
    for record in selected:
        (err if record.status is Status.ERROR else ok)[record.timestamp[:width]] += 1
        labels.update({name.lower(): 1 for name in record.specific_label_names()}.keys())
    display: dict[str, str] = {}
    for record in selected:
        for name in record.specific_label_names():
            display.setdefault(name.lower(), name)
    stats.throughput = [
        ThroughputBucket(start, ok[start], err[start]) for start in sorted(set(ok) | set(err))
    ]
    durations = [float(r.duration_ms or 0.0) for r in selected]
    stats.latency_cumulative = [
        sum(1 for d in durations if d <= bound) for bound in LATENCY_BOUNDS_MS
    ]
    stats.latency_sum_ms = sum(durations)
    stats.top_labels = [
        (display[name], count)
        for name, count in sorted(labels.items(), key=lambda item: (-item[1], item[0]))[:top]
    ]
    return stats


def merge_stats(parts: list[Stats], environment: str, *, top: int = 10) -> Stats:
    """Several environments' stats as one (their throughput buckets must share a granularity):
    counts and buckets summed, the top labels summed by name."""
    merged = Stats(environment, granularity=parts[0].granularity if parts else Granularity.HOUR)
    buckets: dict[str, list[int]] = {}
    labels: Counter[str] = Counter()
    cumulative = [0] * len(LATENCY_BOUNDS_MS)
    for part in parts:
        merged.total += part.total
        merged.errors += part.errors
        merged.latency_sum_ms += part.latency_sum_ms
        firsts = [t for t in (merged.first, part.first) if t]
        lasts = [t for t in (merged.last, part.last) if t]
        merged.first, merged.last = min(firsts, default=None), max(lasts, default=None)
        for bucket in part.throughput:
            counts = buckets.setdefault(bucket.start, [0, 0])
            counts[0] += bucket.ok
            counts[1] += bucket.error
        for i, count in enumerate(part.latency_cumulative):
            cumulative[i] += count
        labels.update(dict(part.top_labels))
    merged.throughput = [ThroughputBucket(s, ok, err) for s, (ok, err) in sorted(buckets.items())]
    merged.latency_cumulative = cumulative if any(p.latency_cumulative for p in parts) else []
    merged.top_labels = labels.most_common(top)
    return merged
