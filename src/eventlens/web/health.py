"""``/healthz`` and the ``eventlens_up`` metrics: whether the store answers, and what the
runners writing to it report (their status files, see ``eventlens.health``)."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from eventlens.health import EVENTS_LOST, RunnerStatus, read_runner_statuses
from eventlens.results.base import ResultStore

PROBE_KEY = ".eventlens/health-probe"  # never an object key (hidden names are skipped)


class HealthProbe:
    def __init__(
        self, store: ResultStore, environments: Sequence[str], status_dir: Path | None = None
    ) -> None:
        self.store = store
        self.environments = list(environments)
        self.status_dir = status_dir

    def store_error(self) -> str | None:
        """None when the store answers a key look-up in every environment (one GetItem on
        DynamoDB, not a page of the index)."""
        try:
            for env in self.environments:
                self.store.get(env, PROBE_KEY)
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"
        return None

    def runners(self) -> list[RunnerStatus]:
        return read_runner_statuses(self.status_dir) if self.status_dir else []

    def report(self) -> tuple[bool, dict[str, Any]]:
        """(healthy, the JSON body): healthy when the store answers and no live runner
        reports a fault or has stopped beating."""
        error = self.store_error()
        runners = self.runners()
        healthy = error is None and all(r.up for r in runners)
        now = time.time()
        return healthy, {
            "status": "ok" if healthy else "degraded",
            "store": error or "ok",
            "runners": [
                {
                    "runner": r.owner, "state": r.state, "faults": r.faults,
                    "notices": r.notices,
                    "last_progress": r.last_progress,
                    "heartbeat_age_s": round(now - r.heartbeat, 1),
                }
                for r in runners
            ],
        }  # fmt: skip


class HealthCollector(Collector):
    """``eventlens_up`` (1: healthy as ``/healthz`` says), and per runner whether it is up,
    when it last finished a batch, when it last beat, and how often it lost filesystem events
    (and reconciled)."""

    def __init__(self, probe: HealthProbe) -> None:
        self.probe = probe

    def collect(self) -> Iterator[Metric]:
        healthy, _ = self.probe.report()
        yield GaugeMetricFamily(
            "eventlens_up", "1 when the store answers and every runner is healthy",
            value=1 if healthy else 0,
        )  # fmt: skip
        up = GaugeMetricFamily(
            "eventlens_runner_up", "1 while a runner reports no fault", labels=["runner"]
        )
        progress = GaugeMetricFamily(
            "eventlens_runner_last_progress_timestamp_seconds",
            "When a runner last finished a batch (Unix time)",
            labels=["runner"],
        )
        beat = GaugeMetricFamily(
            "eventlens_runner_heartbeat_timestamp_seconds",
            "When a runner last wrote its status (Unix time)",
            labels=["runner"],
        )
        lost = CounterMetricFamily(
            "eventlens_runner_events_lost",
            "Times a runner's watcher lost filesystem events (the inotify queue overflowed) "
            "and reconciled",
            labels=["runner"],
        )
        for runner in self.probe.runners():
            up.add_metric([runner.owner], 1 if runner.up else 0)
            if runner.last_progress is not None:
                progress.add_metric([runner.owner], runner.last_progress)
            beat.add_metric([runner.owner], runner.heartbeat)
            events_lost = runner.notices.get(EVENTS_LOST, {}).get("count", 0)
            lost.add_metric([runner.owner], float(events_lost))
        yield up
        yield progress
        yield beat
        yield lost
