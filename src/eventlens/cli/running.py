"""What the commands that process the intake queue share: the readiness check, the progress
bar, the closing summary, and the one-line failure."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from typing import NoReturn

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from eventlens.analyzers.base import Analyzer, AnalyzerUnavailable
from eventlens.cli.render import console, err_console
from eventlens.convert.cache import ModelCacheUnwritable
from eventlens.outcome import Outcome
from eventlens.runner import RunStats
from eventlens.settings import Settings
from eventlens.wiring.local import LocalApp, build_local_app


def fail(message: str, code: int = 1) -> NoReturn:
    err_console.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)
    raise typer.Exit(code)


def open_local_app(settings: Settings) -> LocalApp:
    """The local pipeline, or one line and an exit code: 1 for a database that cannot be
    opened, 2 for an analyzer without its model."""
    try:
        return build_local_app(settings)
    except (sqlite3.Error, OSError) as exc:
        fail(f"cannot open the database {settings.db_path}: {exc}")
    except AnalyzerUnavailable as exc:
        fail(str(exc), 2)


def check_ready(app_: LocalApp) -> None:
    """Refuse to start on a database that takes no writes, or without an analyzer's model:
    one line, not a traceback per image later."""
    try:
        app_.queue.check_writable()
    except sqlite3.Error as exc:
        fail(f"cannot write the database {app_.settings.db_path}: {exc}")
    for found in app_.pipeline.analyzers.values():
        refuse_a_degraded_label_model(found)
    try:
        for found in app_.pipeline.analyzers.values():
            for analyzer in found:
                analyzer.load()
    except (AnalyzerUnavailable, ModelCacheUnwritable) as exc:
        fail(str(exc), 2)


def refuse_a_degraded_label_model(analyzers: Iterable[Analyzer]) -> None:
    """A label model whose detectors are not installed would store records without
    ``Person``: refuse to start (one line naming the command that installs them)."""
    from eventlens.analyzers.labels import LabelAnalyzer
    from eventlens.analyzers.model_packages import missing, missing_message

    for analyzer in analyzers:
        if isinstance(analyzer, LabelAnalyzer):
            gone = missing(analyzer.model)
            if gone:
                fail(missing_message(analyzer.model, gone), 2)


def drain_with_progress(
    drain: Callable[[Callable[[Outcome], None]], RunStats], total: int
) -> RunStats:
    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("analysing", total=total)

        def advance(outcome: Outcome) -> None:
            progress.advance(task)

        stats = drain(advance)
    return stats


def print_stats(stats: RunStats) -> None:
    parts = [f"{count} {action}" for action, count in sorted(stats.counts.items())]
    if stats.dead_lettered:
        parts.append(f"{stats.dead_lettered} dead-lettered")
    console.print("done: " + (", ".join(parts) or "nothing to do"))


def announce_stale(count: int) -> None:
    """Say why records whose files did not change are analysed again."""
    if count:
        console.print(
            f"re-analysing {count} records made with another model or analyzer set "
            "(newest first; EVENTLENS_REANALYSE_ON_CHANGE=0 turns this off)"
        )
