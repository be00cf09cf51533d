"""Measure the AWS handler: per-image latency (cold and warm) and the Lambda package sizes.

    .venv/bin/python bench/bench_aws.py [--analyzer labels|rekognition] [--images 20]
                                        [--batch 1] [--no-package]
    .venv/bin/python bench/bench_aws.py --cold-start python3.12 [--cpus 0] [--baseline DIR]
                                        [--initialisation provisioned-concurrency]
        # the bundled package's cold start (init + first invocation) and warm invocations on
        # that Python, one 12-MP JPEG each, with the import time broken down; --cpus pins each
        # cold start to those vCPUs (0: one, as at 1769 MB; 0,1: two, as at 3538 MB);
        # --baseline interleaves another build's task folder (bench/lambda_cold_start.py);
        # --initialisation: Lambda's AWS_LAMBDA_INITIALIZATION_TYPE (default on-demand)

Runs a moto server on 127.0.0.1 (S3, SQS, DynamoDB, SNS, Rekognition), uploads photo-like
JPEGs, and calls ``eventlens.aws.handler.handler`` with SQS batches and a Lambda context the
way Lambda would (``AWS_LAMBDA_FUNCTION_NAME`` set: Powertools' JSON logs and metrics), in
this process (so "warm" means the pipeline and model are already loaded). With ``rekognition``
the number measures the wiring only: moto answers DetectLabels instantly with a canned label.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import os
import socket
import statistics
import sys
import tempfile
import time
import types
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the bench package, when run as a script


def photo(width: int, height: int, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([x / width * 255, y / height * 255, (x + y) / (width + height) * 255], -1)
    pixels = np.clip(base + rng.normal(0, 12, (height, width, 3)), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buffer, "JPEG", quality=88)
    return buffer.getvalue()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def moto_endpoint(**environ: str) -> Iterator[str]:
    """A moto server on 127.0.0.1 at a free port for the benches, with ``AWS_*`` (and
    ``environ``) set so that boto3 in this process and its children talk to it; stopped on
    leaving (the variables stay set)."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    os.environ.update(
        AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x",
        AWS_DEFAULT_REGION="us-east-1", **environ,
    )  # fmt: skip
    try:
        yield endpoint
    finally:
        server.stop()


def bench_handler(analyzer: str, count: int, batch: int, size: tuple[int, int]) -> dict[str, float]:
    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    sink = io.StringIO()  # the handler's JSON logs and metrics
    with moto_endpoint(AWS_LAMBDA_FUNCTION_NAME="bench"):
        from eventlens.aws import observability

        observability.structured_logs(stream=sink)
        from bench.lambda_cold_start import queued_uploads
        from eventlens.aws import handler
        from eventlens.aws.worker import to_lambda_records

        bodies = [photo(*size, i) for i in range(count + 1)]
        uploads = queued_uploads(bodies, "bench")
        os.environ.update(
            EVENTLENS_ENVIRONMENT="beta", EVENTLENS_RESULTS_TABLE=uploads.table,
            EVENTLENS_ANALYZER=analyzer,
        )  # fmt: skip
        handler.reset()
        messages = uploads.messages
        real_stdout, sys.stdout = sys.stdout, sink  # the metrics (EMF) go to stdout
        context = types.SimpleNamespace(
            function_name="bench", memory_limit_in_mb=1024, aws_request_id="bench",
            invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:bench",
        )  # fmt: skip
        try:
            started = time.perf_counter()
            handler.handler({"Records": to_lambda_records(messages[:1])}, context)  # cold
            cold_ms = (time.perf_counter() - started) * 1000
            per_image: list[float] = []
            rest = messages[1:]
            for start in range(0, len(rest), batch):
                chunk = rest[start : start + batch]
                started = time.perf_counter()
                result = handler.handler({"Records": to_lambda_records(chunk)}, context)
                per_image.append((time.perf_counter() - started) * 1000 / len(chunk))
                assert result == {"batchItemFailures": []}, result
        finally:
            sys.stdout = real_stdout
        lines = [json.loads(x) for x in sink.getvalue().splitlines() if x.startswith("{")]
        stored = sum(1 for x in lines if x.get("message") == "outcome" and x["action"] == "stored")
        return {
            "cold_first_invocation_ms": round(cold_ms, 1),
            "warm_per_image_p50_ms": round(statistics.median(per_image), 1),
            "warm_per_image_mean_ms": round(statistics.fmean(per_image), 1),
            "warm_per_image_max_ms": round(max(per_image), 1),
            "images": len(messages),
            "stored": stored,
        }


def bench_import(runs: int = 7) -> dict[str, float]:
    """A cold start's import cost: a fresh interpreter importing the handler module (which
    brings in the logging and metrics code), median of ``runs``."""
    import subprocess

    script = (
        "import time; started = time.perf_counter(); import eventlens.aws.handler; "
        "print((time.perf_counter() - started) * 1000)"
    )
    env = {**os.environ, "AWS_LAMBDA_FUNCTION_NAME": "bench"}  # as in Lambda
    times = [
        float(subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                             check=True, env=env).stdout)
        for _ in range(runs)
    ]  # fmt: skip
    return {"import_handler_p50_ms": round(statistics.median(times), 1), "runs": runs}


#: The analyzer sets whose Lambda zips are measured (what fits the 250 MB unzipped limit).
PACKAGES = (
    "rekognition",
    "rekognition,rekognition-faces,rekognition-text,rekognition-moderation,rekognition-video,"
    "duplicates",
    "bundled",
    "labels,faces,duplicates",
    "labels,text",
    "labels,video",
)


def bench_packages() -> dict[str, dict[str, object]]:
    from eventlens.aws.package import build_package

    results: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for variant in PACKAGES:
            report = build_package(Path(tmp) / "package.zip", variant)
            results[variant] = {
                "zipped_mb": round(report.zipped_bytes / 2**20, 1),
                "unzipped_mb": round(report.unzipped_bytes / 2**20, 1),
                "within_250mb_unzipped": report.within_limits,
                "model_included": report.model_included,
                "runtime": report.runtime,
            }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default = "labels" if importlib.util.find_spec("eventlens.analyzers.labels") else "rekognition"
    parser.add_argument("--analyzer", default=default)
    parser.add_argument("--images", type=int, default=20)
    parser.add_argument("--batch", type=int, default=1, help="SQS messages per invocation")
    parser.add_argument("--size", default="1024x768", help="JPEG size, WxH")
    parser.add_argument("--no-package", action="store_true")
    parser.add_argument("--cold-start", metavar="RUNTIME", help="e.g. python3.12")
    parser.add_argument("--cpus", help="cold starts pinned to these vCPUs (taskset -c), e.g. 0")
    parser.add_argument("--baseline", type=Path, help="a task folder to interleave (A/B)")
    parser.add_argument("--runs", type=int, default=10, help="cold starts of each package")
    parser.add_argument(
        "--initialisation",
        default="on-demand",
        choices=["on-demand", "provisioned-concurrency"],
        help="AWS_LAMBDA_INITIALIZATION_TYPE: provisioned concurrency initialises a sandbox "
        "ahead of its first event (its models open in init)",
    )
    args = parser.parse_args()
    if args.cold_start:
        from bench import corpus
        from bench.lambda_cold_start import bench_cold_start

        (jpeg,) = corpus.build(ROOT / "bench" / "out" / "corpus", 1, 0)
        figures = bench_cold_start(
            args.cold_start, jpeg, runs=args.runs, cpus=args.cpus, baseline=args.baseline,
            initialisation=args.initialisation,
        )  # fmt: skip
        print(json.dumps(figures, indent=2))
        return
    width, height = (int(v) for v in args.size.split("x"))
    report: dict[str, object] = {
        "analyzer": args.analyzer,
        "image_size": args.size,
        "batch": args.batch,
        "handler": bench_handler(args.analyzer, args.images, args.batch, (width, height)),
        "cold_import": bench_import(),
    }
    if not args.no_package:
        report["packages"] = bench_packages()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
