"""``eventlens aws backfill``: after an analyzer change on AWS, re-running a prefix through the
function's queue re-analyses its objects (moto's server, real ``eventlens`` processes)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from eventlens.results.dynamodb import DynamoDBResultStore
from tests.images import jpeg
from tests.processes import EVENTLENS

if TYPE_CHECKING:
    from tests.aws_fixtures import Stack

pytest_plugins = ["tests.aws_fixtures"]

BETA = "rekognition-input/beta/"


def eventlens(stack: Stack, *args: str, analyzers: str = "image_properties") -> str:
    environ = dict(
        os.environ, EVENTLENS_ENVIRONMENT="beta", EVENTLENS_RESULTS_TABLE=stack.tables["beta"],
        EVENTLENS_ANALYZERS=analyzers, EVENTLENS_BUCKET=stack.bucket,
    )  # fmt: skip
    done = subprocess.run([EVENTLENS, *args], env=environ, capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def test_backfill_reruns_a_prefix_after_an_analyzer_change(stack: Stack, tmp_path: Path) -> None:
    stack.put_image(BETA + "a.jpg", jpeg((200, 10, 10)))
    stack.put_image(BETA + "trip/b.jpg", jpeg((10, 200, 10)))
    stack.put_image(BETA + "notes.txt", b"not an image")
    stack.put_image("rekognition-input/prod/c.jpg", jpeg((10, 10, 200)))
    worker = ("worker", "--queue", stack.queue_url, "--wait", "1", "--until-empty")
    eventlens(stack, *worker)
    store = DynamoDBResultStore(stack.tables)
    before = {r.filename: r for r in store.iter_all("beta")}
    assert set(before) == {BETA + "a.jpg", BETA + "trip/b.jpg"}
    assert {r.model_version for r in before.values()} == {"image_properties=image-properties/1"}

    out = eventlens(stack, "aws", "backfill", "--queue", stack.queue_url, "--prefix", BETA)
    assert f"queued 2 objects below s3://{stack.bucket}/{BETA}" in out
    eventlens(stack, *worker, analyzers="labels,image_properties")
    after = {r.filename: r for r in store.iter_all("beta")}
    assert set(after) == set(before)
    for key, record in after.items():
        assert record.model_version.startswith("labels="), key
        assert record.model_version.endswith(";image_properties=image-properties/1")
        assert record.timestamp > before[key].timestamp
        assert record.analysis_method != before[key].analysis_method

    # the same configuration again: the function reads the records and analyses nothing
    eventlens(stack, "aws", "backfill", "--queue", stack.queue_url, "--prefix", BETA + "trip/")
    eventlens(stack, *worker, analyzers="labels,image_properties")
    again = {r.filename: r for r in store.iter_all("beta")}
    assert {k: r.timestamp for k, r in again.items()} == {k: r.timestamp for k, r in after.items()}
