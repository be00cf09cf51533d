"""``eventlens serve``: the web dashboard (extra ``web``)."""

from __future__ import annotations

import secrets
from typing import Annotated

import typer
from rich.markup import escape

from eventlens.cli.options import DbOption, RootOption, load_settings, setting_option
from eventlens.cli.render import console, err_console
from eventlens.wiring import Backend, open_results


def serve(
    root: RootOption = None,
    db: DbOption = None,
    host: Annotated[
        str, typer.Option(help="Interface to bind; keep 127.0.0.1 unless behind a proxy")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port")] = 8000,
    backend: Annotated[
        Backend,
        typer.Option(
            "--backend",
            case_sensitive=False,
            help="Read records from SQLite (local) or DynamoDB (AWS; read-only)",
        ),
    ] = Backend.SQLITE,
    s3_bucket: Annotated[
        str | None,
        typer.Option(help="With --backend dynamodb: show pictures via presigned S3 URLs"),
    ] = None,
    token: Annotated[str | None, setting_option("web_token", "--token")] = None,
    no_login: Annotated[
        bool,
        typer.Option(
            "--no-login", help="No token on a non-loopback --host (behind your own auth proxy)"
        ),
    ] = False,
) -> None:
    """Serve the dashboard: gallery, charts, dead letters, JSON API (/docs) and /metrics."""
    try:
        import uvicorn

        from eventlens.web import create_app
        from eventlens.web.access import LOOPBACK_NAMES, is_loopback
        from eventlens.web.health import HealthProbe
        from eventlens.web.images import ImageSource, LocalImageSource, S3ImageSource
    except ImportError as exc:
        err_console.print(
            f"[red]{escape(str(exc))}[/red]: install the extra: pip install 'eventlens\\[web]'"
        )
        raise typer.Exit(2) from exc
    from eventlens.health import status_dir_for
    from eventlens.intake import IntakeQueue

    settings = load_settings(root=root, db=db, web_token=token)
    token = settings.web_token
    try:
        store = open_results(settings, backend, must_exist=True)
    except FileNotFoundError as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    queue: IntakeQueue | None = None
    images: ImageSource | None = None
    health = HealthProbe(store, list(settings.tables))
    people = None
    if backend is Backend.SQLITE:
        queue = IntakeQueue(settings.db_path)
        if any("people" in names for names in settings.analyzers_by_environment().values()):
            from eventlens.results.people_sqlite import SQLitePeopleIndex

            people = SQLitePeopleIndex(settings.db_path, threshold=settings.people_threshold)
        images = LocalImageSource(settings.root, [r.prefix for r in settings.routes])
        health.status_dir = status_dir_for(settings.db_path)
    elif s3_bucket:
        import boto3

        images = S3ImageSource(boto3.client("s3"), s3_bucket)
    loopback = is_loopback(host)
    if not loopback and not token and not no_login:
        token = secrets.token_urlsafe(24)
    app = create_app(
        store, queue, images, environments=list(settings.tables),
        allowed_hosts=LOOPBACK_NAMES if loopback else None, token=token, health=health,
        prefixes={r.environment: r.prefix for r in settings.routes},
        analyzers=settings.analyzers_by_environment() if backend is Backend.SQLITE else None,
        people=people,
    )  # fmt: skip
    if not loopback and not token:
        err_console.print(f"[yellow]warning: binding {host} with --no-login: no token[/yellow]")
    address = f"http://{f'[{host}]' if ':' in host else host}:{port}/"
    login = f"?token={token}" if token else ""
    console.print(
        f"eventlens dashboard on {address}{login}  (API: /docs, /metrics)", soft_wrap=True
    )
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        if queue is not None:
            queue.close()
        if people is not None:
            people.close()
        store.close()
