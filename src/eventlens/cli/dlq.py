"""``eventlens dlq list|retry|purge``: the dead-letter table of the local intake queue."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from eventlens.cli.options import DbOption, JsonOption, RootOption, load_settings
from eventlens.cli.render import console, err_console, print_json
from eventlens.intake import IntakeQueue

app = typer.Typer(
    help="Inspect, retry or purge events that failed too often.", no_args_is_help=True
)
IdsArgument = Annotated[list[int] | None, typer.Argument(help="Dead-letter ids (default: all)")]


def _queue(root: RootOption, db: DbOption) -> IntakeQueue:
    path = load_settings(root=root, db=db).db_path
    if not path.is_file():  # never create a database (or its folders) to show it is empty
        err_console.print(f"[red]no database at {path} (pass --root/--db)[/red]")
        raise typer.Exit(2)
    return IntakeQueue(path)


@app.command("list")
def list_dead(root: RootOption = None, db: DbOption = None, as_json: JsonOption = False) -> None:
    """Show dead-lettered events with their last error."""
    queue = _queue(root, db)
    letters = queue.dead_letters(limit=1000)
    queue.close()
    if as_json:
        print_json(
            [
                {
                    "id": d.id,
                    "key": d.event.key,
                    "attempts": d.attempts,
                    "error": d.error,
                    "failed_at": d.failed_at,
                }
                for d in letters
            ]
        )
        return
    table = Table(title=f"{len(letters)} dead letters")
    for column in ("id", "key", "attempts", "error", "failed at"):
        table.add_column(column, overflow="fold")
    for d in letters:
        when = datetime.fromtimestamp(d.failed_at, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        table.add_row(str(d.id), d.event.key, str(d.attempts), d.error, when)
    console.print(table)


@app.command()
def retry(ids: IdsArgument = None, root: RootOption = None, db: DbOption = None) -> None:
    """Put dead letters back into the queue; the next `eventlens run` processes them."""
    queue = _queue(root, db)
    moved = queue.retry_dead(ids)
    queue.close()
    console.print(f"re-queued {moved} event(s)")


@app.command()
def purge(
    ids: IdsArgument = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask")] = False,
    root: RootOption = None,
    db: DbOption = None,
) -> None:
    """Delete dead letters for good."""
    if not yes and not ids:
        typer.confirm("Delete ALL dead letters?", abort=True)
    queue = _queue(root, db)
    removed = queue.purge_dead(ids)
    queue.close()
    console.print(f"purged {removed} dead letter(s)")
