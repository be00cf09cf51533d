"""``eventlens reanalyse``: analyse chosen records again, even when the file and the model are
unchanged (after fixing a file, or to refresh a label or folder with a new model)."""

from __future__ import annotations

import sqlite3
import threading
from functools import partial
from typing import Annotated

import typer

from eventlens.cli.options import (
    AnalyzersOption,
    DbOption,
    LabelModelOption,
    RootOption,
    RouteOption,
    load_settings,
)
from eventlens.cli.render import console
from eventlens.cli.running import (
    check_ready,
    drain_with_progress,
    fail,
    open_local_app,
    print_stats,
)
from eventlens.events.base import ObjectEvent
from eventlens.health import Unrecoverable
from eventlens.pipeline import REQUESTED
from eventlens.reanalysis import Selection, newest_first


def reanalyse(
    root: RootOption = None,
    db: DbOption = None,
    route: RouteOption = None,
    analyzers: AnalyzersOption = None,
    label_model: LabelModelOption = None,
    env: Annotated[
        list[str] | None,
        typer.Option("--env", "-e", help="Only this environment (repeatable) [default: all]"),
    ] = None,
    label: Annotated[
        str | None, typer.Option("--label", help="Records with this label (any case)")
    ] = None,
    prefix: Annotated[
        str | None,
        typer.Option(
            "--prefix",
            help="Records whose key starts with this, or whose path below the environment's "
            "prefix does (holiday/2024/)",
        ),
    ] = None,
    all_records: Annotated[bool, typer.Option("--all", help="Every record")] = False,
    queue_only: Annotated[
        bool,
        typer.Option(
            "--queue-only", help="Only queue them, for an `eventlens run` that is watching"
        ),
    ] = False,
) -> None:
    """Queue the chosen records' files for analysis (newest record first) and analyse them now
    with a progress bar. Records of deleted files are left alone."""
    if not (label or prefix or all_records):
        fail("say which records: --label, --prefix, or --all", 2)
    settings = load_settings(
        root=root, db=db, routes=route, analyzers=analyzers, label_model=label_model
    )
    known = settings.router.environments
    if unknown := [e for e in env or [] if e not in known]:
        fail(f"unknown environment {unknown[0]!r} (configured: {', '.join(known)})", 2)
    if not settings.root.is_dir():
        fail(f"the bucket folder {settings.root} does not exist", 2)
    app_ = open_local_app(settings)
    try:
        chosen: list[tuple[str, ObjectEvent]] = []
        for environment in env or known:
            selection = Selection(
                settings.router.route_for_env(environment).prefix, label=label, prefix=prefix
            )
            chosen.extend(
                (record.timestamp, ObjectEvent(app_.storage.bucket, record.filename,
                                               source=REQUESTED))
                for record in app_.results.iter_all(environment)
                if selection.accepts(record)
            )  # fmt: skip
        app_.queue.enqueue(newest_first(chosen))
        console.print(f"queued {len(chosen)} records for re-analysis")
        if queue_only or not chosen:
            return
        check_ready(app_)
        stop = threading.Event()
        stats = drain_with_progress(partial(app_.runner.drain, stop=stop), app_.queue.pending())
    except Unrecoverable as exc:
        fail(f"stopped: {exc}")
    except sqlite3.Error as exc:
        fail(f"the database {settings.db_path} failed: {exc}")
    finally:
        app_.close()
    print_stats(stats)
