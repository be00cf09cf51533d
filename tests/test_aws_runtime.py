"""The Lambda package on the Python it targets (python3.12 / python3.13, not this suite's 3.11).

For each runtime: build the package with the bundled label model and the duplicate index (the
compiled wheels: numpy, onnxruntime, Pillow) for that runtime, unzip it, and in a clean
interpreter of that version (``-S -I``: no site-packages, no environment) import the handler and
run it end to end on a real photo: S3 → SQS (moto's server over HTTP) → handler → DynamoDB.
boto3 comes from a directory installed for that Python, as Lambda's runtime provides it. The
interpreter is taken from ~/.pyenv/versions or PATH; without one the test skips and says so.
"""

from __future__ import annotations

import uuid
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from eventlens.aws.package import (
    RUNTIMES,
    build_package,
    install_dependencies,
    pinned,
    target_interpreter,
)
from eventlens.results.dynamodb import DynamoDBResultStore
from eventlens.results.dynamodb_hashes import create_hash_table
from tests.lambda_task import import_from_task, run_task, shipped_bytecode

if TYPE_CHECKING:
    from tests.aws_fixtures import Stack

pytest_plugins = ["tests.aws_fixtures"]
pytestmark = pytest.mark.slow

#: What the Lambda Python runtime ships besides the standard library.
RUNTIME_PACKAGES = (
    "boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3",
)  # fmt: skip


@pytest.mark.parametrize("runtime", ["python3.12", "python3.13"])
def test_the_package_runs_on_its_target_runtime(runtime: str, stack: Stack, tmp_path: Path) -> None:
    from tests.labels_support import photo

    found = target_interpreter(runtime)
    if found is None:
        pytest.skip(f"no {runtime} interpreter here (looked in ~/.pyenv/versions and on PATH)")
    python = found.path
    assert runtime in RUNTIMES
    report = build_package(tmp_path / "lambda.zip", "labels,duplicates", runtime=runtime)
    assert report.within_limits and report.model_included
    task, runtime_site = tmp_path / "task", tmp_path / "runtime"
    with zipfile.ZipFile(report.path) as archive:
        archive.extractall(task)
    assert not list(task.glob("numpy/_core/*cpython-311*")), "built for the wrong Python"
    install_dependencies(pinned(RUNTIME_PACKAGES), runtime_site, runtime)

    # the package's bytecode is this version's, none stale, every module's; the handler's
    # imports read it (-B, as the bench runs it, stops only writing) and write none
    tag = "cpython-" + runtime.removeprefix("python").replace(".", "")
    assert report.bytecode == tag
    shipped = shipped_bytecode(task, python)
    assert shipped.tag == tag and shipped.pyc > 1000
    assert shipped.problems == [] and shipped.uncompiled == []
    imported = import_from_task(task, runtime_site, python, "eventlens.aws.handler")
    assert f"{task}/eventlens/aws/__pycache__/handler.{tag}.pyc" in imported.from_bytecode
    assert f"{task}/PIL/__pycache__/__init__.{tag}.pyc" in imported.from_bytecode
    assert imported.compiled == [] and imported.written == []

    hashes = f"beta_image_hashes_{uuid.uuid4().hex[:8]}"
    create_hash_table(stack.dynamodb, hashes)
    key = "rekognition-input/beta/cats/chelsea.jpg"
    stack.put_image(key, photo("chelsea"))
    scratch = tmp_path / "lambda-tmp"
    scratch.mkdir()
    env = {
        "EVENTLENS_ANALYZERS": "labels,duplicates",
        "EVENTLENS_HASHES_TABLE": hashes,
        "TMPDIR": str(scratch),
    }
    run = run_task(task, runtime_site, stack, env, tmp_path, [str(python), "-S", "-I"])
    assert run.returncode == 0, run.stderr[-3000:]
    assert f"PYTHON {runtime.removeprefix('python')}" in run.stdout
    assert "BUILT_AT_INIT True" in run.stdout  # its clients made, its models open before the event
    assert run.result == {"batchItemFailures": []}
    # the model came converted inside the package: nothing converted into /tmp
    assert f"CACHE {task / 'eventlens' / 'data' / 'model-cache'}" in run.stdout
    assert not list(scratch.rglob("*.onnx"))

    record = DynamoDBResultStore({"beta": stack.tables["beta"]}).get("beta", key)
    assert record is not None and record.ok, record
    assert record.analysis_method == "bundled-efficientnet-lite0"
    assert "Cat" in record.label_names()
    assert record.findings["duplicates"]["DuplicateOf"] is None

    # Powertools' JSON logs with the invocation's context, and its EMF metrics
    lines = run.json_lines()
    (outcome,) = [x for x in lines if x.get("message") == "outcome"]
    assert outcome["action"] == "stored" and outcome["key"] == key
    assert outcome["service"] == "eventlens" and outcome["cold_start"] is True
    assert outcome["function_request_id"] == "request-1" and outcome["correlation_id"]
    (emf,) = [x for x in lines if "_aws" in x]
    assert emf["Processed"] == [1.0]
    assert emf["environment"] == "beta" and emf["service"] == "eventlens"
