"""``eventlens``: run the embedded pipeline, analyse files, read and validate results."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import sqlite3
import threading
from functools import partial
from importlib import resources
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.markup import escape

from eventlens.analyzers import registry
from eventlens.analyzers.base import AnalyzerUnavailable
from eventlens.cli import archive, aws, dlq, github, models, people, results
from eventlens.cli.doctor import doctor
from eventlens.cli.duplicates import duplicates
from eventlens.cli.keep import keep, trash_copies
from eventlens.cli.options import (
    AnalyzersOption,
    DbOption,
    JsonOption,
    LabelModelOption,
    RootOption,
    RouteOption,
    load_settings,
    setting_option,
)
from eventlens.cli.reanalyse import reanalyse
from eventlens.cli.render import (
    console,
    err_console,
    most_specific_first,
    print_json,
    records_table,
)
from eventlens.cli.running import (
    announce_stale,
    check_ready,
    drain_with_progress,
    fail,
    open_local_app,
    print_stats,
    refuse_a_degraded_label_model,
)
from eventlens.cli.serve import serve
from eventlens.cli.settings import settings
from eventlens.cli.validate import validate
from eventlens.convert.cache import ModelCacheUnwritable
from eventlens.health import Unrecoverable
from eventlens.imaging import ImageInput, ImageRejected
from eventlens.outcome import Outcome
from eventlens.results.base import Query
from eventlens.wiring.local import build_local_app

app = typer.Typer(
    help="Event-driven image analysis: a folder or S3 bucket in, Rekognition-shaped labels out.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(results.app, name="results")
app.add_typer(models.app, name="models")
app.add_typer(dlq.app, name="dlq")
app.add_typer(people.app, name="people")
app.add_typer(github.app, name="github")
app.command()(validate)
app.command()(doctor)
app.command()(duplicates)
app.command()(keep)
app.command("trash-copies")(trash_copies)
app.command()(serve)
app.command()(reanalyse)
app.command()(settings)
app.command("archive")(archive.archive)
app.command("restore")(archive.restore)
app.add_typer(aws.app, name="aws")
app.command()(aws.upload)
app.command()(aws.worker)


def _print_version(requested: bool) -> None:
    if requested:
        from eventlens import __version__

        console.print(f"eventlens {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log each event")] = False,
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit"
        ),
    ] = False,
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@app.command()
def run(
    root: RootOption = None,
    db: DbOption = None,
    route: RouteOption = None,
    analyzers: AnalyzersOption = None,
    label_model: LabelModelOption = None,
    once: Annotated[bool, typer.Option("--once", help="Process what is there, then exit")] = False,
    create: Annotated[
        bool, typer.Option("--create", help="Create the root folder when it does not exist")
    ] = False,
    batch_size: Annotated[int | None, setting_option("batch_size", "--batch-size", min=1)] = None,
    audit_log: Annotated[
        Path | None, setting_option("audit_log", "--audit-log", dir_okay=False)
    ] = None,
    webhook: Annotated[str | None, setting_option("webhook_url", "--webhook")] = None,
) -> None:
    """Watch the bucket folder and analyse every new or changed image (reconciling first).

    SIGTERM or Ctrl-C stops after the current batch; a second one stops at once. Exits 1 when
    processing cannot go on (see EVENTLENS_GIVE_UP_AFTER), so a supervisor can restart it."""
    settings = load_settings(
        root=root, db=db, routes=route, analyzers=analyzers, label_model=label_model,
        batch_size=batch_size, audit_log=audit_log, webhook_url=webhook,
    )  # fmt: skip
    if not settings.root.is_dir():
        if not create:
            fail(f"the bucket folder {settings.root} does not exist (pass --create to make it)", 2)
        settings.root.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()
    interrupted = _stop_on_signals(stop)
    app_ = open_local_app(settings)
    try:
        check_ready(app_)
        app_.health.start_heartbeat()
        if once:
            pending = app_.runner.reconcile()
            announce_stale(app_.runner.stale_queued)
            stats = drain_with_progress(partial(app_.runner.drain, stop=stop), pending)
        else:
            console.print(
                f"watching [bold]{settings.root.resolve()}[/bold] "
                f"({', '.join(r.prefix for r in settings.routes)}); Ctrl-C to stop"
            )
            stats = app_.runner.watch(stop, progress=_print_outcome)
        left = app_.queue.pending() if once and interrupted else 0
    except Unrecoverable as exc:
        fail(f"stopped: {exc}")
    except sqlite3.Error as exc:
        fail(f"the database {settings.db_path} failed: {exc}")
    finally:
        app_.health.stop_heartbeat()
        app_.close()
    print_stats(stats)
    if once and interrupted:
        err_console.print(f"interrupted: {left} events left for the next run")
        raise typer.Exit(128 + interrupted[0])


def _stop_on_signals(stop: threading.Event) -> list[int]:
    """SIGINT/SIGTERM: stop after the current batch; a second one: exit at once (leases of a
    process that is gone are released by the next run). Returns the signals received."""
    received: list[int] = []

    def handle(signum: int, frame: FrameType | None) -> None:
        received.append(signum)
        if len(received) > 1:
            os._exit(128 + signum)
        err_console.print("stopping after the current batch (again to stop at once)")
        stop.set()

    signal.signal(signal.SIGINT, handle)
    signal.signal(signal.SIGTERM, handle)
    return received


def _print_outcome(outcome: Outcome) -> None:
    record = outcome.record
    if outcome.action.value == "stored" and record is not None:
        names = [str(label["Name"]) for label in most_specific_first(record.labels)[:5]]
        summary = ", ".join(names) or "no label above the confidence threshold"
        console.print(f"[green]ok[/green] {escape(record.filename)}: {escape(summary)}")
    elif outcome.action.value == "failed":
        console.print(f"[red]error[/red] {escape(outcome.event.key)}: {escape(outcome.reason)}")


@app.command()
def analyze(
    files: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False, readable=True)],
    max_labels: Annotated[int | None, setting_option("max_labels", "--max-labels", min=1)] = None,
    min_confidence: Annotated[
        float | None, setting_option("min_confidence", "--min-confidence", min=0, max=100)
    ] = None,
    analyzer_name: Annotated[
        str,
        typer.Option(
            "--analyzer",
            "-a",
            help="labels, image_properties, faces, text, moderation or video (a video file)",
        ),
    ] = "labels",
    label_model: LabelModelOption = None,
) -> None:
    """Analyse files and print Rekognition-shaped JSON (DetectLabels by default; no store
    needed)."""
    if analyzer_name == "duplicates":
        raise typer.BadParameter("duplicates compares with stored images: use `eventlens run`")
    try:
        settings = load_settings(
            max_labels=max_labels, min_confidence=min_confidence, label_model=label_model
        )
        analyzer = registry.create(analyzer_name, registry.AnalyzerContext(settings))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    refuse_a_degraded_label_model([analyzer])
    try:
        analyzer.load()
    except (AnalyzerUnavailable, ModelCacheUnwritable) as exc:
        fail(str(exc), 2)
    media = "video" if "video" in analyzer.media else "image"
    inputs = [ImageInput(path.read_bytes(), str(path), media=media) for path in files]
    output = []
    failed = False
    for path, result in zip(files, analyzer.analyze_batch(inputs), strict=True):
        if isinstance(result, ImageRejected):
            output.append({"File": str(path), "Error": str(result)})
            failed = True
        elif isinstance(result, Exception):
            raise result
        else:
            output.append({"File": str(path), **result})
    print_json(output if len(output) > 1 else output[0])
    if failed:
        raise typer.Exit(1)


@app.command()
def demo(
    root: RootOption = None,
    db: DbOption = None,
) -> None:
    """Copy the bundled sample photos into the bucket folder, analyse them once, show results."""
    settings = load_settings(root=root, db=db)
    samples = resources.files("eventlens") / "samples"
    for route in settings.routes:
        folder = samples / route.environment
        if not folder.is_dir():
            continue
        target = settings.root / route.prefix
        target.mkdir(parents=True, exist_ok=True)
        for item in folder.iterdir():
            with resources.as_file(item) as path:
                shutil.copyfile(path, target / item.name)
    app_ = build_local_app(settings)
    try:
        check_ready(app_)
        stats = drain_with_progress(app_.runner.drain, app_.runner.reconcile())
        for env in settings.router.environments:
            console.print(records_table(app_.results.query(Query(env, limit=20)), title=env))
    finally:
        app_.close()
    print_stats(stats)
    console.print(f"results database: {settings.db_path}")


@app.command("version")
def version(as_json: JsonOption = False) -> None:
    """Print the eventlens version."""
    from eventlens import __version__

    if as_json:
        print_json({"version": __version__})
    else:
        console.print(__version__)
