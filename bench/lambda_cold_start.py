"""The bundled Lambda package's cold start on its target Python (``bench/bench_aws.py
--cold-start python3.12``): init (the handler's imports and, ``AWS_LAMBDA_INITIALIZATION_TYPE``
being set as in Lambda, the app built: its clients made, its models opening) + the first
invocation, then warm invocations in the same process, each on one 12-MP JPEG; and the import
time broken down (``python -X importtime`` over init and the first invocation, by top-level
package).

The package is built for the runtime and unzipped; a fresh interpreter of that version runs it
the way Lambda does (``-S -I``, the task folder first on ``sys.path``, boto3 from a folder
installed and compiled for that Python, as in Lambda's runtime image), against a moto server on
127.0.0.1, in the environment Lambda and Terraform give the function (``_stack``). Each cold
start gets a fresh ``TMPDIR`` (a new Lambda sandbox's /tmp) and a task folder as Lambda's
read-only /var/task leaves it: no verdict of the person detector's per-CPU check beside the
model (so the check runs, as it does in every Lambda sandbox; its time is in the parts) and no
bytecode written into it (``-B``: it stops writing bytecode only; the package's own .pyc files
are read, tests/test_aws_runtime.py checks it). Lambda's bootstrap script passes no ``-B``
(``exec /var/lang/bin/python3.10 /var/runtime/bootstrap.py`` as published for python3.10), but
its /var/task is read-only, so nothing is written there either.

Two packages, cold starts interleaved so that they share the machine's load: as built (with the
bytecode compiled for the runtime) and either the same files without their bytecode (the package
as built before it shipped bytecode, which every new sandbox compiles) or, with ``--baseline
FOLDER``, another build's unzipped task folder (an A/B of a change: copy ``task`` aside before
the change, rebuild after it).

A Lambda function's CPU is its memory: 1769 MB is one vCPU, and twice that two (AWS documents
up to 6 vCPUs at 10,240 MB, in proportion to memory). ``--cpus 0`` pins each cold start to one
of this machine's vCPUs (``taskset``), as at 1769 MB; ``--cpus 0,1`` to two, as at 3538 MB. The
fake context's ``memory_limit_in_mb`` says which. The moto server stays in this process,
unpinned (S3 and DynamoDB are not on the function's vCPUs). The task folder is rebuilt when
eventlens' sources changed since it was built (``stamp``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
#: What the Lambda Python runtime ships besides the standard library.
RUNTIME_PACKAGES = (
    "boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3",
)  # fmt: skip

SCRIPT = """\
import json, os, sys, time, types
started, cpu_started = time.perf_counter(), time.process_time()
task, runtime = sys.argv[1], sys.argv[2]
sys.path[:0] = [task]
sys.path.append(runtime)
from eventlens.aws.handler import handler
init_ms = (time.perf_counter() - started) * 1000
init_cpu_ms = (time.process_time() - cpu_started) * 1000
events = json.loads(sys.stdin.read())
context = types.SimpleNamespace(
    function_name="eventlens-beta", memory_limit_in_mb=int(os.environ["BENCH_MEMORY_MB"]),
    aws_request_id="request-1",
    invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:eventlens-beta",
)
invocations = []
for event in events:
    wall, cpu = time.perf_counter(), time.process_time()
    result = handler(event, context)
    assert result == {"batchItemFailures": []}, result
    invocations.append(((time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000))
print("TIMES " + json.dumps({
    "init_ms": init_ms, "init_cpu_ms": init_cpu_ms,
    "invocations": invocations, "python": "%d.%d" % sys.version_info[:2],
}))
"""


#: The first invocation's parts, each timed once in a fresh interpreter from the task folder, in
#: the order the first invocation meets them (imports included where they first happen).
PARTS_SCRIPT = """\
import os, sys, time
task, photo = sys.argv[1], sys.argv[2]
sys.path.insert(0, task)
os.environ["EVENTLENS_CACHE_DIR"] = os.path.join(task, "eventlens", "data", "model-cache")
parts = {}
def timed(name, work):
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    parts[name] = [(time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000]
    return result
timed("import numpy", lambda: __import__("numpy"))
timed("import onnxruntime", lambda: __import__("onnxruntime"))
from eventlens import imaging
from eventlens.analyzers.labels import model_cache, taxonomy
from eventlens.analyzers.labels.preprocess import CROP, resize_for
from eventlens.analyzers.objects import blazeface, graph_check, people
from eventlens.analyzers.onnx_session import create_session
data = open(photo, "rb").read()
side = resize_for(CROP)
timed("decode the 12-MP JPEG (draft)", lambda: imaging.decode(data, min_short_side=side))
label = timed("label model: find it (its cache key)", model_cache.build_model)
timed("label model: session", lambda: create_session(label))
timed("label taxonomy", lambda: taxonomy.load_taxonomy())
int8 = timed("person int8: session", lambda: create_session(people.model_path()))
timed(
    "check: the float graph's kept boxes",
    lambda: graph_check.kept_references(people.float_model_path(), people.MIN_SCORE),
)
n = len(graph_check.CHECKED)
photos = timed(
    f"check: {n} photos, inputs",
    lambda: [people.to_input(i) for _, i in graph_check.check_photos(graph_check.CHECKED)],
)
detector = people.PeopleDetector()
timed(f"check: {n} int8 passes", lambda: [detector._detect(int8, [x]) for x in photos])
timed("face model: session", lambda: create_session(blazeface.model_path()))
import json
print("PARTS " + json.dumps(parts))
"""


def first_invocation_parts(
    python: Path, task: Path, photo: Path, runs: int, cpus: str | None = None
) -> dict[str, Any]:
    """Median wall and CPU ms of each part (``PARTS_SCRIPT``) over ``runs`` fresh processes."""
    found: list[dict[str, list[float]]] = []
    for _ in range(runs):
        done = subprocess.run(
            [*pinned_to(cpus), str(python), "-S", "-I", "-B", "-c", PARTS_SCRIPT, str(task),
             str(photo)],
            capture_output=True, text=True, check=True, timeout=600,
        )  # fmt: skip
        (line,) = [x for x in done.stdout.splitlines() if x.startswith("PARTS ")]
        found.append(json.loads(line.removeprefix("PARTS ")))
    return {
        name: {
            "wall_ms": round(statistics.median(f[name][0] for f in found), 1),
            "cpu_ms": round(statistics.median(f[name][1] for f in found), 1),
        }
        for name in found[0]
    }


def interpreter(runtime: str) -> Path:
    from eventlens.aws.package import target_interpreter

    found = target_interpreter(runtime)
    if found is None:
        raise SystemExit(f"no {runtime} interpreter (looked on PATH and in ~/.pyenv/versions)")
    return found.path


def stamp() -> str:
    """Names the eventlens sources a package is built from (a changed file rebuilds it)."""
    import eventlens

    digest = hashlib.sha256()
    source = Path(eventlens.__file__).resolve().parent
    for path in sorted(source.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(source).as_posix().encode() + b"\0")
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def build(runtime: str, folder: Path) -> tuple[Path, Path, Path]:
    """The bundled package unzipped into ``folder/task``, the same without its bytecode in
    ``folder/task-source``, boto3 for the runtime in ``folder/runtime`` (each reused when
    there and, for the package, built from the same sources)."""
    from eventlens.aws.package import build_package, install_dependencies, pinned

    task, source_only = folder / "task", folder / "task-source"
    runtime_site = folder / "runtime"
    tag = "cpython-" + runtime.removeprefix("python").replace(".", "")
    built_from = folder / "task.stamp"
    current = stamp()
    if not (
        (task / "eventlens" / "aws" / "__pycache__" / f"handler.{tag}.pyc").is_file()
        and built_from.is_file()
        and built_from.read_text("utf-8") == current
    ):
        shutil.rmtree(task, ignore_errors=True)
        shutil.rmtree(source_only, ignore_errors=True)
        report = build_package(folder / "bundled.zip", "bundled", runtime=runtime)
        with zipfile.ZipFile(report.path) as archive:
            archive.extractall(task)
            archive.extractall(source_only)
        for cache in source_only.rglob("__pycache__"):
            shutil.rmtree(cache)
        built_from.write_text(current, "utf-8")
    compiled = runtime_site / "boto3" / "__pycache__" / f"__init__.{tag}.pyc"
    if not compiled.is_file():
        shutil.rmtree(runtime_site, ignore_errors=True)
        install_dependencies(pinned(RUNTIME_PACKAGES), runtime_site, runtime)
        # Lambda's runtime image carries boto3 and its needs compiled, as pip leaves them: a
        # cold start there does not compile them (pip installed them here with --no-compile,
        # and a pip of another Python would compile for the wrong version)
        subprocess.run(
            [str(interpreter(runtime)), "-m", "compileall", "-q", str(runtime_site)], check=True
        )
    return task, source_only, runtime_site


@dataclass(frozen=True, slots=True)
class QueuedUploads:
    table: str
    queue_arn: str
    #: one SQS message (an S3 ObjectCreated notification) per upload, received, not deleted
    messages: list[dict[str, Any]]


def queued_uploads(bodies: Sequence[bytes], name: str) -> QueuedUploads:
    """On the moto server the AWS_* variables name: a results table, and a bucket whose
    ObjectCreated notifications go to a queue; each body uploaded as
    ``rekognition-input/beta/<name>/<i>.jpg``, and the queue's messages for them."""
    import boto3

    from eventlens.results.dynamodb import create_table

    suffix = uuid.uuid4().hex[:8]
    s3, sqs = boto3.client("s3"), boto3.client("sqs")
    table = f"beta_results_{suffix}"
    create_table(boto3.client("dynamodb"), table, ttl=False)
    queue = sqs.create_queue(QueueName=f"q-{suffix}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
    arn = arn["Attributes"]["QueueArn"]
    bucket = f"{name}-{suffix}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]
        },
    )
    sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1)  # the s3:TestEvent
    for i, body in enumerate(bodies):
        s3.put_object(Bucket=bucket, Key=f"rekognition-input/beta/{name}/{i}.jpg", Body=body)
    messages: list[dict[str, Any]] = []
    deadline = time.monotonic() + 30
    while len(messages) < len(bodies) and time.monotonic() < deadline:
        got = sqs.receive_message(
            QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1, VisibilityTimeout=600
        )
        messages.extend(got.get("Messages", []))
    return QueuedUploads(table, arn, messages)


def _stack(
    image: bytes, count: int, initialisation: str = "on-demand"
) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """``count`` uploads of ``image`` (``queued_uploads``): the handler's environment (in a
    sandbox initialised as ``initialisation`` says) and one Lambda SQS event per upload."""
    from eventlens.aws.worker import to_lambda_records

    uploads = queued_uploads([image] * count, "cold")
    table, arn, messages = uploads.table, uploads.queue_arn, uploads.messages
    env = {k: v for k, v in os.environ.items() if k.startswith("AWS_") or k in ("PATH", "HOME")}
    env.update(
        EVENTLENS_ENVIRONMENT="beta",
        EVENTLENS_RESULTS_TABLE=table,
        EVENTLENS_ANALYZER="bundled",
        AWS_LAMBDA_FUNCTION_NAME="eventlens-beta",
        AWS_LAMBDA_INITIALIZATION_TYPE=initialisation,  # as Lambda sets it: init builds the app
    )
    events = [{"Records": to_lambda_records([m], arn)} for m in messages]
    return env, events


def as_deployed(task: Path) -> None:
    """The task folder as Lambda runs it: no kept check verdict."""
    for verdict in task.rglob("*.check.json"):
        verdict.unlink()


#: Lambda memory (MB) with as many vCPUs as ``taskset`` gives a cold start: 1769 MB is one.
MB_PER_VCPU = 1769


def pinned_to(cpus: str | None) -> list[str]:
    """The ``taskset`` prefix for ``cpus`` ("0", "0,1"), or none."""
    return ["taskset", "-c", cpus] if cpus else []


def memory_mb(cpus: str | None) -> int:
    """The Lambda memory size whose vCPUs a cold start pinned to ``cpus`` has."""
    count = len(cpus.split(",")) if cpus else os.cpu_count() or 1
    return MB_PER_VCPU * count


def _run(
    python: Path, task: Path, runtime_site: Path, env: dict[str, str], events: list[Any],
    importtime: bool = False, cpus: str | None = None,
) -> tuple[dict[str, Any], str]:  # fmt: skip
    as_deployed(task)
    with tempfile.TemporaryDirectory() as scratch:  # a new sandbox's /tmp
        flags = ["-X", "importtime"] if importtime else []
        command = [str(python), "-S", "-I", "-B", *flags, "-c", SCRIPT, str(task)]
        done = subprocess.run(
            [*pinned_to(cpus), *command, str(runtime_site)],
            input=json.dumps(events), capture_output=True, text=True, timeout=600,
            env={**env, "TMPDIR": scratch, "BENCH_MEMORY_MB": str(memory_mb(cpus))}, cwd=scratch,
        )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    (line,) = [x for x in done.stdout.splitlines() if x.startswith("TIMES ")]
    return json.loads(line.removeprefix("TIMES ")), done.stderr


def import_breakdown(stderr: str, top: int = 12) -> dict[str, float]:
    """``-X importtime`` lines -> ms of own import time per top-level package, largest first."""
    own: dict[str, float] = defaultdict(float)
    for match in re.finditer(r"import time:\s+(\d+) \|\s+\d+ \|(\s*)(\S+)", stderr):
        own[match.group(3).split(".")[0]] += int(match.group(1)) / 1000
    ranked = sorted(own.items(), key=lambda kv: -kv[1])
    result = {name: round(ms, 1) for name, ms in ranked[:top]}
    result["(all)"] = round(sum(own.values()), 1)
    return result


def _figures(colds: list[dict[str, Any]]) -> dict[str, Any]:
    cold = [c["init_ms"] + c["invocations"][0][0] for c in colds]
    # on one vCPU the cold start takes at least its CPU time: the figure that load on this
    # shared machine inflates least
    cold_cpu = [c["init_cpu_ms"] + c["invocations"][0][1] for c in colds]
    first = [c["invocations"][0] for c in colds]
    return {
        "cold_start_ms_median": round(statistics.median(cold), 1),
        "cold_start_ms_range": [round(min(cold)), round(max(cold))],
        "cold_start_ms_all": [round(c) for c in cold],
        "cold_start_cpu_ms_median": round(statistics.median(cold_cpu), 1),
        "cold_start_cpu_ms_range": [round(min(cold_cpu)), round(max(cold_cpu))],
        "init_ms_median": round(statistics.median(c["init_ms"] for c in colds), 1),
        "init_cpu_ms_median": round(statistics.median(c["init_cpu_ms"] for c in colds), 1),
        "first_invocation_ms_median": round(statistics.median(w for w, _ in first), 1),
        "first_invocation_cpu_ms_median": round(statistics.median(c for _, c in first), 1),
    }


def bench_cold_start(
    runtime: str, image: Path, runs: int = 10, warm: int = 10, part_runs: int = 3,
    cpus: str | None = None, baseline: Path | None = None, initialisation: str = "on-demand",
) -> dict[str, Any]:  # fmt: skip
    """``cpus``: pin every cold start to these vCPUs (``taskset -c``); ``baseline``: an unzipped
    task folder of another build to interleave with this one (else the no-bytecode copy);
    ``initialisation``: the sandboxes' ``AWS_LAMBDA_INITIALIZATION_TYPE``."""

    from bench.bench_aws import moto_endpoint

    python = interpreter(runtime)
    folder = ROOT / "bench" / "out" / f"lambda-{runtime}"
    task, source_only = build(runtime, folder)[:2]
    runtime_site = folder / "runtime"
    other = baseline.resolve() if baseline else source_only
    other_name = f"baseline {baseline.name}" if baseline else "without the bytecode"
    photo, image_bytes = image, image.read_bytes()
    load = [os.getloadavg()[0]]
    with moto_endpoint():
        shipped: list[dict[str, Any]] = []
        others: list[dict[str, Any]] = []
        for i in range(runs):  # interleaved: both see the same load
            env, events = _stack(image_bytes, 1 + (warm if i == 0 else 0), initialisation)
            shipped.append(_run(python, task, runtime_site, env, events, cpus=cpus)[0])
            env, events = _stack(image_bytes, 1, initialisation)
            others.append(_run(python, other, runtime_site, env, events, cpus=cpus)[0])
        env, events = _stack(image_bytes, 1, initialisation)
        _, stderr = _run(python, task, runtime_site, env, events, importtime=True, cpus=cpus)
        env, events = _stack(image_bytes, 1, initialisation)
        _, stderr_other = _run(python, other, runtime_site, env, events, True, cpus)
        as_deployed(task)
        as_deployed(other)
    parts = first_invocation_parts(python, task, photo, part_runs, cpus)
    load.append(os.getloadavg()[0])
    started = time.perf_counter()  # the bare interpreter's start-up, before init
    subprocess.run(
        [*pinned_to(cpus), str(python), "-S", "-I", "-c", "pass"], capture_output=True, check=True
    )
    interpreter_ms = (time.perf_counter() - started) * 1000
    warm_ms = [wall for wall, _ in shipped[0]["invocations"][1:]]
    warm_cpu = [cpu for _, cpu in shipped[0]["invocations"][1:]]
    return {
        "runtime": runtime,
        "python": shipped[0]["python"],
        "image": "one 12-MP JPEG per invocation",
        "vcpus": f"taskset -c {cpus}" if cpus else f"unpinned ({os.cpu_count()})",
        "as_lambda_memory_mb": memory_mb(cpus),
        "cold_runs": runs,
        "initialisation": initialisation,
        "interpreter_start_ms": round(interpreter_ms, 1),
        "as packaged (bytecode shipped)": _figures(shipped),
        "warm_invocations": len(warm_ms),
        "warm_p50_ms": round(statistics.median(warm_ms), 1),
        "warm_cpu_p50_ms": round(statistics.median(warm_cpu), 1),
        "import_ms_by_package (-X importtime, init + first invocation)": import_breakdown(stderr),
        f"first invocation's parts (median of {part_runs} fresh processes)": parts,
        other_name: _figures(others),
        f"{other_name}: import_ms_by_package": import_breakdown(stderr_other),
        "machine_load_1min (start, end)": [round(x, 2) for x in load],
    }


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sample = sorted((ROOT / "bench" / "out" / "corpus").glob("photo-*.jpg"))
    print(json.dumps(bench_cold_start(sys.argv[1], sample[0]), indent=2))
