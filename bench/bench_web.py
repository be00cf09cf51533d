"""Measure the dashboard's store aggregates, API latency and archive throughput.

    .venv/bin/python bench/bench_web.py [--records 100000]

Synthetic records (one or two of the bundled model's 1,000 ImageNet classes with their WordNet
parents, as it labels a photo, and a box; capture times over 3 years; 1 in 20 failed, spread
over 30 days) in a temporary SQLite file; prints one line per
figure, the median of 9 requests, and the machine's load. Nothing listens on the network
(TestClient in-process). The dashboard targets: /labels and a record page <= 50 ms at 100,000
records.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from urllib.parse import quote

from eventlens.archive import FolderTarget, archive, restore
from eventlens.results.record import Record, Status
from eventlens.results.sqlite import SQLiteResultStore
from eventlens.results.stats import Granularity, stats_from_records

#: the bundled label model's own taxonomy: 1,000 ImageNet classes under their WordNet parents
TAXONOMY = json.loads(
    (resources.files("eventlens") / "data" / "imagenet_taxonomy.json").read_text()
)["classes"]


def labels_for(rng: random.Random) -> list[dict[str, object]]:
    """One or two classes with their parents, as the bundled model writes them."""
    out: dict[str, dict[str, object]] = {}
    for cls in rng.sample(TAXONOMY, rng.choice((1, 2))):
        chain = [cls["name"], *cls["parents"]]
        for depth, name in enumerate(chain):
            out.setdefault(name, {
                "Name": name, "Confidence": round(rng.uniform(55, 99) - depth, 3),
                "Parents": [{"Name": p} for p in chain[depth + 1:]],
                "Instances": [] if depth else [{"BoundingBox": {"Left": 0.1, "Top": 0.1,
                              "Width": 0.5, "Height": 0.6}, "Confidence": 90.0}],
            })  # fmt: skip
    return sorted(out.values(), key=lambda label: -float(str(label["Confidence"])))


def make(n: int, now: datetime) -> list[Record]:
    rng = random.Random(7)
    out = []
    for i in range(n):
        failed = i % 20 == 0
        taken = now - timedelta(days=rng.uniform(0, 3 * 365))
        out.append(
            Record(
                filename=f"rekognition-input/beta/{i:07d}.jpg",
                environment="beta",
                labels=[] if failed else labels_for(rng),
                timestamp=(now - timedelta(seconds=rng.uniform(0, 30 * 86400))).strftime(
                    "%Y-%m-%dT%H:%M:%S.%fZ"
                ),
                captured_at=None if failed else taken.strftime("%Y-%m-%dT%H:%M:%S"),
                duration_ms=rng.lognormvariate(4, 0.8),
                sha256=f"{i:064x}",
                size=200_000,
                width=1024,
                height=768,
                status=Status.ERROR if failed else Status.OK,
                error="corrupt" if failed else None,
                findings={} if failed else {
                    "faces": {"FaceDetails": [{"BoundingBox": {"Left": 0.3, "Top": 0.2,
                              "Width": 0.1, "Height": 0.15}, "Confidence": 99.0}]}
                } if i % 7 == 0 else {},
            )
        )  # fmt: skip
    return out


def timed(fn: Callable[[], object], repeat: int = 9) -> float:
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
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
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
        from eventlens.web.images import LocalImageSource

        app = create_app(store, None, LocalImageSource(tmp), environments=["beta"])
        client = TestClient(app)
        sample = records[12_345 % len(records)]
        record_page = f"/records/beta/{quote(sample.filename)}"
        second_page = client.get("/api/records?env=beta&limit=60").json()["next"]
        for path in (
            "/api/records?env=beta&limit=100",
            "/api/records?env=beta&label=Dog&limit=60",
            "/?env=beta&label=Dog",
            f"/?env=beta&after={second_page}",
            "/?env=beta&order=captured&group=month",
            "/?env=beta&has=faces&taken_since=2025",
            "/labels?env=beta",
            "/api/labels?env=beta",
            record_page,
            record_page + "?from=" + quote("env=beta&label=Dog"),
            "/charts?env=beta",
            "/api/stats?env=beta",
            "/metrics",
        ):
            assert client.get(path).status_code == 200, path
            print(f"GET {path}: {timed(lambda p=path: client.get(p)):.1f} ms median")

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
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
