from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from eventlens.analyzers.base import Findings
from eventlens.db import Checkpointer
from eventlens.imaging import ImageInput
from eventlens.intake import IntakeQueue
from eventlens.pipeline import Pipeline
from eventlens.results.record import Record
from eventlens.results.sqlite import SQLiteResultStore
from eventlens.routing import Router
from eventlens.runner import LocalRunner
from eventlens.storage.local import LocalFolderStore
from tests.conftest import DominantColourAnalyzer
from tests.images import encode, jpeg, photo_like, write
from tests.polling import wait_until

BETA = "rekognition-input/beta/"
PROD = "rekognition-input/prod/"


@pytest.fixture(params=[1, 2], ids=["one-lane", "two-lanes"])
def runner(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    bucket: LocalFolderStore,
    results: SQLiteResultStore,
    analyzer: DominantColourAnalyzer,
) -> Iterator[LocalRunner]:
    queue = IntakeQueue(tmp_path / "results.db")
    pipeline = Pipeline(bucket, results, {"*": [analyzer]}, router=Router())
    yield LocalRunner(
        pipeline, queue, bucket, Router(), batch_size=4, settle_s=0.3, lanes=request.param
    )
    queue.close()


def test_once_processes_the_backlog_and_a_second_run_does_nothing(
    runner: LocalRunner,
    bucket: LocalFolderStore,
    results: SQLiteResultStore,
    analyzer: DominantColourAnalyzer,
) -> None:
    for i in range(10):
        write(bucket.root / BETA / f"img{i}.jpg", jpeg((i * 20, 100, 50)))
    write(bucket.root / PROD / "p.png", encode(photo_like(50, 40), "PNG"))
    write(bucket.root / BETA / "broken.jpg", b"\xff\xd8\xff garbage")
    write(bucket.root / BETA / "readme.txt", b"hello")
    write(bucket.root / "other" / "ignored.jpg", jpeg())
    assert runner.reconcile() == 12  # images under the prefixes; not the .txt, not outside
    stats = runner.drain()
    assert stats.counts == {"stored": 11, "failed": 1}
    assert results.count("beta") == 11 and results.count("prod") == 1
    assert analyzer.calls == 12
    assert runner.reconcile() == 0  # every file has a record for its current version
    assert runner.drain().counts == {}
    assert analyzer.calls == 12


def test_reconcile_picks_up_files_changed_while_the_runner_was_down(
    runner: LocalRunner, bucket: LocalFolderStore, results: SQLiteResultStore
) -> None:
    write(bucket.root / BETA / "a.jpg", jpeg((250, 0, 0)))
    runner.reconcile()
    runner.drain()
    time.sleep(0.01)
    write(bucket.root / BETA / "a.jpg", jpeg((0, 0, 250)))
    assert runner.reconcile() == 1
    runner.drain()
    record = results.get("beta", BETA + "a.jpg")
    assert record is not None and record.labels[0]["Name"] == "Blue"


def test_watch_processes_new_files_once_they_are_completely_written(
    runner: LocalRunner,
    bucket: LocalFolderStore,
    results: SQLiteResultStore,
    analyzer: DominantColourAnalyzer,
) -> None:
    write(bucket.root / BETA / "before.jpg", jpeg())  # present at start: reconciled
    stop = threading.Event()
    seen: list[str] = []
    thread = threading.Thread(
        target=runner.watch, args=(stop,), kwargs={"progress": lambda o: seen.append(o.event.key)}
    )
    thread.start()
    try:
        wait_until(lambda: results.get("beta", BETA + "before.jpg") is not None)
        # a slow writer: the file is only complete after several chunks
        data = encode(photo_like(300, 200, seed=3), "JPEG")
        path = bucket.root / BETA / "slow.jpg"
        with path.open("wb") as handle:
            for start in range(0, len(data), 2000):
                handle.write(data[start : start + 2000])
                handle.flush()
                time.sleep(0.02)
        # an atomic rename into the folder, and a prod file in a new sub-folder
        bucket.write(BETA + "renamed.jpg", jpeg((0, 200, 0)))
        write(bucket.root / PROD / "new" / "deep.jpg", jpeg((0, 0, 200)))
        wait_until(
            lambda: all(
                results.get(env, key) is not None
                for env, key in [
                    ("beta", BETA + "slow.jpg"),
                    ("beta", BETA + "renamed.jpg"),
                    ("prod", PROD + "new/deep.jpg"),
                ]
            )
        )
    finally:
        stop.set()
        runner.stop_waiting()
        thread.join(10)
    slow: Record | None = results.get("beta", BETA + "slow.jpg")
    assert slow is not None and slow.ok
    assert slow.size == len(data) and (slow.width, slow.height) == (300, 200)
    assert seen.count(BETA + "slow.jpg") >= 1
    assert not thread.is_alive()


def test_watch_checkpoints_the_database_in_its_main_loop_not_in_the_lanes_commits(
    tmp_path: Path,
    bucket: LocalFolderStore,
    results: SQLiteResultStore,
    analyzer: DominantColourAnalyzer,
) -> None:
    db = tmp_path / "results.db"
    queue = IntakeQueue(db)
    checkpointer = Checkpointer(db, every_s=0.2)
    copied: list[int] = []  # the log's pages at each of the main loop's checkpoints
    pipeline = Pipeline(bucket, results, {"*": [analyzer]}, router=Router())
    runner = LocalRunner(
        pipeline, queue, bucket, Router(), lanes=2, checkpoint=lambda: copied.append(checkpointer())
    )
    stop = threading.Event()
    thread = threading.Thread(target=runner.watch, args=(stop,))
    thread.start()
    try:
        for i in range(5):
            write(bucket.root / BETA / f"img{i}.jpg", jpeg((i * 40, 100, 50)))
        wait_until(lambda: results.count("beta") == 5)
        seen = len(copied)
        wait_until(lambda: len(copied) > seen)  # a checkpoint after the last record
    finally:
        stop.set()
        runner.stop_waiting()
        thread.join(10)
    assert any(pages > 0 for pages in copied)  # it copied the commits of the lanes and intake
    checkpointer.close()
    queue.close()


class BatchSizes(DominantColourAnalyzer):
    """Remembers how many images each call was given: a lane's claimed batch."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[int] = []

    def analyze_batch(self, images: Sequence[ImageInput]) -> list[Findings | Exception]:
        self.batches.append(len(images))
        return super().analyze_batch(images)


def test_a_watcher_claims_one_image_at_a_time_and_a_drain_whole_batches(
    tmp_path: Path, bucket: LocalFolderStore, results: SQLiteResultStore
) -> None:
    """While watching, each record is written as its image is done (``watch_batch_size``):
    eight files queued at once are eight batches; draining (``run --once``) takes
    ``batch_size`` at a time."""
    for i in range(8):
        write(bucket.root / BETA / f"drained{i}.jpg", jpeg((i * 30, 100, 50)))
    analyzer = BatchSizes()
    queue = IntakeQueue(tmp_path / "results.db")
    pipeline = Pipeline(bucket, results, {"*": [analyzer]}, router=Router())
    runner = LocalRunner(pipeline, queue, bucket, Router(), batch_size=4, lanes=1)
    assert runner.watch_batch_size == 1  # the default
    runner.reconcile()
    assert runner.drain().counts == {"stored": 8}
    assert analyzer.batches == [4, 4]
    analyzer.batches.clear()
    for i in range(8):  # present when the watcher starts: queued at once by its reconcile
        write(bucket.root / BETA / f"watched{i}.jpg", jpeg((100, i * 30, 50)))
    stop = threading.Event()
    thread = threading.Thread(target=runner.watch, args=(stop,))
    thread.start()
    try:
        wait_until(lambda: results.count("beta") == 16)
    finally:
        stop.set()
        runner.stop_waiting()
        thread.join(10)
    assert analyzer.batches == [1] * 8
    queue.close()
