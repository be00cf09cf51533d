"""The record page ``/records/{env}/{key}``: the picture with its boxes, every label, image
properties, EXIF, duplicates, the error and a re-analyse button, the raw record. With
``?fragment=1`` only the page's body, for the gallery's lightbox."""

from __future__ import annotations

import json

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from eventlens.imaging import looks_like_video_key
from eventlens.results.keep import duplicate_group, duplicate_of
from eventlens.web.deps import (
    Images,
    OptionalPeople,
    OptionalQueue,
    PathEnvironment,
    Settings,
    Store,
    Templates,
)
from eventlens.web.folders import breadcrumbs, folder_of
from eventlens.web.images import LocalImageSource
from eventlens.web.listing import listing_from, neighbours
from eventlens.web.routers.images import original_url
from eventlens.web.routers.pages import record_url
from eventlens.web.viewer import (
    boxes,
    exif_rows,
    image_properties,
    label_rows,
)

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


@router.get("/records/{env}/{key:path}")
def record_page(
    request: Request,
    store: Store,
    images: Images,
    queue: OptionalQueue,
    settings: Settings,
    templates: Templates,
    people: OptionalPeople,
    env: PathEnvironment,
    key: str,
    fragment: bool = False,
    queued: bool = False,
) -> Response:
    record = store.get(env, key)
    if record is None:
        raise HTTPException(404, f"no record for {key!r} in {env}")
    came_from = listing_from(settings, request.query_params.get("from"), people)
    newer = older = None
    if came_from is not None and not fragment:
        newer, older = neighbours(store, came_from, record)
    picture: str | None = None
    if isinstance(images, LocalImageSource):
        picture = original_url(record)
    elif images is not None:
        picture = images.thumbnail_url(record)
    group = duplicate_group(store, record)
    env_prefix = settings.prefixes.get(env, "")
    return templates.TemplateResponse(
        request,
        "record_fragment.html" if fragment else "record.html",
        {
            "page": "record", "env": env, "r": record, "picture": picture,
            "is_video": looks_like_video_key(key), "boxes": boxes(record),
            "labels": label_rows(record), "properties": image_properties(record),
            "exif": exif_rows(record), "duplicate_of": duplicate_of(record),
            "original_key": duplicate_of(record) or record.filename,
            "group": group, "can_reanalyse": queue is not None and settings.bucket is not None,
            "queued": queued, "came_from": came_from,
            "newer_url": record_url(newer, came_from) if newer else None,
            "older_url": record_url(older, came_from) if older else None,
            "back_url": came_from.url() if came_from else f"/?env={env}",
            "raw": json.dumps(record.to_dict(), indent=2, ensure_ascii=False),
            "crumbs": breadcrumbs(env_prefix, folder_of(key)),
        },
    )  # fmt: skip
