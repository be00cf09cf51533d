"""Dead letters of the local intake queue: the page, its Retry form, and the JSON API.

The queue serialises its own operations (one connection under its lock), so nothing here
takes another lock.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from eventlens.intake import DeadLetter
from eventlens.web.deps import OptionalQueue, Queue, Templates
from eventlens.web.params import int_or_422

router = APIRouter()


@router.get("/dlq", response_class=HTMLResponse, include_in_schema=False)
def dlq_page(
    request: Request, queue: OptionalQueue, templates: Templates, moved: int | None = None
) -> Response:
    letters: list[DeadLetter] = []
    pending = 0
    if queue is not None:
        letters = queue.dead_letters(limit=500)
        pending = queue.pending()
    return templates.TemplateResponse(
        request,
        "dlq.html",
        {"page": "dlq", "letters": letters, "pending": pending, "moved": moved, "env": None},
    )


@router.post("/dlq/retry", include_in_schema=False)
async def dlq_retry_form(request: Request, queue: Queue) -> Response:
    """The page's Retry buttons: an urlencoded form with ``id`` (a number or ``all``)."""
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    dead_id = form.get("id", ["all"])[0]
    ids = None if dead_id == "all" else [int_or_422(dead_id)]
    moved = queue.retry_dead(ids)
    return RedirectResponse(f"/dlq?moved={moved}", status_code=303)


@router.get("/api/dlq", tags=["dead letters"], summary="List dead letters")
def api_dlq(
    queue: Queue,
    limit: Annotated[int, Query(ge=1, le=1000, description="at most this many")] = 100,
) -> dict[str, Any]:
    """Dead-lettered events of the local intake queue, newest first."""
    letters = queue.dead_letters(limit=limit)
    return {
        "count": len(letters),
        "pending": queue.pending(),
        "dead_letters": [
            {
                "id": d.id, "bucket": d.event.bucket, "key": d.event.key,
                "attempts": d.attempts, "error": d.error, "failed_at": d.failed_at,
            }
            for d in letters
        ],
    }  # fmt: skip


@router.post("/api/dlq/retry", tags=["dead letters"], summary="Retry dead letters")
def api_dlq_retry(
    queue: Queue,
    ids: Annotated[
        list[int] | None, Body(embed=True, description="dead-letter ids; null: all", examples=[[3]])
    ] = None,
) -> dict[str, int]:
    """Move dead letters back into the intake queue; `eventlens run` processes them."""
    return {"requeued": queue.retry_dead(ids)}
