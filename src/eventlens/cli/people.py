"""``eventlens people``: the people the ``people`` analyzer found; name, merge, split, forget.

Locally they are read from the results database; ``--backend dynamodb`` reads an
environment's DynamoDB people table (AWS mode: ``<env>_people``, or ``--table``), as
``eventlens results --backend dynamodb`` reads its results table."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import Annotated

import typer
from rich.table import Table

from eventlens.cli.options import DbOption, EnvOption, JsonOption, RootOption, load_settings
from eventlens.cli.render import console, err_console, print_json
from eventlens.face_people import PeopleError, PeopleStore, Person, person_number
from eventlens.wiring import Backend, people_index_for

app = typer.Typer(help="People: faces grouped by who they are (the `people` analyzer).")


BackendOption = Annotated[
    Backend, typer.Option("--backend", help="Where people are kept", case_sensitive=False)
]
TableOption = Annotated[
    str | None, typer.Option("--table", help="dynamodb: the people table (default <env>_people)")
]
CollectionOption = Annotated[
    str | None,
    typer.Option(
        "--collection",
        help="dynamodb: the environment's Rekognition face collection, when it runs "
        "rekognition-faces with people on (its faces are deleted too)",
    ),
]


@contextmanager
def _index(
    root: RootOption,
    db: DbOption,
    backend: Backend = Backend.SQLITE,
    env: str | None = None,
    table: str | None = None,
    collection: str | None = None,
) -> Iterator[PeopleStore]:
    settings = load_settings(root=root, db=db)
    if backend is Backend.DYNAMODB:
        if env is None:
            err_console.print("[red]--backend dynamodb needs --env (whose table)[/red]")
            raise typer.Exit(2)
        tables = {env: table or f"{env}_people"}
        collections = {env: collection} if collection else None
        index = people_index_for(settings, backend, tables=tables, collections=collections)
    elif not settings.db_path.exists():
        err_console.print(f"[red]no results database at {settings.db_path}[/red]")
        raise typer.Exit(2)
    else:
        index = people_index_for(settings, backend)
    try:
        yield index
    except PeopleError as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    finally:
        index.close()


def _as_dict(person: Person) -> dict[str, object]:
    return asdict(person)


@app.command("list")
def list_people(
    env: EnvOption,
    as_json: JsonOption = False,
    root: RootOption = None,
    db: DbOption = None,
    backend: BackendOption = Backend.SQLITE,
    table: TableOption = None,
) -> None:
    """Everyone found in an environment, most photos first."""
    with _index(root, db, backend, env, table) as index:
        people = index.people(env)
    if as_json:
        print_json([_as_dict(p) for p in people])
        return
    shown = Table(title=f"{env}: {len(people)} people")
    for column in ("id", "name", "photos", "faces", "a photo"):
        shown.add_column(column, overflow="fold")
    for p in people:
        shown.add_row(p.id, p.name or "", str(p.photos), str(p.faces), p.cover_key or "")
    console.print(shown)


@app.command()
def show(
    person: Annotated[str, typer.Argument(help="an id (P12) or a name")],
    env: EnvOption,
    as_json: JsonOption = False,
    root: RootOption = None,
    db: DbOption = None,
    backend: BackendOption = Backend.SQLITE,
    table: TableOption = None,
) -> None:
    """One person and every photo they are in."""
    with _index(root, db, backend, env, table) as index:
        found = index.find(env, person)
        photos = index.photos_of(env, found.id)
    if as_json:
        print_json(_as_dict(found) | {"keys": photos})
        return
    if person_number(person) is not None and person_number(person) != person_number(found.id):
        console.print(f"{person.upper()} was merged into {found.id}")
    console.print(f"{found.id} {found.name or '(no name)'}: {found.photos} photos")
    for key in photos:
        console.print(f"  {key}")


@app.command()
def name(
    person: Annotated[str, typer.Argument(help="an id (P12) or the current name")],
    new_name: Annotated[str, typer.Argument(metavar="NAME", help='the name ("" removes it)')],
    env: EnvOption,
    as_json: JsonOption = False,
    root: RootOption = None,
    db: DbOption = None,
    backend: BackendOption = Backend.SQLITE,
    table: TableOption = None,
) -> None:
    """Name a person once; every photo of them is then found by that name."""
    with _index(root, db, backend, env, table) as index:
        named = index.name(env, person, new_name)
    _report(named, as_json, "named")


@app.command()
def merge(
    into: Annotated[str, typer.Argument(help="the person who stays (id or name)")],
    others: Annotated[list[str], typer.Argument(help="the people merged into them")],
    env: EnvOption,
    as_json: JsonOption = False,
    root: RootOption = None,
    db: DbOption = None,
    backend: BackendOption = Backend.SQLITE,
    table: TableOption = None,
) -> None:
    """Two or more people who are the same person become one."""
    with _index(root, db, backend, env, table) as index:
        merged = index.merge(env, into, others)
    _report(merged, as_json, "merged into")


@app.command()
def split(
    person: Annotated[str, typer.Argument(help="an id (P12) or a name")],
    keys: Annotated[list[str], typer.Argument(help="the photos whose faces are someone else")],
    env: EnvOption,
    as_json: JsonOption = False,
    root: RootOption = None,
    db: DbOption = None,
    backend: BackendOption = Backend.SQLITE,
    table: TableOption = None,
) -> None:
    """Move a person's faces in the given photos to a new person."""
    with _index(root, db, backend, env, table) as index:
        new = index.split(env, person, keys)
    _report(new, as_json, "split off as")


@app.command()
def forget(
    yes: Annotated[bool, typer.Option("--yes", help="do not ask")] = False,
    env: Annotated[
        str | None, typer.Option("--env", "-e", help="dynamodb: the environment whose table")
    ] = None,
    as_json: JsonOption = False,
    root: RootOption = None,
    db: DbOption = None,
    backend: BackendOption = Backend.SQLITE,
    table: TableOption = None,
    collection: CollectionOption = None,
) -> None:
    """Delete every face descriptor and person (and their names): every environment of the
    results database, or with --backend dynamodb the environment's people table (and with
    --collection every face of its Rekognition face collection)."""
    if not yes and not typer.confirm("Delete all face descriptors and people?"):
        raise typer.Exit(1)
    with _index(root, db, backend, env, table, collection) as index:
        faces, people = index.forget_all()
    if as_json:
        print_json({"faces": faces, "people": people})
        return
    console.print(f"forgot {faces} faces and {people} people")


def _report(person: Person, as_json: bool, verb: str) -> None:
    if as_json:
        print_json(_as_dict(person))
        return
    console.print(f"{verb} {person.id} {person.name or '(no name)'}: {person.photos} photos")


def photos_of_person(
    env: str,
    person: str,
    root: RootOption,
    db: DbOption,
    backend: Backend = Backend.SQLITE,
    table: str | None = None,
) -> list[str]:
    """The keys of the photos a person (a name or an id) is in, for `results search`."""
    with _index(root, db, backend, env, table) as index:
        return index.photos_of(env, person)
