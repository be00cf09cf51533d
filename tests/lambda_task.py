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
import eventlens, PIL, eventlens.aws.handler
print("BUILT_AT_INIT " + str(eventlens.aws.handler._app is not None))
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
        AWS_LAMBDA_INITIALIZATION_TYPE="on-demand",  # as Lambda sets it: init builds the app
        **extra_env,
    )
    done = subprocess.run(
        [*python, "-c", SCRIPT, str(task), str(runtime_site)],
        input=json.dumps(event), capture_output=True, text=True, env=environ, timeout=300,
        cwd=cwd,
    )  # fmt: skip
    return TaskRun(done.returncode, done.stdout, done.stderr)


#: Run by the target interpreter over an extracted package: every .pyc must be that version's
#: (cache tag and magic number), unchecked hash-based and not stale (its hash is its source's);
#: and every module outside the wheels' test suites must have one.
BYTECODE_CHECK = """\
import importlib.util, json, pathlib, sys
root = pathlib.Path(sys.argv[1])
tag = sys.implementation.cache_tag
problems, compiled = [], set()
for pyc in sorted(root.rglob("*.pyc")):
    name = pyc.relative_to(root).as_posix()
    stem, _, rest = pyc.name.partition(".")
    source = pyc.parent.parent / (stem + ".py")
    head = pyc.read_bytes()[:16]
    if pyc.parent.name != "__pycache__" or rest != tag + ".pyc":
        problems.append(name + ": not " + tag + " bytecode")
    elif not source.is_file():
        problems.append(name + ": no source beside it")
    elif head[:4] != importlib.util.MAGIC_NUMBER:
        problems.append(name + ": another version's magic number")
    elif int.from_bytes(head[4:8], "little") != 0b01:
        problems.append(name + ": not unchecked hash-based")
    elif head[8:16] != importlib.util.source_hash(source.read_bytes()):
        problems.append(name + ": stale, its source has changed")
    else:
        compiled.add(source)
uncompiled = [
    p.relative_to(root).as_posix() for p in sorted(root.rglob("*.py"))
    if p not in compiled and not {"test", "tests"} & set(p.relative_to(root).parts)
]
print(json.dumps({"tag": tag, "pyc": len(compiled), "problems": problems,
                  "uncompiled": uncompiled}))
"""


@dataclass
class Bytecode:
    tag: str
    pyc: int  # sound .pyc files
    problems: list[str]
    uncompiled: list[str]  # modules without a .pyc (the wheels' tests/ aside)


def shipped_bytecode(task: Path, python: Path) -> Bytecode:
    """What ``python`` (the package's target version) makes of the package's bytecode."""
    done = subprocess.run(
        [str(python), "-S", "-I", "-c", BYTECODE_CHECK, str(task)],
        capture_output=True, text=True, check=True, timeout=300,
    )  # fmt: skip
    return Bytecode(**json.loads(done.stdout))


@dataclass
class Imported:
    from_bytecode: list[str]  # the task's modules whose code came from a shipped .pyc
    compiled: list[str]  # ... that were compiled from source instead
    written: list[str]  # .pyc files that appeared in the task folder (must be none)


def import_from_task(task: Path, runtime_site: Path, python: Path, module: str) -> Imported:
    """Import ``module`` from the task folder as the bench does (``-S -I -B``: ``-B`` only stops
    writing bytecode, as Lambda's read-only /var/task does; reading it is unaffected)."""
    before = set(task.rglob("*.pyc"))
    path = f"sys.path[:0] = [{str(task)!r}]; sys.path.append({str(runtime_site)!r})"
    done = subprocess.run(
        [str(python), "-S", "-I", "-B", "-v", "-c", f"import sys; {path}; import {module}"],
        capture_output=True, text=True, check=True, timeout=300,
    )  # fmt: skip
    loaded = [
        line.removeprefix("# code object from ").strip("'")
        for line in done.stderr.splitlines()
        if line.startswith("# code object from ") and str(task) in line
    ]
    return Imported(
        from_bytecode=[x for x in loaded if x.endswith(".pyc")],
        compiled=[x for x in loaded if not x.endswith(".pyc")],
        written=sorted(str(p) for p in set(task.rglob("*.pyc")) - before),
    )
