from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from eventlens.analyzers.base import Analyzer, Findings
from eventlens.imaging import ImageInput
from eventlens.pipeline import Pipeline
from eventlens.results.sqlite import SQLiteResultStore
from eventlens.routing import DEFAULT_ROUTES, Router
from eventlens.storage.local import LocalFolderStore
from tests.seed import Seeded, seed


class DominantColourAnalyzer(Analyzer):
    """A fast, real analyzer for pipeline tests: labels an image by its dominant channel."""

    name = "labels"
    method = "test-dominant-colour"

    def __init__(self, version: str = "1") -> None:
        self.version = version
        self.calls = 0
        self._calls_lock = threading.Lock()

    @property
    def model_version(self) -> str:
        return f"dominant-colour/{self.version}"

    def analyze(self, image: ImageInput) -> Findings:
        with self._calls_lock:  # the runner may analyse batches in parallel lanes
            self.calls += 1
        pixels = np.asarray(image.decode(min_short_side=32).image, dtype=np.float32)
        means = pixels.reshape(-1, 3).mean(axis=0)
        names = ("Red", "Green", "Blue")
        share = means / max(1e-6, float(means.sum()))
        labels = [
            {"Name": names[i], "Confidence": round(float(share[i]) * 100, 3), "Parents": [],
             "Instances": []}
            for i in np.argsort(-share)
        ]  # fmt: skip
        return {"Labels": labels, "LabelModelVersion": self.model_version}


@pytest.fixture
def bucket(tmp_path: Path) -> LocalFolderStore:
    return LocalFolderStore(tmp_path / "bucket")


@pytest.fixture
def results(tmp_path: Path) -> Iterator[SQLiteResultStore]:
    store = SQLiteResultStore(
        tmp_path / "results.db", {r.environment: r.table for r in DEFAULT_ROUTES}
    )
    yield store
    store.close()


@pytest.fixture
def analyzer() -> DominantColourAnalyzer:
    return DominantColourAnalyzer()


@pytest.fixture
def pipeline(
    bucket: LocalFolderStore, results: SQLiteResultStore, analyzer: DominantColourAnalyzer
) -> Pipeline:
    return Pipeline(bucket, results, {"*": [analyzer]}, router=Router())


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[Seeded]:
    """A bucket of real images with records, findings and a dead letter (see tests/seed.py)."""
    s = seed(tmp_path)
    yield s
    s.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files with the most slow tests first, then the files with the most tests (xdist's own
    order, which scripts/test turns off for this one): the workers take whole files in this
    order, and a long file (the Terraform apply, ~9 min) started last would finish alone."""

    def file_of(item: pytest.Item) -> str:
        return item.nodeid.split("::", 1)[0]

    slow: dict[str, int] = {}
    count: dict[str, int] = {}
    for item in items:
        count[file_of(item)] = count.get(file_of(item), 0) + 1
        slow[file_of(item)] = slow.get(file_of(item), 0) + bool(item.get_closest_marker("slow"))
    first_seen = {path: n for n, path in enumerate(count)}
    items.sort(
        key=lambda item: (-slow[file_of(item)], -count[file_of(item)], first_seen[file_of(item)])
    )
