"""HTML pages: the gallery, the labels page, the offline API reference, the favicon."""

from __future__ import annotations

from datetime import datetime
from itertools import groupby
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from eventlens.results.base import Order, Query, ResultStore, sort_value
from eventlens.results.record import Record
from eventlens.web.analyzer_filters import available, why_nothing_matches
from eventlens.web.deps import (
    Collector,
    Images,
    Labels,
    Settings,
    Store,
    Templates,
    WebSettings,
    known_environment,
)
from eventlens.web.folders import Folder, breadcrumbs, folder_of, subfolders
from eventlens.web.label_search import resolve_label
from eventlens.web.listing import ALL, GalleryListing, Listing, count, decode_cursor, encode_cursor
from eventlens.web.listing import fetch as fetch_page
from eventlens.web.viewer import image_properties, no_capture_reason

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

SCRIPT = Path(__file__).parent.parent / "static" / "dashboard.js"
FAVICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
    '<rect width="32" height="32" rx="7" fill="#1d4ed8"/>'
    '<circle cx="16" cy="16" r="8.5" fill="none" stroke="#fff" stroke-width="3"/>'
    '<circle cx="16" cy="16" r="3.5" fill="#fff"/></svg>'
)


def record_url(record: Record, listing: Listing | None = None) -> str:
    """The record page, carrying the list it is opened from (for moving left and right)."""
    url = f"/records/{quote(record.environment, safe='')}/{quote(record.filename)}"
    if listing is not None:
        url += "?" + urlencode({"from": urlencode(listing.params(), doseq=True)})
    return url


@router.get("/")
def gallery(
    request: Request,
    store: Store,
    images: Images,
    collector: Collector,
    templates: Templates,
    listing: GalleryListing,
    settings: Settings,
    labels: Labels,
    after: str | None = None,
    before: str | None = None,
    queued: int | None = None,
) -> Response:
    listing, label_note = resolve_label(listing, labels)
    page = fetch_page(store, listing, after=decode_cursor(after), before=decode_cursor(before))
    matched = count(store, listing) if listing.filtered else None
    total = errors = 0
    for env in listing.scope:
        env_total, env_errors = collector.totals(env)
        total, errors = total + env_total, errors + env_errors
    crumbs, folders = folder_nav(store, settings, listing)
    has_options = available(settings.analyzers, listing.scope)
    cannot_match = why_nothing_matches(settings.analyzers, listing.scope, listing.has)
    cards = [
        {
            "record": r,
            "thumb": images.thumbnail_url(r) if images else None,
            "url": record_url(r, listing),
            "colours": props.colours[:6] if (props := image_properties(r)) else [],
            "no_time": None if r.captured_at else no_capture_reason(r),
        }
        for r in page.records
    ]
    return templates.TemplateResponse(
        request,
        "gallery.html",
        {
            "page": "gallery", "env": listing.env, "listing": listing, "cards": cards,
            "groups": _groups(cards, listing), "timeline": listing.order is Order.CAPTURED,
            "matched": matched, "total": total,
            "errors": errors, "queued": queued, "crumbs": crumbs, "folders": folders,
            "label_note": label_note, "has_options": has_options,
            "cannot_match": cannot_match,
            "newer_url": listing.url(before=encode_cursor(page.newer)) if page.newer else None,
            "older_url": listing.url(after=encode_cursor(page.older)) if page.older else None,
            "first_url": listing.url() if page.newer or after or before else None,
        },
    )  # fmt: skip


def folder_nav(
    store: ResultStore, settings: WebSettings, listing: Listing
) -> tuple[list[Folder], list[Folder]]:
    """The breadcrumbs to the listing's folder and the folders below it (one environment; the
    folders only where listing keys is an index read, not a table scan)."""
    if listing.env == ALL:
        return [], []
    env_prefix = settings.prefixes.get(listing.env, "")
    current = folder_of(listing.prefix) if listing.prefix.startswith(env_prefix) else ""
    current = current if len(current) >= len(env_prefix) else env_prefix
    below = subfolders(store, listing.env, current) if store.cheap_aggregates else []
    crumbs = breadcrumbs(env_prefix, current)
    return (crumbs if len(crumbs) > 1 or below else []), below


def _groups(cards: list[dict[str, Any]], listing: Listing) -> list[tuple[str, list[Any]]]:
    """Cards under headings by month or day of the sort time ("" heading: no grouping)."""
    if not listing.group:
        return [("", cards)]
    width = 7 if listing.group == "month" else 10

    def heading(card: dict[str, Any]) -> str:
        value = sort_value(card["record"], listing.order)[:width]
        if not value:
            return "No capture time"
        try:
            if width == 7:
                return datetime.strptime(value, "%Y-%m").strftime("%B %Y")
            return datetime.strptime(value, "%Y-%m-%d").strftime("%A %d %B %Y")
        except ValueError:
            return value

    return [(title, list(members)) for title, members in groupby(cards, key=heading)]


@router.get("/labels")
def labels_page(
    request: Request,
    settings: Settings,
    labels: Labels,
    images: Images,
    templates: Templates,
    env: str | None = None,
    parents: bool = False,
) -> Response:
    """Every label with its count and the newest picture that has it."""
    env = ALL if env == ALL else known_environment(settings, env)
    entries = labels.entries(settings.environments if env == ALL else (env,), covers=False)
    return templates.TemplateResponse(
        request,
        "labels.html",
        {
            "page": "labels", "env": env, "show_parents": parents, "has_images": bool(images),
            "specific": [e for e in entries if not e.is_parent_only],
            "broader": [e for e in entries if e.is_parent_only],
        },
    )  # fmt: skip


@router.get("/labels/cover")
def label_cover(
    store: Store, images: Images, settings: Settings, label: str, env: str | None = None
) -> Response:
    """A label's cover picture: a redirect to the thumbnail of its newest record (looked up
    when the browser shows the card, so the labels page itself reads only the counts)."""
    scope = settings.environments if env == ALL else (known_environment(settings, env),)
    found = [r for e in scope for r in store.query(Query(e, label=label, limit=1))]
    url = images.thumbnail_url(max(found, key=lambda r: r.timestamp)) if found and images else None
    if url is None:
        raise HTTPException(404, f"no picture with the label {label!r}")
    return RedirectResponse(url, status_code=302, headers={"Cache-Control": "max-age=60"})


@router.get("/docs")
def docs(request: Request, templates: Templates) -> Response:
    spec = request.app.openapi()
    operations = [
        {
            "method": method.upper(), "path": path,
            "summary": op.get("summary", ""), "description": op.get("description", ""),
            "params": [
                {
                    "name": p["name"], "where": p["in"], "required": p.get("required", False),
                    "description": p.get("description")
                    or p.get("schema", {}).get("description", ""),
                }
                for p in op.get("parameters", [])
            ],
        }
        for path, methods in spec["paths"].items()
        for method, op in methods.items()
    ]  # fmt: skip
    return templates.TemplateResponse(
        request, "docs.html", {"page": "docs", "operations": operations, "env": None}
    )


@router.get("/static/dashboard.js")
def script() -> Response:
    return Response(
        SCRIPT.read_bytes(), media_type="text/javascript", headers={"Cache-Control": "no-cache"}
    )


@router.get("/favicon.svg")
@router.get("/favicon.ico")
def favicon() -> Response:
    return Response(FAVICON, media_type="image/svg+xml", headers={"Cache-Control": "max-age=86400"})
