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


@router.get("/api/stats", tags=["stats"])
def api_stats(
    store: Store,
    env: Environment,
    since: str | None = None,
    until: str | None = None,
    granularity: Granularity = Granularity.AUTO,
    top: Annotated[int, Query(ge=0, le=100)] = 10,
) -> dict[str, Any]:
    """Throughput per minute/hour/day, latency histogram, top labels, error rate."""
    return store.stats(
        env, since=time_bound(since), until=time_bound(until, end=True),
        granularity=granularity, top=top,
    ).to_dict()  # fmt: skip
