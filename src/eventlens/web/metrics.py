"""Prometheus ``/metrics``: read from the store and the queue at scrape time (no counters to
keep in step with the pipeline, and several dashboards can scrape the same database)."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from eventlens.intake import IntakeQueue
from eventlens.results.base import ResultStore
from eventlens.results.record import Status
from eventlens.results.stats import LATENCY_BOUNDS_MS, Stats


class StoreCollector(Collector):
    def __init__(
        self,
        store: ResultStore,
        environments: Sequence[str],
        queue: IntakeQueue | None,
        *,
        cache_s: float = 0.0,
    ) -> None:
        """``cache_s`` reuses store aggregates for that long: for stores whose ``stats`` is
        the scan-everything fallback, so a 15 s scrape interval does not mean a scan each time.
        """
        self.store = store
        self.environments = list(environments)
        self.queue = queue
        self.cache_s = cache_s
        self._cached: tuple[float, dict[str, Stats]] | None = None

    def totals(self, environment: str) -> tuple[int, int]:
        """(records, errors): exact counts where counting is cheap (``cache_s`` 0), else the
        cached aggregates, so a page view does not scan a DynamoDB table twice."""
        if not self.cache_s:
            return self.store.count(environment), self.store.count(environment, Status.ERROR)
        stats = self._stats().get(environment)
        return (stats.total, stats.errors) if stats else (0, 0)

    def _stats(self) -> dict[str, Stats]:
        now = time.monotonic()
        if self._cached and now - self._cached[0] < self.cache_s:
            return self._cached[1]
        fresh = {env: self.store.stats(env, top=0) for env in self.environments}
        self._cached = (now, fresh)
        return fresh

    def collect(self) -> Iterator[Metric]:
        records = GaugeMetricFamily(
            "eventlens_records", "Records in the results store", labels=["environment", "status"]
        )
        error_rate = GaugeMetricFamily(
            "eventlens_error_ratio", "Share of records with status error", labels=["environment"]
        )
        duration = HistogramMetricFamily(
            "eventlens_processing_duration_seconds",
            "Per-image processing time (duration_ms of stored records)",
            labels=["environment"],
        )
        for env, stats in self._stats().items():
            records.add_metric([env, "ok"], stats.total - stats.errors)
            records.add_metric([env, "error"], stats.errors)
            error_rate.add_metric([env], stats.error_rate)
            buckets = [
                ("+Inf" if math.isinf(bound) else f"{bound / 1000:g}", float(count))
                for bound, count in zip(LATENCY_BOUNDS_MS, stats.latency_cumulative, strict=True)
            ]
            duration.add_metric([env], buckets, stats.latency_sum_ms / 1000)
        yield records
        yield error_rate
        yield duration
        if self.queue is not None:
            yield GaugeMetricFamily(
                "eventlens_dlq_depth", "Dead-lettered events", value=self.queue.dead_count()
            )
            yield GaugeMetricFamily(
                "eventlens_intake_pending", "Events waiting in the intake queue",
                value=self.queue.pending(),
            )  # fmt: skip


def build_registry(collector: StoreCollector) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return registry
