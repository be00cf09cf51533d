"""HTML pages: the gallery and the offline API reference."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from eventlens.web.deps import Collector, Environment, Images, Store, Templates
from eventlens.web.params import status_or_422
from eventlens.web.routers.records import MAX_LIMIT, record_query

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


@router.get("/")
def gallery(
    request: Request,
    store: Store,
    images: Images,
    collector: Collector,
    templates: Templates,
    env: Environment,
    label: str | None = None,
    status: str | None = None,  # the form sends "" for "any"
    since: str | None = None,
    until: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 60,
) -> Response:
    status_ = status_or_422(status)
    records = store.query(record_query(env, label, status_, since, until, None, limit))
    total, errors = collector.totals(env)
    cards = [{"record": r, "thumb": images.thumbnail_url(r) if images else None} for r in records]
    return templates.TemplateResponse(
        request,
        "gallery.html",
        {
            "page": "gallery", "env": env, "cards": cards, "label": label or "",
            "status": status_.value if status_ else "", "since": since or "",
            "until": until or "", "limit": limit,
            "total": total, "errors": errors,
        },
    )  # fmt: skip


@router.get("/docs")
def docs(request: Request, templates: Templates) -> Response:
    spec = request.app.openapi()
    operations = [
        {
            "method": method.upper(), "path": path,
            "summary": op.get("summary", ""), "description": op.get("description", ""),
            "params": [
                f"{p['name']} ({p['in']}{', required' if p.get('required') else ''})"
                for p in op.get("parameters", [])
            ],
        }
        for path, methods in spec["paths"].items()
        for method, op in methods.items()
    ]  # fmt: skip
    return templates.TemplateResponse(
        request, "docs.html", {"page": "docs", "operations": operations, "env": None}
    )
