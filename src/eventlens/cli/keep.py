"""``eventlens keep`` and ``eventlens trash-copies``: act on duplicate groups. A copy's file is
only ever moved, into the trash folder inside the root, and only by ``trash-copies`` for groups
whose kept copy a user chose (``keep``, or the dashboard's "Keep this one")."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from eventlens.cli.options import DbOption, EnvOption, RootOption, load_settings
from eventlens.cli.render import console
from eventlens.cli.running import fail
from eventlens.results.keep import decide, decided_groups, duplicate_group
from eventlens.results.sqlite import SQLiteResultStore
from eventlens.settings import Settings
from eventlens.storage.base import ObjectUnavailable
from eventlens.storage.local import LocalFolderStore

TRASH = ".eventlens-trash"  # inside the root, outside every route: never watched or analysed


def _store(settings: Settings) -> SQLiteResultStore:
    if not settings.db_path.exists():
        fail(f"no results database at {settings.db_path}", 2)
    return SQLiteResultStore(settings.db_path, settings.tables)


def keep(
    key: Annotated[str, typer.Argument(help="Object key of the copy to keep")],
    env: EnvOption,
    root: RootOption = None,
    db: DbOption = None,
) -> None:
    """Choose the copy of a duplicate group to keep (stored in its record; no file moves)."""
    settings = load_settings(root=root, db=db)
    store = _store(settings)
    try:
        record = store.get(env, key)
        group = duplicate_group(store, record) if record is not None else []
        if not group:
            fail(f"{key!r} in {env} has no duplicates", 2)
        decide(store, group, key)
    finally:
        store.close()
    others = len(group) - 1
    console.print(f"keeping {escape(key)}; {others} other {'copy' if others == 1 else 'copies'}"
                  f" (eventlens trash-copies --env {env} moves them to {TRASH}/)")  # fmt: skip


def trash_copies(
    env: EnvOption,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only say what would move")] = False,
    root: RootOption = None,
    db: DbOption = None,
) -> None:
    """Move the copies not kept of every decided duplicate group into .eventlens-trash/ inside
    the root (same relative path); nothing is deleted, and undecided groups are left alone."""
    settings = load_settings(root=root, db=db)
    store = _store(settings)
    folder = LocalFolderStore(settings.root)
    moved = 0
    try:
        for group in decided_groups(store, env):
            for copy in group.others:
                target = _move(folder, copy.filename, dry_run)
                if target is not None:
                    moved += 1
                    verb = "would move" if dry_run else "moved"
                    console.print(f"{verb} {escape(copy.filename)} -> {escape(str(target))}"
                                  f" (kept: {escape(group.kept.filename)})")  # fmt: skip
    finally:
        store.close()
    console.print(f"{'would move' if dry_run else 'moved'} {moved} copies to {folder.root / TRASH}")


def _move(folder: LocalFolderStore, key: str, dry_run: bool) -> Path | None:
    """Move one copy's file under the trash folder (never over another file); None when it
    is gone already or not a file inside the root."""
    try:
        source = folder.path_for(key)
    except ObjectUnavailable:
        return None
    if not source.is_file() or source.is_symlink():
        return None
    target = folder.root / TRASH / key
    number = 1
    while target.exists():
        number += 1
        target = target.with_name(f"{Path(key).stem} ({number}){Path(key).suffix}")
    if not dry_run:
        target.parent.mkdir(parents=True, exist_ok=True)
        source.rename(target)
    return target
