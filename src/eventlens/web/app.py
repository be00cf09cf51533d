"""The dashboard: a FastAPI app over any ResultStore (read-only) and, locally, the intake queue.

HTML pages (gallery, record pages, labels, charts, dead letters) are rendered server-side with
inline SVG charts, so they work offline; the same data is served as JSON under ``/api``;
``/metrics`` is Prometheus.
Routes live in ``eventlens.web.routers`` (one router per concern) and get the store, queue and
settings through the dependencies in ``eventlens.web.deps``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from fastapi import FastAPI

from eventlens import __version__
from eventlens.face_people import PeopleStore
from eventlens.intake import IntakeQueue
from eventlens.results.base import ResultStore
from eventlens.web.access import AccessGuard
from eventlens.web.deps import Dashboard, WebSettings
from eventlens.web.errors import install_error_pages
from eventlens.web.folders import default_prefixes
from eventlens.web.health import HealthCollector, HealthProbe
from eventlens.web.images import ImageSource, LocalImageSource
from eventlens.web.labels import LabelCatalogue
from eventlens.web.metrics import StoreCollector, build_registry
from eventlens.web.params import time_bound
from eventlens.web.rendering import findings_summary, make_templates
from eventlens.web.routers import (
    dead_letters,
    duplicates,
    images,
    ops,
    pages,
    people_pages,
    reanalyse,
    record_page,
    records,
    stats,
)

__all__ = ["create_app", "findings_summary", "time_bound"]


def create_app(
    store: ResultStore,
    queue: IntakeQueue | None = None,
    image_source: ImageSource | None = None,
    *,
    environments: Sequence[str] | None = None,
    metrics_cache_s: float | None = None,
    allowed_hosts: Collection[str] | None = None,
    token: str | None = None,
    health: HealthProbe | None = None,
    prefixes: Mapping[str, str] | None = None,
    analyzers: Mapping[str, Sequence[str]] | None = None,
    people: PeopleStore | None = None,
) -> FastAPI:
    """``environments`` defaults to the store's configured tables (SQLite) or beta, prod.
    ``metrics_cache_s``: how long /metrics and the gallery's totals reuse store aggregates
    (default: 0 where they are cheap (SQLite), else 60 s: a DynamoDB count reads the table).
    ``allowed_hosts`` (host names the app answers for; any if None) and ``token``: see
    ``eventlens.web.access``. ``prefixes``: each environment's route prefix (default: the
    default routes'), below which paths are shown and folders browsed. ``analyzers``: each
    environment's analyzers, so the gallery offers only filters that can match. ``people``:
    the people index, shown for the environments whose analyzers include ``people`` (all of
    them when ``analyzers`` is not given)."""
    envs = tuple(environments or store.environments or ["beta", "prod"])
    prefixes = {**default_prefixes(envs), **(prefixes or {})}
    if metrics_cache_s is None:
        metrics_cache_s = 0.0 if store.cheap_aggregates else 60.0
    collector = StoreCollector(store, envs, queue, cache_s=metrics_cache_s)
    registry = build_registry(collector)
    health = health or HealthProbe(store, envs)
    registry.register(HealthCollector(health))

    people_envs = tuple(
        env for env in envs if analyzers is None or "people" in analyzers.get(env, ())
    ) if people is not None else ()  # fmt: skip
    app = FastAPI(
        title="eventlens dashboard",
        version=__version__,
        description="Read-only view of eventlens results; dead-letter retry for local mode.",
        docs_url=None,  # Swagger UI and ReDoc load their assets from a CDN: see /docs
        redoc_url=None,
    )
    app.state.dashboard = Dashboard(
        store=store,
        queue=queue,
        images=image_source,
        settings=WebSettings(
            environments=envs,
            metrics_cache_s=metrics_cache_s,
            bucket=(
                image_source.store.bucket if isinstance(image_source, LocalImageSource) else None
            ),
            prefixes=prefixes,
            analyzers=(
                {env: tuple(names) for env, names in analyzers.items()}
                if analyzers is not None
                else None
            ),
            people_environments=people_envs,
        ),
        collector=collector,
        registry=registry,
        templates=make_templates(
            envs, has_queue=queue is not None, prefixes=prefixes, has_people=bool(people_envs)
        ),
        labels=LabelCatalogue(store, cache_s=metrics_cache_s),
        health=health,
        people=people,
    )
    for module in (
        pages, record_page, stats, dead_letters, reanalyse, duplicates, images, records, ops,
        people_pages,
    ):  # fmt: skip
        app.include_router(module.router)
    app.middleware("http")(AccessGuard(allowed_hosts=allowed_hosts, token=token))
    install_error_pages(app)
    return app
