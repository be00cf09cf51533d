"""Re-analyse: put records' objects back into the local intake queue, the same way dead-letter
retry does (POST only, so the access guard's same-origin and token rules apply).

The events are marked as requested (``pipeline.REQUESTED``), so the pipeline analyses them even
when the bytes and the model are unchanged; `eventlens run` picks them up.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Body, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from eventlens.events.base import ObjectEvent
from eventlens.intake import IntakeQueue
from eventlens.pipeline import REQUESTED
from eventlens.results.base import ResultStore
from eventlens.web.deps import Queue, Settings, Store, WebSettings, known_environment

router = APIRouter(tags=["records"])

MAX_KEYS = 1000  # per request: two gallery pages of the largest size


def requeue(
    store: ResultStore, queue: IntakeQueue, settings: WebSettings, env: str, keys: list[str]
) -> tuple[list[str], list[str]]:
    """Queue the objects of the records ``keys`` of ``env`` (a known environment); returns
    (queued keys, keys without a record)."""
    if settings.bucket is None:
        raise HTTPException(404, "re-analysis needs the local bucket folder (eventlens serve)")
    if len(keys) > MAX_KEYS:
        raise HTTPException(422, f"at most {MAX_KEYS} keys at a time")
    found = [key for key in dict.fromkeys(keys) if store.get(env, key) is not None]
    queue.enqueue(ObjectEvent(bucket=settings.bucket, key=key, source=REQUESTED) for key in found)
    return found, [key for key in keys if key not in found]


@router.post("/reanalyse", include_in_schema=False)
async def reanalyse_form(
    request: Request, store: Store, queue: Queue, settings: Settings
) -> Response:
    """The record page's and the gallery's buttons: a form with ``env`` and ``key`` (repeated)."""
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    env = known_environment(settings, form.get("env", [""])[0])
    queued, _ = requeue(store, queue, settings, env, form.get("key", []))
    if len(queued) == 1:
        target = f"/records/{quote(env, safe='')}/{quote(queued[0])}?queued=1"
    else:
        target = f"/?env={quote(env, safe='')}&queued={len(queued)}"
    return RedirectResponse(target, status_code=303)


@router.post("/api/reanalyse", summary="Re-analyse records")
def api_reanalyse(
    store: Store,
    queue: Queue,
    settings: Settings,
    environment: Annotated[str, Body(description="the records' environment", examples=["beta"])],
    keys: Annotated[
        list[str],
        Body(
            description="object keys of stored records",
            examples=[["rekognition-input/beta/cat.jpg"]],
        ),
    ],
) -> dict[str, object]:
    """Put the objects of these records back into the local intake queue; `eventlens run`
    analyses them again even if the file and the model are unchanged. Keys without a record
    are returned under `unknown` and not queued."""
    env = known_environment(settings, environment)
    queued, unknown = requeue(store, queue, settings, env, keys)
    return {"queued": len(queued), "unknown": unknown}
