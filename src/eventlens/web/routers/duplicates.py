"""A duplicate group side by side (size, resolution, capture time), and the keep decision:
``POST /duplicates/keep`` stores which copy to keep in its record (local mode; the access
guard's same-origin and token rules apply). No file is touched here: ``eventlens
trash-copies`` moves the copies not kept into the trash folder, when a user runs it."""

from __future__ import annotations

from urllib.parse import parse_qs, quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from eventlens.results.keep import (
    decide,
    duplicate_group,
    duplicate_of,
    is_kept,
    suggested_keep,
)
from eventlens.web.deps import Images, PathEnvironment, Settings, Store, Templates
from eventlens.web.deps import known_environment as known

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


def group_url(env: str, key: str) -> str:
    return f"/duplicates/{quote(env, safe='')}/{quote(key)}"


@router.get("/duplicates/{env}/{key:path}")
def group_page(
    request: Request,
    store: Store,
    images: Images,
    settings: Settings,
    templates: Templates,
    env: PathEnvironment,
    key: str,
) -> Response:
    record = store.get(env, key)
    group = duplicate_group(store, record) if record is not None else []
    if record is None or not group:
        raise HTTPException(404, f"{key!r} in {env} has no duplicates")
    keep = suggested_keep(group)
    decided = any(is_kept(r) for r in group)
    original = duplicate_of(record) or record.filename
    members = [
        {"record": r, "thumb": images.thumbnail_url(r) if images else None,
         "keep": r is keep, "original": r.filename == original}
        for r in group
    ]  # fmt: skip
    return templates.TemplateResponse(
        request,
        "duplicates.html",
        {
            "page": "duplicates", "env": env, "members": members, "decided": decided,
            "keep": keep, "can_decide": settings.bucket is not None,
        },
    )  # fmt: skip


@router.post("/duplicates/keep")
async def keep_form(request: Request, store: Store, settings: Settings) -> Response:
    """The group page's "Keep this one": a form with ``env`` and ``key``."""
    if settings.bucket is None:
        raise HTTPException(404, "keep decisions need the local bucket folder (eventlens serve)")
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    env = known(settings, form.get("env", [""])[0])
    key = form.get("key", [""])[0]
    record = store.get(env, key)
    group = duplicate_group(store, record) if record is not None else []
    if not group:
        raise HTTPException(404, f"{key!r} in {env} has no duplicates")
    decide(store, group, key)
    return RedirectResponse(group_url(env, key) + "?kept=1", status_code=303)
