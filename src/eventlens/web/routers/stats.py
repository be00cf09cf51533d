"""Aggregates: the charts page and ``/api/stats``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from eventlens.results.stats import Granularity
from eventlens.web.deps import Environment, Store, Templates
from eventlens.web.params import time_bound
from eventlens.web.rendering import render_charts

router = APIRouter()


@router.get("/charts", response_class=HTMLResponse, include_in_schema=False)
def charts(
    request: Request,
    store: Store,
    templates: Templates,
    env: Environment,
    since: str | None = None,
    until: str | None = None,
    granularity: Granularity = Granularity.AUTO,
) -> Response:
    stats = store.stats(
        env, since=time_bound(since), until=time_bound(until, end=True),
        granularity=granularity, top=12,
    )  # fmt: skip
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
