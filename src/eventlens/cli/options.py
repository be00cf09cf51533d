"""Options shared by several commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from eventlens.config import Settings, parse_analyzers
from eventlens.routing import parse_route

RootOption = Annotated[
    Path | None,
    typer.Option(
        "--root",
        help="Folder acting as the bucket (env: EVENTLENS_ROOT; default ./eventlens-bucket)",
        file_okay=False,
    ),
]
DbOption = Annotated[
    Path | None,
    typer.Option(
        "--db",
        help="SQLite results file (env: EVENTLENS_DB; default <root>/.eventlens/eventlens.db)",
        dir_okay=False,
    ),
]
RouteOption = Annotated[
    list[str] | None,
    typer.Option(
        "--route",
        help="prefix=environment[:table], repeatable (env: EVENTLENS_ROUTES)"
        "; default rekognition-input/beta/=beta and rekognition-input/prod/=prod",
    ),
]
EnvOption = Annotated[str, typer.Option("--env", "-e", help="Environment, e.g. beta or prod")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table")]


def load_settings(
    root: Path | None = None,
    db: Path | None = None,
    routes: list[str] | None = None,
    analyzers: str | None = None,
    label_model: str | None = None,
) -> Settings:
    settings = Settings.from_env()
    if root is not None:
        settings.root = root
    if db is not None:
        settings.db = db
    if routes:
        settings.routes = tuple(parse_route(r) for r in routes)
    if analyzers:
        settings.analyzers = parse_analyzers(analyzers)
    if label_model:
        from eventlens.analyzers.labels.analyzer import label_model as known_label_model

        settings.label_model = known_label_model(label_model).name
    return settings
