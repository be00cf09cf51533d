"""``eventlens worker`` on an SQS queue (moto server over HTTP), killed with -9 mid-backlog."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from PIL import Image

from eventlens.results.dynamodb import DynamoDBResultStore
from eventlens.results.record import Status
from tests.images import encode

if TYPE_CHECKING:
    from tests.aws_fixtures import Stack

pytest_plugins = ["tests.aws_fixtures"]

BETA = "rekognition-input/beta/"
IMAGES = 200


def worker(stack: Stack, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    environ = dict(
        os.environ,
        EVENTLENS_ENVIRONMENT="beta",
        EVENTLENS_RESULTS_TABLE=stack.tables["beta"],
        EVENTLENS_ANALYZER="bundled",
        EVENTLENS_BUCKET=stack.bucket,
        PYTHONUNBUFFERED="1",
    )
    with log.open("ab") as out:
        return subprocess.Popen(
            [str(Path(sys.executable).with_name("eventlens")), "worker", "--queue",
             stack.queue_url, "--wait", "1", *extra],
            env=environ, stdout=out, stderr=subprocess.DEVNULL,
        )  # fmt: skip


def stored_keys(log: Path) -> Counter[str]:
    counts: Counter[str] = Counter()
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # a line cut short by kill -9
        if isinstance(entry, dict) and entry.get("action") == "stored":
            counts[str(entry["key"])] += 1
    return counts


@pytest.mark.slow
def test_worker_killed_twice_loses_nothing_and_stores_nothing_twice(
    stack: Stack, tmp_path: Path
) -> None:
    rng = np.random.default_rng(3)
    for i in range(IMAGES):
        pixels = rng.integers(0, 256, size=(6, 8, 3), dtype=np.uint8)
        image = Image.fromarray(pixels).resize((96, 72), Image.Resampling.BILINEAR)
        stack.put_image(f"{BETA}crash/{i:03d}.jpg", encode(image, "JPEG"))
    store = DynamoDBResultStore(stack.tables)
    log = tmp_path / "worker.jsonl"
    for threshold in (30, 100):
        process = worker(stack, log)
        try:
            deadline = time.monotonic() + 180
            while store.count("beta") < threshold and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(10)
        assert threshold <= store.count("beta") < IMAGES, "the kill came too late"
    time.sleep(1.5)  # the queue's visibility timeout (1 s) returns in-flight messages
    final = worker(stack, log, "--until-empty")
    assert final.wait(300) == 0
    records = list(store.iter_all("beta"))
    assert len(records) == IMAGES
    assert Counter(r.status for r in records) == {Status.OK: IMAGES}
    stored = stored_keys(log)
    assert max(stored.values()) == 1, [k for k, n in stored.items() if n > 1]
    assert len(stored) >= IMAGES - 2  # a record written just before a kill has no log line
    assert stack.receive(stack.dlq_url, 1, timeout_s=1) == []
