"""A truly deployed handler: the Lambda zip runs inside ministack (S3 → Lambda → DynamoDB, SNS).

ministack pins ``botocore==1.43.106``, which conflicts with the dev environment's boto3, so it
lives in its own virtualenv: ``python3 -m venv /tmp/ministack && /tmp/ministack/bin/pip install
ministack boto3`` and point ``EVENTLENS_MINISTACK`` at ``/tmp/ministack/bin/ministack`` (or put
``ministack`` on PATH). Rekognition is not emulated by ministack, so the function reaches the
session's moto server through ``AWS_ENDPOINT_URL_REKOGNITION``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from eventlens.aws.package import build_package
from tests.images import jpeg

pytest_plugins = ["tests.aws_fixtures"]
pytestmark = pytest.mark.slow

BETA = "rekognition-input/beta/"


@dataclass(frozen=True)
class Ministack:
    endpoint: str
    runtime: str  # the Lambda runtime matching the python ministack runs handlers with


def _ministack() -> tuple[str, str] | None:
    """(ministack executable, the python it runs Lambda handlers with)."""
    local = Path(__file__).resolve().parent.parent / ".cache/tools/ministack/bin/ministack"
    exe = (
        os.environ.get("EVENTLENS_MINISTACK")
        or shutil.which("ministack")
        or (str(local) if local.exists() else None)
    )
    if not exe:
        return None
    python = Path(exe).resolve().parent / "python"
    return exe, str(python if python.exists() else exe)


@pytest.fixture(scope="module")
def ministack(moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ministack]:
    found = _ministack()
    if found is None:
        pytest.skip(
            "ministack not installed (scripts/install-test-tools puts it in .cache/tools/ministack,"
            " or set EVENTLENS_MINISTACK; see module docstring)"
        )
    exe, python = found
    probe = subprocess.run(
        [python, "-c", "import sys, boto3; print(f'{sys.version_info[0]}.{sys.version_info[1]}')"],
        capture_output=True, text=True,
    )  # fmt: skip
    if probe.returncode != 0:
        pytest.skip(f"ministack's python cannot import boto3: {probe.stderr.strip()[-200:]}")
    from tests.aws_fixtures import free_port

    port = free_port()
    log = tmp_path_factory.mktemp("ministack") / "ministack.log"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    environ.update(BIND_HOST="127.0.0.1", GATEWAY_PORT=str(port))
    pid = _spawn_detached([exe], environ, log)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail(f"ministack did not start: {log.read_text()[-2000:]}")
        yield Ministack(f"http://127.0.0.1:{port}", "python" + probe.stdout.strip())
    finally:
        _stop(pid)


def _spawn_detached(command: list[str], environ: dict[str, str], log: Path) -> int:
    """Start ``command`` in its own session through a launcher that exits at once, so that it
    is not one of our waited-for children: ministack's ~0.5 GB would otherwise count in this
    process's RUSAGE_CHILDREN peak, which test_reliability uses to bound the CLI's memory."""
    launcher = (
        "import subprocess, sys\n"
        "out = open(sys.argv[1], 'w')\n"
        "p = subprocess.Popen(sys.argv[2:], stdout=out, stderr=subprocess.STDOUT,"
        " start_new_session=True)\n"
        "print(p.pid)\n"
    )
    started = subprocess.run(
        [sys.executable, "-c", launcher, str(log), *command],
        env=environ, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return int(started.stdout.strip())


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _stop(pid: int) -> None:
    for sig, wait_s in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        if not _alive(pid):
            return
        os.kill(pid, sig)
        deadline = time.monotonic() + wait_s
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)


def clients(endpoint: str) -> dict[str, Any]:
    import boto3

    options = {
        "endpoint_url": endpoint, "region_name": "us-east-1",
        "aws_access_key_id": "test", "aws_secret_access_key": "test",
    }  # fmt: skip
    return {
        name: boto3.client(name, **options) for name in ("s3", "dynamodb", "lambda", "sns", "sqs")
    }


def wait_for_item(dynamodb: Any, table: str, key: str, timeout_s: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        item = dynamodb.get_item(TableName=table, Key={"filename": {"S": key}}).get("Item")
        if item:
            return dict(item)
        time.sleep(0.3)
    raise AssertionError(f"no record for {key!r} after {timeout_s}s")


def test_deployed_zip_analyses_uploads(
    ministack: Ministack, moto_endpoint: str, tmp_path: Path
) -> None:
    aws = clients(ministack.endpoint)
    table = "beta_results"
    aws["dynamodb"].create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "filename", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "filename", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    topic = aws["sns"].create_topic(Name="eventlens-failures")["TopicArn"]
    failures = aws["sqs"].create_queue(QueueName="eventlens-failures")["QueueUrl"]
    failures_arn = aws["sqs"].get_queue_attributes(QueueUrl=failures, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    aws["sns"].subscribe(TopicArn=topic, Protocol="sqs", Endpoint=failures_arn)
    aws["s3"].create_bucket(Bucket="inbox")

    runtime = ministack.runtime
    package = build_package(tmp_path / "lambda.zip", "rekognition", runtime=runtime)
    function = aws["lambda"].create_function(
        FunctionName="eventlens-beta",
        Runtime=runtime,
        Role="arn:aws:iam::000000000000:role/eventlens",
        Handler="eventlens.aws.handler.handler",
        Code={"ZipFile": package.path.read_bytes()},
        Timeout=60,
        MemorySize=512,
        Environment={
            "Variables": {
                "EVENTLENS_ENVIRONMENT": "beta",
                "EVENTLENS_RESULTS_BACKEND": "dynamodb",
                "EVENTLENS_RESULTS_TABLE": table,
                "EVENTLENS_ANALYZER": "rekognition",
                "EVENTLENS_PREFIX": BETA,
                "EVENTLENS_FAILURE_TOPIC_ARN": topic,
                "AWS_ENDPOINT_URL_REKOGNITION": moto_endpoint,
            }
        },
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        state = aws["lambda"].get_function(FunctionName="eventlens-beta")["Configuration"]
        if state.get("State") == "Active":
            break
        time.sleep(0.2)
    aws["s3"].put_bucket_notification_configuration(
        Bucket="inbox",
        NotificationConfiguration={
            "LambdaFunctionConfigurations": [
                {"LambdaFunctionArn": function["FunctionArn"], "Events": ["s3:ObjectCreated:*"]}
            ]
        },
    )

    good = BETA + "deployed/my cat+1 ☀.jpg"
    aws["s3"].put_object(Bucket="inbox", Key=good, Body=jpeg(), Metadata={"owner": "ana"})
    aws["s3"].put_object(Bucket="inbox", Key=BETA + "deployed/broken.jpg", Body=b"\xff\xd8junk")

    item = wait_for_item(aws["dynamodb"], table, good)
    assert item["status"] == {"S": "ok"} and item["analysis_method"] == {"S": "rekognition"}
    assert item["metadata"] == {"M": {"owner": {"S": "ana"}}}
    assert item["labels"]["L"] and "N" in item["labels"]["L"][0]["M"]["Confidence"]
    assert item["s3_bucket"] == {"S": "inbox"} and item["sequencer"]["S"]
    assert len(item["sequencer_sort"]["S"]) == 32

    broken = wait_for_item(aws["dynamodb"], table, BETA + "deployed/broken.jpg")
    assert broken["status"] == {"S": "error"} and broken["error"]["S"]
    messages: list[dict[str, Any]] = []
    deadline = time.monotonic() + 20
    while not messages and time.monotonic() < deadline:
        messages = (
            aws["sqs"].receive_message(QueueUrl=failures, WaitTimeSeconds=1).get("Messages", [])
        )
    assert messages, "no failure notification reached the SNS subscriber"
    body = json.loads(messages[0]["Body"])
    notice = json.loads(body.get("Message", messages[0]["Body"]))
    assert notice["key"] == BETA + "deployed/broken.jpg"
