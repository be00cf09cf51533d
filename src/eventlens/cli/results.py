"""``eventlens results list|get|search``."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from eventlens.cli.options import DbOption, EnvOption, JsonOption, RootOption, load_settings
from eventlens.cli.people import photos_of_person
from eventlens.cli.render import console, err_console, print_json, records_table
from eventlens.results.base import Query, ResultStore
from eventlens.results.finding_terms import ANY
from eventlens.results.record import Record, Status
from eventlens.settings import Settings
from eventlens.wiring import Backend, open_results

app = typer.Typer(help="Read analysis records.", no_args_is_help=True)

BackendOption = Annotated[
    Backend, typer.Option("--backend", help="Where records are kept", case_sensitive=False)
]
TableOption = Annotated[
    str | None, typer.Option("--table", help="Table name (default: <env>_results)")
]
LimitOption = Annotated[int, typer.Option("--limit", "-n", min=1, help="At most this many")]
IncludeDeletedOption = Annotated[
    bool,
    typer.Option("--include-deleted", help="Also records of objects deleted since (marked so)"),
]


def require_known_env(settings: Settings, env: str, table: str | None) -> None:
    """Exit 2 naming the configured environments, unless ``--table`` says where to read."""
    if table is None and env not in settings.tables:
        known = ", ".join(sorted(settings.tables))
        err_console.print(
            f"[red]unknown environment {env!r}: configured are {known} "
            "(see --route / EVENTLENS_ROUTES), or pass --table[/red]"
        )
        raise typer.Exit(2)


@contextmanager
def open_for(
    env: str, backend: Backend, table: str | None, root: Path | None, db: Path | None
) -> Iterator[ResultStore]:
    """The store to read ``env``'s records from; opened read-only (a read never writes) and
    closed after the block. A database that fails while it is read (a damaged page) is one
    line and exit 1, as in ``eventlens run``."""
    settings = load_settings(root=root, db=db)
    require_known_env(settings, env, table)
    tables = {env: table or settings.tables[env]}
    try:
        store = open_results(
            backend=backend, settings=settings, tables=tables, read_only=True, must_exist=True
        )
    except (FileNotFoundError, sqlite3.Error) as exc:
        err_console.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from exc
    try:
        with store:
            yield store
    except sqlite3.Error as exc:
        err_console.print(
            f"[red]error:[/red] the database {escape(str(settings.db_path))} failed: "
            f"{escape(str(exc))}",
            soft_wrap=True,
        )
        raise typer.Exit(1) from None


@app.command("list")
def list_records(
    env: EnvOption,
    status: Annotated[Status | None, typer.Option(help="Only ok or error records")] = None,
    since: Annotated[str | None, typer.Option(help="ISO-8601 time or date, inclusive")] = None,
    limit: LimitOption = 50,
    include_deleted: IncludeDeletedOption = False,
    as_json: JsonOption = False,
    backend: BackendOption = Backend.SQLITE,
    table: TableOption = None,
    root: RootOption = None,
    db: DbOption = None,
) -> None:
    """List the newest records of an environment (of deleted objects: --include-deleted)."""
    with open_for(env, backend, table, root, db) as store:
        _show(
            store,
            Query(env, status=status, since=since, limit=limit, include_deleted=include_deleted),
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
    person: Annotated[
        str | None, typer.Option("--person", help="A person's name or id (`eventlens people`)")
    ] = None,
    people_table: Annotated[
        str | None,
        typer.Option("--people-table", help="dynamodb: the people table (default <env>_people)"),
    ] = None,
    status: Annotated[Status | None, typer.Option(help="Only ok or error records")] = None,
    limit: LimitOption = 50,
    include_deleted: IncludeDeletedOption = False,
    as_json: JsonOption = False,
    backend: BackendOption = Backend.SQLITE,
    table: TableOption = None,
    root: RootOption = None,
    db: DbOption = None,
) -> None:
    """Find records by label, findings and/or person (all given conditions must hold;
    case-insensitive; records of deleted objects only with --include-deleted)."""
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
    if not label and not findings and not person:
        err_console.print(
            "[red]give at least one of --label, --text, --faces, --moderation, --duplicates, "
            "--color, --person[/red]"
        )
        raise typer.Exit(2)
    query = Query(
        env,
        label=label,
        status=status,
        limit=limit,
        findings=tuple(findings),
        include_deleted=include_deleted,
    )
    with open_for(env, backend, table, root, db) as store:
        if person is None:
            _show(store, query, as_json)
            return
        keys = photos_of_person(env, person, root, db, backend, people_table)
        found = [r for key in keys if (r := store.get(env, key)) is not None and query.accepts(r)]
    found.sort(key=lambda r: (r.timestamp, r.filename), reverse=True)
    _print(found[:limit], env, as_json)


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
    _print(store.query(query), query.environment, as_json)


def _print(records: list[Record], environment: str, as_json: bool) -> None:
    if as_json:
        print_json([r.to_dict() for r in records])
    else:
        console.print(records_table(records, title=f"{environment}: {len(records)} records"))
