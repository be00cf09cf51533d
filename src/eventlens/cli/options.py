"""Options shared by several commands; their help and defaults come from ``eventlens.settings``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from eventlens.routing import parse_route
from eventlens.settings import Mode, Settings, default_for, options
from eventlens.settings_docs import default_text


def setting_option(name: str, *flags: str, mode: Mode = Mode.LOCAL, **kwargs: Any) -> Any:
    """A typer option for the setting ``name``: its help text, variable and default from the
    settings model. Its own default stays None, so an unset option leaves the variable's value."""
    option = options()[name]
    default = default_text(name, mode).replace("`", "")
    help_text = f"{option.help.replace('`', '')} (env: {option.variable}; default {default})"
    return typer.Option(*flags, help=help_text, show_default=False, **kwargs)


RootOption = Annotated[Path | None, setting_option("root", "--root", file_okay=False)]
DbOption = Annotated[Path | None, setting_option("db", "--db", dir_okay=False)]
RouteOption = Annotated[
    list[str] | None, setting_option("routes", "--route", metavar="PREFIX=ENV[:TABLE]")
]
AnalyzersOption = Annotated[str | None, setting_option("analyzers", "--analyzers")]
LabelModelOption = Annotated[str | None, setting_option("label_model", "--label-model")]
EnvOption = Annotated[str, typer.Option("--env", "-e", help="Environment, e.g. beta or prod")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table")]


def load_settings(
    root: Path | None = None,
    db: Path | None = None,
    routes: list[str] | None = None,
    **values: Any,
) -> Settings:
    """The embedded mode's settings: variables, then these command-line values (None: not
    given). A bad value is a usage error naming the variable or option (exit 2, one line)."""
    try:
        parsed = tuple(parse_route(r) for r in routes) if routes else None
        settings = Settings.from_env(root=root, db=db, routes=parsed, **values)
        check_label_model(settings)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    return settings


def check_label_model(settings: Settings) -> None:
    """An unknown label model is refused at start (the model module loads only when asked)."""
    if settings.label_model == default_for("label_model"):
        return
    from eventlens.analyzers.labels.analyzer import label_model

    try:
        label_model(settings.label_model)
    except ValueError as exc:
        raise ValueError(f"EVENTLENS_LABEL_MODEL / --label-model: {exc}") from None
