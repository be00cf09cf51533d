"""Measure the dashboard's store aggregates, API latency and archive throughput.

    .venv/bin/python bench/bench_web.py [--records 100000]

Synthetic records (5 labels each, 1 in 20 failed, spread over 30 days) in a temporary SQLite
file; prints one line per figure. Nothing listens on the network (TestClient in-process).
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from eventlens.archive import FolderTarget, archive, restore
from eventlens.results.record import Record, Status
from eventlens.results.sqlite import SQLiteResultStore
from eventlens.results.stats import Granularity, stats_from_records

NAMES = [
    "Dog",
    "Cat",
    "Car",
    "Tree",
    "Person",
    "Sky",
    "Cup",
    "Building",
    "Food",
    "Beach",
    "Bird",
    "Flower",
    "Road",
    "Boat",
    "Phone",
    "Book",
    "Chair",
    "Horse",
    "Cloud",
    "Sign",
]


def make(n: int, now: datetime) -> list[Record]:
    rng = random.Random(7)
    out = []
    for i in range(n):
        failed = i % 20 == 0
        out.append(
            Record(
                filename=f"rekognition-input/beta/{i:07d}.jpg",
                environment="beta",
                labels=[]
                if failed
                else [
                    {
                        "Name": name,
                        "Confidence": round(rng.uniform(55, 99), 3),
                        "Parents": [],
                        "Instances": [],
                    }
                    for name in rng.sample(NAMES, 5)
                ],
                timestamp=(now - timedelta(seconds=rng.uniform(0, 30 * 86400))).strftime(
                    "%Y-%m-%dT%H:%M:%S.%fZ"
                ),
                duration_ms=rng.lognormvariate(4, 0.8),
                sha256=f"{i:064x}",
                size=200_000,
                width=1024,
                height=768,
                status=Status.ERROR if failed else Status.OK,
                error="corrupt" if failed else None,
            )
        )
    return out


def timed(fn: Callable[[], object], repeat: int = 5) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    args = parser.parse_args()
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteResultStore(Path(tmp) / "b.db", {"beta": "beta_results"})
        records = make(args.records, now)
        start = time.perf_counter()
        for i in range(0, len(records), 1000):
            store.put_many(records[i : i + 1000])
        print(f"seed: {args.records} records in {time.perf_counter() - start:.1f} s")

        sql = timed(lambda: store.stats("beta", granularity=Granularity.HOUR))
        generic = timed(
            lambda: stats_from_records(
                "beta", store.iter_all("beta"), granularity=Granularity.HOUR
            ),
            repeat=2,
        )
        print(f"stats (SQLite aggregate queries): {sql:.0f} ms median")
        print(f"stats (generic fallback over iter_all): {generic:.0f} ms median")

        from fastapi.testclient import TestClient

        from eventlens.web import create_app

        client = TestClient(create_app(store, environments=["beta"]))
        for path in (
            "/api/records?env=beta&limit=100",
            "/api/records?env=beta&label=Dog&limit=60",
            "/?env=beta&label=Dog",
            "/charts?env=beta",
            "/api/stats?env=beta",
            "/metrics",
        ):
            assert client.get(path).status_code == 200
            print(f"GET {path}: {timed(lambda p=path: client.get(p)):.0f} ms median")

        cutoff = now - timedelta(days=20)
        old = sum(1 for r in records if r.timestamp < cutoff.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
        target = FolderTarget(Path(tmp) / "archive")
        start = time.perf_counter()
        report = archive(store, "beta", cutoff, target, batch_size=2000)
        took = time.perf_counter() - start
        assert report.deleted == old
        size = sum(p.stat().st_size for p in (Path(tmp) / "archive").rglob("*.parquet"))
        print(
            f"archive: {report.archived} records, {len(report.files)} files, "
            f"{size / 1e6:.1f} MB, {took:.1f} s ({report.archived / took:.0f} records/s)"
        )
        start = time.perf_counter()
        result = restore(store, "beta", target)
        took = time.perf_counter() - start
        print(
            f"restore: {result.restored} records in {took:.1f} s "
            f"({result.restored / took:.0f} records/s)"
        )
        store.close()


if __name__ == "__main__":
    main()
