"""``eventlens settings``: what this process would run with, and the settings reference's tables."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from eventlens.cli.options import JsonOption
from eventlens.cli.render import console, err_console, print_json
from eventlens.settings import Mode, Settings, options
from eventlens.settings_docs import readme_with_tables


def settings(
    mode: Annotated[
        Mode, typer.Option("--mode", case_sensitive=False, help="local, or aws (Lambda, worker)")
    ] = Mode.LOCAL,
    readme: Annotated[
        Path | None,
        typer.Option(
            "--readme",
            dir_okay=False,
            help="Rewrite the settings tables in this Markdown page (docs/settings.md)",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Print the settings in force (from EVENTLENS_* variables and defaults)."""
    if readme is not None:
        try:
            text = readme_with_tables(readme.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            err_console.print(f"[red]{escape(str(readme))}: {escape(str(exc))}[/red]")
            raise typer.Exit(2) from exc
        readme.write_text(text, encoding="utf-8")
        console.print(f"updated the settings tables in {readme}")
        return
    try:
        loaded = Settings.from_env(mode=mode)
    except ValueError as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    values: dict[str, str | None] = {}
    for name, option in options().items():
        if mode in option.modes:
            value = getattr(loaded, name)
            values[option.variable] = None if value is None else option.show(value)
    if as_json:
        print_json(values)
        return
    for variable, shown in values.items():
        console.print(f"{variable}={shown or ''}", highlight=False, soft_wrap=True)
