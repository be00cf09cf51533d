"""``eventlens duplicates``: groups of exact and near-duplicate images in an environment."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from eventlens.analyzers.duplicates import DEFAULT_MAX_DISTANCE
from eventlens.cli.options import DbOption, EnvOption, JsonOption, RootOption, load_settings
from eventlens.cli.render import console, err_console, print_json
from eventlens.image_hashes import hamming, to_hex
from eventlens.results.hash_index import SQLiteHashIndex, duplicate_groups


def duplicates(
    env: EnvOption,
    max_distance: Annotated[
        int, typer.Option("--max-distance", min=0, max=32, help="Largest pHash distance (bits)")
    ] = DEFAULT_MAX_DISTANCE,
    as_json: JsonOption = False,
    root: RootOption = None,
    db: DbOption = None,
) -> None:
    """List groups of duplicate images (needs the `duplicates` analyzer enabled)."""
    settings = load_settings(root=root, db=db)
    if not settings.db_path.exists():
        err_console.print(f"[red]no results database at {settings.db_path}[/red]")
        raise typer.Exit(2)
    index = SQLiteHashIndex(settings.db_path)
    try:
        groups = duplicate_groups(index.entries(env), max_distance)
    finally:
        index.close()
    data = [
        [
            {
                "Key": entry.key,
                "phash": to_hex(entry.phash),
                "dhash": to_hex(entry.dhash),
                "Distance": hamming(entry.phash, group[0].phash),
                "Exact": entry.sha256 == group[0].sha256,
            }
            for entry in group
        ]
        for group in groups
    ]
    if as_json:
        print_json(data)
        return
    table = Table(title=f"{env}: {len(groups)} duplicate groups (pHash distance <= {max_distance})")
    table.add_column("group")
    table.add_column("key", overflow="fold")
    table.add_column("distance to first")
    table.add_column("exact")
    for number, group in enumerate(data, 1):
        for member in group:
            table.add_row(
                str(number), str(member["Key"]), str(member["Distance"]),
                "yes" if member["Exact"] else "",
            )  # fmt: skip
    console.print(table)
