"""Run an extracted Lambda package the way Lambda does: a fresh interpreter with the task
directory first on ``sys.path``, boto3 from "the runtime", the handler called with an SQS
batch and a Lambda context. Shared by the package and target-runtime tests."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.aws_fixtures import Stack

SCRIPT = """\
import json, os, sys, types
task, runtime = sys.argv[1], sys.argv[2]
sys.path[:0] = [task]
sys.path.append(runtime)
from eventlens.aws.handler import handler
import eventlens, PIL
assert eventlens.__file__.startswith(task), eventlens.__file__
assert PIL.__file__.startswith(task), PIL.__file__
context = types.SimpleNamespace(
    function_name="eventlens-beta", memory_limit_in_mb=256, aws_request_id="request-1",
    invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:eventlens-beta",
)
result = handler(json.loads(sys.stdin.read()), context)
print("RESULT " + json.dumps(result))
print("CACHE " + str(os.environ.get("EVENTLENS_CACHE_DIR")))
print("PYTHON %d.%d" % sys.version_info[:2])
"""


@dataclass
class TaskRun:
    returncode: int
    stdout: str
    stderr: str

    @property
    def result(self) -> Any:
        (line,) = [x for x in self.stdout.splitlines() if x.startswith("RESULT ")]
        return json.loads(line.removeprefix("RESULT "))

    def json_lines(self) -> list[dict[str, Any]]:
        return [json.loads(x) for x in self.stdout.splitlines() if x.startswith("{")]


def run_task(
    task: Path,
    runtime_site: Path,
    stack: Stack,
    extra_env: dict[str, str],
    cwd: Path,
    python: Sequence[str],
) -> TaskRun:
    """``python``: the interpreter command (e.g. ``[python3.12, "-S", "-I"]``)."""
    from eventlens.aws.worker import to_lambda_records

    messages = stack.receive(stack.queue_url, 1)
    assert len(messages) == 1
    event = {"Records": to_lambda_records(messages, stack.queue_arn)}
    environ = {k: v for k, v in os.environ.items() if k.startswith("AWS_") or k in ("PATH", "HOME")}
    environ.update(
        EVENTLENS_ENVIRONMENT="beta",
        EVENTLENS_RESULTS_TABLE=stack.tables["beta"],
        EVENTLENS_FAILURE_TOPIC_ARN=stack.topic_arn,
        AWS_LAMBDA_FUNCTION_NAME="eventlens-beta",
        **extra_env,
    )
    done = subprocess.run(
        [*python, "-c", SCRIPT, str(task), str(runtime_site)],
        input=json.dumps(event), capture_output=True, text=True, env=environ, timeout=300,
        cwd=cwd,
    )  # fmt: skip
    return TaskRun(done.returncode, done.stdout, done.stderr)
