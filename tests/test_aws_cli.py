"""``eventlens upload``, ``worker``, ``validate`` / ``results`` with ``--backend dynamodb``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from typer.testing import CliRunner

from eventlens.analyzers import registry
from eventlens.aws import handler as lambda_handler
from eventlens.aws.worker import to_lambda_records
from eventlens.cli.aws import key_for, parse_metadata
from eventlens.cli.main import app
from eventlens.results.dynamodb import DynamoDBResultStore
from tests.conftest import DominantColourAnalyzer
from tests.images import jpeg

if TYPE_CHECKING:
    from tests.aws_fixtures import Stack

pytest_plugins = ["tests.aws_fixtures"]

BETA = "rekognition-input/beta/"
runner = CliRunner()


@pytest.fixture
def env(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    registry.register("test-colour", lambda settings: DominantColourAnalyzer())
    monkeypatch.setenv("EVENTLENS_ENVIRONMENT", "beta")
    monkeypatch.setenv("EVENTLENS_RESULTS_TABLE", stack.tables["beta"])
    monkeypatch.setenv("EVENTLENS_ANALYZERS", "test-colour")
    monkeypatch.setenv("EVENTLENS_BUCKET", stack.bucket)
    for name in ("GITHUB_HEAD_REF", "GITHUB_REF_NAME"):
        monkeypatch.delenv(name, raising=False)
    lambda_handler.reset()
    yield stack
    lambda_handler.reset()
    registry.FACTORIES.pop("test-colour", None)


def test_upload_with_metadata_reaches_the_record_and_validate_and_get_read_it(
    env: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "shots").mkdir()
    (tmp_path / "shots" / "red cat.jpg").write_bytes(jpeg((230, 10, 10)))
    monkeypatch.setenv("GITHUB_HEAD_REF", "feature/upload")
    result = runner.invoke(
        app,
        ["upload", "--env", "beta", "--metadata", "owner=ana,project=x", "shots/red cat.jpg"],
    )
    assert result.exit_code == 0, result.output
    key = BETA + "shots/red cat.jpg"
    assert result.stdout.splitlines() == [key]
    head = env.s3.head_object(Bucket=env.bucket, Key=key)
    assert head["Metadata"] == {"owner": "ana", "project": "x", "branch": "feature/upload"}

    event = {"Records": to_lambda_records(env.receive(env.queue_url, 1))}
    assert lambda_handler.handler(event, None) == {"batchItemFailures": []}
    record = DynamoDBResultStore(env.tables).get("beta", key)
    assert record is not None and record.branch == "feature/upload"
    assert record.metadata == {"owner": "ana", "project": "x", "branch": "feature/upload"}

    table = env.tables["beta"]
    ok = runner.invoke(
        app,
        ["validate", "--env", "beta", "--backend", "dynamodb", "--table", table, "--json",
         "--timeout", "2", "shots/red cat.jpg"],
    )  # fmt: skip
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["ok"] is True
    missing = runner.invoke(
        app,
        ["validate", "--env", "beta", "--backend", "dynamodb", "--table", table,
         "--timeout", "0.5", "--interval", "0.1", "nope.jpg"],
    )  # fmt: skip
    assert missing.exit_code == 1 and "missing" in missing.output
    got = runner.invoke(
        app, ["results", "get", "--env", "beta", "--backend", "dynamodb", "--table", table,
              "--json", key],
    )  # fmt: skip
    assert got.exit_code == 0, got.output
    shown = json.loads(got.stdout)
    assert shown["filename"] == key and shown["labels"][0]["Name"] == "Red"
    listed = runner.invoke(
        app, ["results", "search", "--env", "beta", "--backend", "dynamodb", "--table", table,
              "--label", "red", "--json"],
    )  # fmt: skip
    assert [r["filename"] for r in json.loads(listed.stdout)] == [key]


def test_upload_json_and_explicit_branch_and_prefix(env: Stack, tmp_path: Path) -> None:
    image = tmp_path / "a.jpg"
    image.write_bytes(jpeg())
    result = runner.invoke(
        app,
        ["upload", "--prefix", "rekognition-input/prod/", "--branch", "main", "--json", str(image)],
    )
    assert result.exit_code == 0, result.output
    (data,) = json.loads(result.stdout)
    assert data["key"] == "rekognition-input/prod/a.jpg" and data["bucket"] == env.bucket
    head = env.s3.head_object(Bucket=env.bucket, Key=data["key"])
    assert head["Metadata"] == {"branch": "main"}


def test_upload_rejects_bad_metadata(env: Stack, tmp_path: Path) -> None:
    image = tmp_path / "a.jpg"
    image.write_bytes(jpeg())
    result = runner.invoke(app, ["upload", "--metadata", "owner", str(image)])
    assert result.exit_code != 0 and "key=value" in result.output


def test_metadata_and_key_helpers() -> None:
    assert parse_metadata(["Owner=ana, project=x", "team=vision"]) == {
        "owner": "ana", "project": "x", "team": "vision"
    }  # fmt: skip
    assert key_for(Path("a/b c.jpg"), "p/") == "p/a/b c.jpg"
    assert key_for(Path("./x.jpg"), "p/") == "p/x.jpg"
    assert key_for(Path("/abs/dir/x.jpg"), "p/") == "p/x.jpg"
    assert key_for(Path("../up/x.jpg"), "p/") == "p/x.jpg"


def test_worker_command_drains_and_stops_on_sigterm(env: Stack, tmp_path: Path) -> None:
    for i in range(3):
        env.put_image(BETA + f"cli/{i}.jpg", jpeg((10, 10, 200)))
    plugin = tmp_path / "sitecustomize.py"  # registers the test analyzer in the subprocess
    plugin.write_text(
        "from eventlens.analyzers import registry\n"
        "from tests.conftest import DominantColourAnalyzer\n"
        "registry.register('test-colour', lambda s: DominantColourAnalyzer())\n"
    )
    root = Path(__file__).resolve().parent.parent
    environ = dict(os.environ, PYTHONPATH=f"{tmp_path}{os.pathsep}{root}")
    command = [sys.executable, "-c", "from eventlens.cli.main import app; app()", "worker",
               "--queue", env.queue_url, "--wait", "1"]  # fmt: skip
    process = subprocess.Popen(
        command, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        store = DynamoDBResultStore(env.tables)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and store.count("beta") < 3:
            time.sleep(0.2)
        assert store.count("beta") == 3
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    stats = json.loads(err.strip().splitlines()[-1])
    assert stats["deleted"] == 3 and stats["left_for_retry"] == 0
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    stored = [x for x in lines if x.get("message") == "outcome" and x["action"] == "stored"]
    assert len(stored) == 3  # Powertools' JSON log lines, as in Lambda
    assert all(x["service"] == "eventlens" and x["correlation_id"] for x in stored)
