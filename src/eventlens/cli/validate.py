"""``eventlens validate``: wait until every key has an ``ok`` record (what CI runs)."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from eventlens.cli.options import DbOption, EnvOption, JsonOption, RootOption, load_settings
from eventlens.cli.render import console, err_console, print_json, records_table
from eventlens.cli.results import BackendOption, TableOption, open_for, require_known_env
from eventlens.results.base import ResultStore
from eventlens.results.record import Record
from eventlens.wiring import Backend


def full_key(key: str, prefix: str) -> str:
    """Accept keys with or without the environment's prefix."""
    key = key.lstrip("/")
    return key if key.startswith(prefix) else prefix + key


def poll(
    store: ResultStore, env: str, keys: list[str], timeout_s: float, interval_s: float
) -> dict[str, Record | None]:
    deadline = time.monotonic() + timeout_s
    found: dict[str, Record | None] = dict.fromkeys(keys)
    while True:
        for key in keys:
            if not _current(found[key]):
                found[key] = store.get(env, key)
        if all(_current(r) for r in found.values()) or time.monotonic() >= deadline:
            return found
        time.sleep(min(interval_s, max(0.0, deadline - time.monotonic())))


def _current(record: Record | None) -> bool:
    """A record of an object that still exists (a deleted one may be uploaded again)."""
    return record is not None and record.deleted_at is None


def validate(
    env: EnvOption,
    keys: Annotated[list[str], typer.Argument(help="Object keys (with or without the prefix)")],
    timeout: Annotated[float, typer.Option(help="Seconds to wait for records")] = 60.0,
    interval: Annotated[float, typer.Option(help="Seconds between polls")] = 1.0,
    as_json: JsonOption = False,
    backend: BackendOption = Backend.SQLITE,
    table: TableOption = None,
    root: RootOption = None,
    db: DbOption = None,
) -> None:
    """Poll until every KEY has an ok record; exit 1 naming the missing or failed ones."""
    settings = load_settings(root=root, db=db)
    require_known_env(settings, env, table)
    prefix = settings.router.route_for_env(env).prefix if env in settings.tables else ""
    wanted = [full_key(k, prefix) for k in keys]
    with open_for(env, backend, table, root, db) as store:
        found = poll(store, env, wanted, timeout, interval)
    missing = [k for k, r in found.items() if r is None]
    deleted = [r for r in found.values() if r is not None and r.deleted_at is not None]
    failed = [r for r in found.values() if _current(r) and r is not None and not r.ok]
    records = [r for r in found.values() if r is not None]
    if as_json:
        print_json(
            {
                "ok": not missing and not failed and not deleted,
                "missing": missing,
                "deleted": [r.filename for r in deleted],
                "failed": [r.filename for r in failed],
                "records": [r.to_dict() for r in records],
            }
        )
    elif records:
        console.print(records_table(records, title=f"{env}: {len(records)}/{len(wanted)} found"))
    for key in missing:
        err_console.print(f"[red]missing:[/red] {key} (no record after {timeout:g}s)")
    for record in deleted:
        err_console.print(f"[red]deleted:[/red] {record.filename} (at {record.deleted_at})")
    for record in failed:
        err_console.print(f"[red]failed:[/red] {record.filename}: {record.error}")
    if missing or failed or deleted:
        raise typer.Exit(1)
