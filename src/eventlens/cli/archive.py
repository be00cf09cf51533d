"""``eventlens archive`` and ``eventlens restore``: old records to Parquet and back."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.markup import escape

from eventlens.cli.options import DbOption, EnvOption, JsonOption, RootOption, load_settings
from eventlens.cli.render import console, err_console, print_json
from eventlens.results.base import ResultStore
from eventlens.wiring import Backend, open_results

BackendOption = Annotated[
    Backend, typer.Option("--backend", help="Where live records are kept", case_sensitive=False)
]
BatchOption = Annotated[
    int, typer.Option("--batch-size", min=1, help="Records written, verified, deleted at a time")
]


def _store(env: str, backend: Backend, root: RootOption, db: DbOption) -> ResultStore:
    settings = load_settings(root=root, db=db)
    tables = {env: settings.tables.get(env, f"{env}_results")}
    try:
        return open_results(settings, backend, tables=tables, must_exist=True)
    except FileNotFoundError as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc


def _need_pyarrow() -> None:
    try:
        import pyarrow  # noqa: F401
    except ImportError as exc:
        err_console.print(
            f"[red]{escape(str(exc))}[/red]: install the extra: pip install 'eventlens\\[archive]'"
        )
        raise typer.Exit(2) from exc


def _time(text: str | None, option: str) -> datetime | None:
    from eventlens.archive import parse_older_than

    if text is None:
        return None
    try:
        return parse_older_than(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from exc


def archive(
    env: EnvOption,
    older_than: Annotated[
        str, typer.Option("--older-than", help="Age (90d, 12h, 30m, 2w) or ISO date/time cutoff")
    ],
    to: Annotated[str, typer.Option("--to", help="Folder or s3://bucket/prefix")],
    backend: BackendOption = Backend.SQLITE,
    batch_size: BatchOption = 500,
    as_json: JsonOption = False,
    root: RootOption = None,
    db: DbOption = None,
) -> None:
    """Export records older than the cutoff to Parquet, verify the files, then delete them."""
    from eventlens import archive as arc

    _need_pyarrow()
    cutoff = _time(older_than, "--older-than")
    assert cutoff is not None
    target = arc.open_target(to)
    with _store(env, backend, root, db) as store:
        report = arc.archive(store, env, cutoff, target, batch_size=batch_size)
    if as_json:
        print_json(
            {
                "environment": report.environment, "cutoff": report.cutoff,
                "archived": report.archived, "deleted": report.deleted,
                "changed_meanwhile": report.changed_meanwhile, "files": report.files,
            }
        )  # fmt: skip
        return
    kept = report.changed_meanwhile
    console.print(
        f"archived {report.archived} record(s) of {env} older than {report.cutoff} "
        f"into {len(report.files)} file(s); deleted {report.deleted} from the live store"
        + (f"; {kept} changed meanwhile and stay live" if kept else "")
    )


def restore(
    env: EnvOption,
    source: Annotated[str, typer.Option("--from", help="Folder or s3://bucket/prefix")],
    since: Annotated[
        str | None, typer.Option("--since", help="Only records at/after this ISO date/time")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Only records before this ISO date/time")
    ] = None,
    backend: BackendOption = Backend.SQLITE,
    as_json: JsonOption = False,
    root: RootOption = None,
    db: DbOption = None,
) -> None:
    """Bring archived records back (idempotent; a newer live record is never overwritten)."""
    from eventlens import archive as arc

    _need_pyarrow()
    target = arc.open_target(source)
    low, high = _time(since, "--since"), _time(until, "--until")
    with _store(env, backend, root, db) as store:
        report = arc.restore(store, env, target, since=low, until=high)
    if as_json:
        print_json(
            {
                "environment": report.environment, "files": report.files, "read": report.read,
                "restored": report.restored, "unchanged": report.unchanged,
                "kept_newer": report.kept_newer,
            }
        )  # fmt: skip
        return
    console.print(
        f"read {report.read} record(s) from {report.files} file(s): restored {report.restored}, "
        f"{report.unchanged} already live, {report.kept_newer} kept (newer live record)"
    )
