"""AWS commands: ``eventlens aws package``, ``eventlens upload``, ``eventlens worker``.

boto3 is imported only when one of these runs, so the rest of the CLI works without it.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path, PurePosixPath
from types import FrameType
from typing import Annotated

import typer

from eventlens.cli.options import setting_option
from eventlens.cli.render import console, err_console, print_json
from eventlens.settings import Mode, Settings
from eventlens.storage.local import key_for_name

app = typer.Typer(
    help="Deploy to AWS: build the Lambda package, re-run a prefix.", no_args_is_help=True
)

EnvOption = Annotated[str | None, setting_option("environment", "--env", "-e", mode=Mode.AWS)]
PrefixOption = Annotated[str | None, setting_option("prefix", "--prefix", mode=Mode.AWS)]


@app.command()
def package(
    out: Annotated[Path, typer.Option("--out", "-o", help="Zip to write")] = Path(
        "dist/lambda.zip"
    ),
    analyzer: Annotated[
        str,
        typer.Option(
            "--analyzers",
            "--analyzer",
            help="What the zip carries: rekognition (small), bundled (the label model) or "
            "analyzers as in EVENTLENS_ANALYZERS, e.g. labels,faces,duplicates",
        ),
    ] = "rekognition",
    runtime: Annotated[
        str, typer.Option(help="Lambda runtime: python3.12 (default), python3.13, python3.11")
    ] = "python3.12",
    arch: Annotated[str, typer.Option(help="x86_64 or arm64")] = "x86_64",
    pin: Annotated[
        bool | None,
        typer.Option("--pin/--no-pin", help="Pin dependencies to the versions installed here"),
    ] = None,
    for_image: Annotated[
        bool,
        typer.Option(
            "--for-image", help="For a container image: its 10 GB limit, not the zip's 250 MB"
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Build the Lambda zip reproducibly (handler: eventlens.aws.handler.handler)."""
    from eventlens.aws.package import DependencyError, build_package

    try:
        report = build_package(
            out, analyzer, runtime=runtime, arch=arch, pin=pin, for_image=for_image
        )
    except ValueError as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    except DependencyError as exc:
        err_console.print(f"[red]{exc}[/red]", highlight=False)
        raise typer.Exit(1) from exc
    if as_json:
        print_json(
            {
                "path": str(report.path),
                "variant": report.variant,
                "runtime": report.runtime,
                "zipped_bytes": report.zipped_bytes,
                "unzipped_bytes": report.unzipped_bytes,
                "files": report.files,
                "sha256": report.sha256,
                "requirements": list(report.requirements),
                "within_limits": report.within_limits,
                "for_image": report.for_image,
                "bytecode": report.bytecode,
            }
        )
    else:
        console.print(report.summary(), highlight=False)
    if not report.within_limits:
        raise typer.Exit(1)


def parse_metadata(pairs: list[str] | None) -> dict[str, str]:
    """``owner=ana,project=x`` (repeatable) → S3 user metadata (keys lower-cased)."""
    metadata: dict[str, str] = {}
    for spec in pairs or []:
        for part in filter(None, (p.strip() for p in spec.split(","))):
            key, sep, value = part.partition("=")
            key = key.strip().lower()
            if not sep or not key:
                raise typer.BadParameter(
                    f"{part!r} must look like key=value", param_hint="--metadata"
                )
            if not all(c.isalnum() or c in "-_" for c in key) or not key.isascii():
                raise typer.BadParameter(f"metadata key {key!r}: use a-z, 0-9, - and _")
            if not value.isascii():
                raise typer.BadParameter(f"metadata value {value!r} must be ASCII (HTTP header)")
            metadata[key] = value.strip()
    return metadata


def key_for(path: Path, prefix: str) -> str:
    """prefix + the file's relative POSIX path (absolute or ``..`` paths: just the name); a
    name that is not UTF-8 is escaped as the local runner does (``caf%E9.png``)."""
    relative = PurePosixPath(path.as_posix())
    if relative.is_absolute() or ".." in relative.parts:
        relative = PurePosixPath(path.name)
    text = key_for_name(str(relative))
    text = text.removeprefix("./")
    return prefix + text


def branch_from_env(explicit: str | None) -> str | None:
    return (
        explicit or os.environ.get("GITHUB_HEAD_REF") or os.environ.get("GITHUB_REF_NAME") or None
    )


def upload(
    files: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False, readable=True)],
    env: EnvOption = None,
    bucket: Annotated[str | None, setting_option("bucket", "--bucket", mode=Mode.AWS)] = None,
    prefix: PrefixOption = None,
    metadata: Annotated[
        list[str] | None, typer.Option(help="owner=ana,project=x (repeatable)")
    ] = None,
    branch: Annotated[
        str | None, typer.Option(help="Recorded branch [default: GITHUB_HEAD_REF/GITHUB_REF_NAME]")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Upload images to the S3 input prefix; prints the object keys, one per line."""
    from eventlens.storage.s3 import S3ObjectStore

    settings = _settings(environment=env, prefix=prefix, bucket=bucket)
    bucket = settings.bucket
    if not bucket:
        err_console.print("[red]--bucket (or EVENTLENS_BUCKET) is required[/red]")
        raise typer.Exit(2)
    meta = parse_metadata(metadata)
    if found := branch_from_env(branch):
        meta["branch"] = found
    store = S3ObjectStore(bucket)
    uploaded = []
    for path in files:
        key = key_for(path, settings.key_prefix)
        info = store.write(key, path.read_bytes(), meta)
        uploaded.append({"key": key, "bucket": bucket, "size": info.size, "etag": info.etag})
    if as_json:
        print_json(uploaded)
    else:
        for item in uploaded:
            print(item["key"])


def worker(
    queue: Annotated[str, typer.Option("--queue", help="SQS queue URL")],
    env: EnvOption = None,
    table: Annotated[str | None, setting_option("results_table", "--table", mode=Mode.AWS)] = None,
    analyzers: Annotated[
        str | None, setting_option("analyzers", "--analyzers", "--analyzer", mode=Mode.AWS)
    ] = None,
    prefix: PrefixOption = None,
    wait: Annotated[int, typer.Option(min=0, max=20, help="Long-poll seconds")] = 20,
    until_empty: Annotated[
        bool, typer.Option("--until-empty", help="Exit when a poll returns no messages")
    ] = False,
) -> None:
    """Long-poll SQS and analyse each batch like the Lambda would; SIGTERM/SIGINT stop it
    after the current batch. Run several to share the load."""
    from eventlens.aws import observability
    from eventlens.aws.app import AwsApp
    from eventlens.aws.worker import Worker

    observability.structured_logs()  # JSON log lines on stdout, as in Lambda
    settings = _settings(environment=env, prefix=prefix, results_table=table, analyzers=analyzers)
    loop = Worker(AwsApp.from_settings(settings), queue, wait_s=wait)

    def _stop(signum: int, frame: FrameType | None) -> None:
        err_console.print("stopping after the current batch ...")
        loop.stop()

    previous = {s: signal.signal(s, _stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        stats = loop.run(until_empty=until_empty)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    err_console.print(
        json.dumps(
            {"batches": stats.batches, "messages": stats.messages, "deleted": stats.deleted,
             "left_for_retry": stats.left_for_retry, "errors": stats.errors}
        )
    )  # fmt: skip


@app.command()
def backfill(
    queue: Annotated[str, typer.Option("--queue", help="URL of the SQS queue the function reads")],
    bucket: Annotated[str | None, setting_option("bucket", "--bucket", mode=Mode.AWS)] = None,
    prefix: Annotated[
        str, typer.Option("--prefix", help="Key prefix to re-run, e.g. rekognition-input/beta/")
    ] = "",
) -> None:
    """Re-run a prefix after a model or analyzer change: an S3 ObjectCreated notification per
    image and video below it, sent to the function's queue. Objects whose records are current
    are not analysed again."""
    from eventlens.aws.backfill import backfill as send_all
    from eventlens.aws_clients import client

    settings = _settings(bucket=bucket)
    if not settings.bucket:
        err_console.print("[red]--bucket (or EVENTLENS_BUCKET) is required[/red]")
        raise typer.Exit(2)
    try:
        sent = send_all(client("s3"), client("sqs"), settings.bucket, prefix, queue)
    except RuntimeError as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    console.print(f"queued {sent} objects below s3://{settings.bucket}/{prefix}")


def _settings(**values: str | None) -> Settings:
    """AWS-mode settings: variables, then the command line's values."""
    try:
        return Settings.from_env(None, mode=Mode.AWS, **values)
    except ValueError as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
