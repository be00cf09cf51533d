"""What the routers depend on, provided with ``Depends`` from ``app.state``.

``create_app`` puts one :class:`Dashboard` on ``app.state.dashboard``; routers ask for its parts
(store, queue, settings, templates ...) through the annotated types below, so a test can swap
one with ``app.dependency_overrides`` and a router never reaches into another's state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request
from fastapi.templating import Jinja2Templates
from prometheus_client import CollectorRegistry

from eventlens.face_people import PeopleStore
from eventlens.intake import IntakeQueue
from eventlens.results.base import ResultStore
from eventlens.web.health import HealthProbe
from eventlens.web.images import ImageSource
from eventlens.web.labels import LabelCatalogue
from eventlens.web.metrics import StoreCollector


@dataclass(frozen=True, slots=True)
class WebSettings:
    environments: tuple[str, ...]  # the environments (tables) the dashboard reads
    metrics_cache_s: float  # how long /metrics and the gallery's totals reuse aggregates
    bucket: str | None = None  # the local bucket folder: re-analyse events name it
    #: environment → the key prefix of its route (paths are shown below it)
    prefixes: Mapping[str, str] = field(default_factory=dict)
    #: environment → the analyzers on (None: not known, as on a read-only AWS view)
    analyzers: Mapping[str, tuple[str, ...]] | None = None
    #: the environments whose people the dashboard shows (the ``people`` analyzer is on)
    people_environments: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Dashboard:
    store: ResultStore
    queue: IntakeQueue | None
    images: ImageSource | None
    settings: WebSettings
    collector: StoreCollector
    registry: CollectorRegistry  # what /metrics exports: the collector above
    templates: Jinja2Templates
    labels: LabelCatalogue
    health: HealthProbe  # what /healthz and eventlens_up report
    people: PeopleStore | None = None  # faces and people (local mode, people on)


def dashboard(request: Request) -> Dashboard:
    found: Dashboard = request.app.state.dashboard
    return found


def get_store(request: Request) -> ResultStore:
    return dashboard(request).store


def get_queue(request: Request) -> IntakeQueue | None:
    return dashboard(request).queue


def get_images(request: Request) -> ImageSource | None:
    return dashboard(request).images


def get_settings(request: Request) -> WebSettings:
    return dashboard(request).settings


def get_collector(request: Request) -> StoreCollector:
    return dashboard(request).collector


def get_registry(request: Request) -> CollectorRegistry:
    return dashboard(request).registry


def get_templates(request: Request) -> Jinja2Templates:
    return dashboard(request).templates


def get_labels(request: Request) -> LabelCatalogue:
    return dashboard(request).labels


def get_health(request: Request) -> HealthProbe:
    return dashboard(request).health


def get_people(request: Request) -> PeopleStore | None:
    return dashboard(request).people


Store = Annotated[ResultStore, Depends(get_store)]
OptionalQueue = Annotated[IntakeQueue | None, Depends(get_queue)]
Images = Annotated[ImageSource | None, Depends(get_images)]
Settings = Annotated[WebSettings, Depends(get_settings)]
Collector = Annotated[StoreCollector, Depends(get_collector)]
Registry = Annotated[CollectorRegistry, Depends(get_registry)]
Templates = Annotated[Jinja2Templates, Depends(get_templates)]
Labels = Annotated[LabelCatalogue, Depends(get_labels)]
Health = Annotated[HealthProbe, Depends(get_health)]
OptionalPeople = Annotated[PeopleStore | None, Depends(get_people)]


def require_queue(queue: OptionalQueue) -> IntakeQueue:
    if queue is None:
        raise HTTPException(
            404, "no intake queue here: dead letters and re-analysis exist only in local mode"
        )
    return queue


Queue = Annotated[IntakeQueue, Depends(require_queue)]


def known_environment(settings: WebSettings, env: str | None) -> str:
    """``env``, or the first environment when none is given; 404 for one not served here."""
    env = env or settings.environments[0]
    if env not in settings.environments:
        known = ", ".join(settings.environments)
        raise HTTPException(404, f"unknown environment {env!r} (known: {known})")
    return env


def query_environment(
    settings: Settings,
    env: Annotated[str | None, Query(description="an environment (default: the first)")] = None,
) -> str:
    return known_environment(settings, env)


def path_environment(settings: Settings, env: str) -> str:
    return known_environment(settings, env)


Environment = Annotated[str, Depends(query_environment)]
PathEnvironment = Annotated[str, Depends(path_environment)]
