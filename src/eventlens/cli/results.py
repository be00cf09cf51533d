"""``eventlens results list|get|search``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from eventlens.cli.options import DbOption, EnvOption, JsonOption, RootOption, load_settings
from eventlens.cli.render import console, err_console, print_json, records_table
from eventlens.results.base import Query, ResultStore
from eventlens.results.factory import Backend, open_store
from eventlens.results.finding_terms import ANY
from eventlens.results.record import Status

app = typer.Typer(help="Read analysis records.", no_args_is_help=True)

BackendOption = Annotated[
    Backend, typer.Option("--backend", help="Where records are kept", case_sensitive=False)
]
TableOption = Annotated[
    str | None, typer.Option("--table", help="Table name (default: <env>_results)")
]
LimitOption = Annotated[int, typer.Option("--limit", "-n", min=1, help="At most this many")]


def open_for(
    env: str, backend: Backend, table: str | None, root: Path | None, db: Path | None
) -> ResultStore:
    settings = load_settings(root=root, db=db)
    tables = {env: table or settings.tables.get(env, f"{env}_results")}
    try:
        return open_store(backend, settings, tables=tables)
    except FileNotFoundError as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc


@app.command("list")
def list_records(
    env: EnvOption,
    status: Annotated[Status | None, typer.Option(help="Only ok or error records")] = None,
    since: Annotated[str | None, typer.Option(help="ISO-8601 time or date, inclusive")] = None,
    limit: LimitOption = 50,
    as_json: JsonOption = False,
    backend: BackendOption = Backend.SQLITE,
    table: TableOption = None,
    root: RootOption = None,
    db: DbOption = None,
) -> None:
    """List the newest records of an environment."""
    _show(
        open_for(env, backend, table, root, db),
        Query(env, status=status, since=since, limit=limit),
        as_json,
    )


@app.command()
def search(
    env: EnvOption,
    label: Annotated[str | None, typer.Option("--label", "-l", help="Label name, e.g. Dog")] = None,
    text: Annotated[
        str | None, typer.Option("--text", help="A word (or whole line) of detected text")
    ] = None,
    faces: Annotated[bool, typer.Option("--faces", help="Only records with faces")] = False,
    moderation: Annotated[
        str | None,
        typer.Option(
            "--moderation", help="A moderation label or category (e.g. Suggestive), or 'any'"
        ),
    ] = None,
    duplicates: Annotated[
        bool, typer.Option("--duplicates", help="Only near/exact duplicates of earlier images")
    ] = False,
    color: Annotated[
        str | None,
        typer.Option(
            "--color",
            help="A dominant colour: red, orange, yellow, green, blue, purple, pink, brown, "
            "black, white, grey, or a CSS colour name (e.g. steelblue)",
        ),
    ] = None,
    status: Annotated[Status | None, typer.Option(help="Only ok or error records")] = None,
    limit: LimitOption = 50,
    as_json: JsonOption = False,
    backend: BackendOption = Backend.SQLITE,
    table: TableOption = None,
    root: RootOption = None,
    db: DbOption = None,
) -> None:
    """Find records by label and/or findings (all given conditions must hold;
    case-insensitive)."""
    findings: list[tuple[str, str]] = []
    if text:
        findings.append(("text", text.strip().lower()))
    if faces:
        findings.append(("faces", ANY))
    if moderation:
        findings.append(("moderation", ANY if moderation.lower() == "any" else moderation))
    if duplicates:
        findings.append(("duplicate", ANY))
    if color:
        findings.append(("color", color.strip().lower()))
    if not label and not findings:
        err_console.print(
            "[red]give at least one of --label, --text, --faces, --moderation, --duplicates, "
            "--color[/red]"
        )
        raise typer.Exit(2)
    _show(
        open_for(env, backend, table, root, db),
        Query(env, label=label, status=status, limit=limit, findings=tuple(findings)),
        as_json,
    )


@app.command()
def get(
    env: EnvOption,
    key: Annotated[str, typer.Argument(help="Object key, e.g. rekognition-input/beta/cat.jpg")],
    as_json: JsonOption = False,
    backend: BackendOption = Backend.SQLITE,
    table: TableOption = None,
    root: RootOption = None,
    db: DbOption = None,
) -> None:
    """Show one record."""
    with open_for(env, backend, table, root, db) as store:
        record = store.get(env, key)
    if record is None:
        err_console.print(f"[red]no record for {key!r} in {env}[/red]")
        raise typer.Exit(1)
    if as_json:
        print_json(record.to_dict())
    else:
        console.print(records_table([record]))


def _show(store: ResultStore, query: Query, as_json: bool) -> None:
    with store:
        records = store.query(query)
    if as_json:
        print_json([r.to_dict() for r in records])
    else:
        console.print(records_table(records, title=f"{query.environment}: {len(records)} records"))
