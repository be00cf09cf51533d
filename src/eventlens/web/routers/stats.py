"""Aggregates: the charts page and ``/api/stats``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from eventlens.results.stats import Granularity, Stats, merge_stats, resolve_granularity
from eventlens.web.deps import Environment, Settings, Store, Templates, known_environment
from eventlens.web.listing import ALL
from eventlens.web.params import time_bound
from eventlens.web.rendering import render_charts

router = APIRouter()


@router.get("/charts", response_class=HTMLResponse, include_in_schema=False)
def charts(
    request: Request,
    store: Store,
    templates: Templates,
    settings: Settings,
    env: str | None = None,
    since: str | None = None,
    until: str | None = None,
    granularity: Granularity = Granularity.AUTO,
) -> Response:
    """One environment's charts, or (``env=all``) every environment's summed."""
    env = ALL if env == ALL else known_environment(settings, env)
    scope = settings.environments if env == ALL else (env,)
    start, end = time_bound(since), time_bound(until, end=True)

    def stats_of(environment: str, width: Granularity) -> Stats:
        return store.stats(environment, since=start, until=end, granularity=width, top=12)

    parts = [stats_of(e, granularity) for e in scope]
    if len(parts) > 1:  # one bucket width for all: the one the whole span asks for
        first = min((p.first for p in parts if p.first), default=None)
        last = max((p.last for p in parts if p.last), default=None)
        width = resolve_granularity(granularity, first, last)
        parts = [p if p.granularity is width else stats_of(e, width)
                 for e, p in zip(scope, parts, strict=True)]  # fmt: skip
    stats = merge_stats(parts, env, top=12) if len(parts) > 1 else parts[0]
    return templates.TemplateResponse(
        request,
        "charts.html",
        {
            "page": "charts", "env": env, "stats": stats, "since": since or "",
            "until": until or "", "granularity": granularity.value,
            **render_charts(stats),
        },
    )  # fmt: skip


@router.get("/api/stats", tags=["stats"], summary="Aggregates")
def api_stats(
    store: Store,
    env: Environment,
    since: Annotated[str | None, Query(description="ISO date or time (UTC), inclusive")] = None,
    until: Annotated[str | None, Query(description="ISO time (exclusive) or date")] = None,
    granularity: Annotated[
        Granularity, Query(description="throughput buckets; auto: about 120 at most")
    ] = Granularity.AUTO,
    top: Annotated[int, Query(ge=0, le=100, description="how many top labels")] = 10,
) -> dict[str, Any]:
    """Throughput per minute/hour/day (UTC), the processing-time histogram, the error rate and
    the top labels (each record's most specific label)."""
    return store.stats(
        env, since=time_bound(since), until=time_bound(until, end=True),
        granularity=granularity, top=top,
    ).to_dict()  # fmt: skip
