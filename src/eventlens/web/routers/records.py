"""The records JSON API: environments, filtered and paged listings, one record, labels."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from eventlens.results.record import Record
from eventlens.web.deps import Labels, PathEnvironment, Settings, Store, known_environment
from eventlens.web.label_search import resolve_label
from eventlens.web.listing import ALL, ApiListing, count, decode_cursor, encode_cursor, fetch

router = APIRouter(prefix="/api", tags=["records"])

RECORD_EXAMPLE = Record(
    filename="rekognition-input/beta/cat.jpg", environment="beta",
    labels=[{"Name": "Cat", "Confidence": 97.1, "Parents": [{"Name": "Animal"}], "Instances": []}],
    timestamp="2026-11-28T10:15:02.123456Z", captured_at="2024-07-14T15:02:11+02:00",
    analysis_method="bundled-efficientnet-lite0", width=4000, height=3000, duration_ms=21.4,
).to_dict()  # fmt: skip


@router.get("/environments", summary="Environments")
def api_environments(settings: Settings) -> dict[str, Any]:
    """The environments (tables) this dashboard reads."""
    return {"environments": list(settings.environments)}


@router.get(
    "/records",
    summary="List records",
    responses={200: {"content": {"application/json": {"example": {
        "environment": "beta", "count": 1, "matched": 1, "next": None,
        "records": [RECORD_EXAMPLE],
    }}}}},
)  # fmt: skip
def api_records(
    store: Store,
    listing: ApiListing,
    labels: Labels,
    after: Annotated[str | None, Query(description="the `next` value of the previous page")] = None,
) -> dict[str, Any]:
    """Newest first (by processing or capture time), filtered by label, status, time windows,
    findings and key prefix. `next` is the cursor of the following page (null on the last);
    `matched` counts every match where the store can do that cheaply (SQLite), else null.
    `label` accepts any case, plurals and synonyms (`people` lists `Person`) and answers with
    the label listed; when no label matches, `label_suggestions` names ones that exist."""
    listing, note = resolve_label(listing, labels)
    page = fetch(store, listing, after=decode_cursor(after))
    return {
        "environment": listing.env,
        "label": listing.label or None,  # the existing label the typed one means
        "label_suggestions": list(note.suggestions) if note else [],
        "count": len(page.records),
        "matched": count(store, listing),
        "next": encode_cursor(page.older) or None,
        "records": [r.to_dict() for r in page.records],
    }


@router.get(
    "/records/{env}/{key:path}",
    summary="One record",
    responses={200: {"content": {"application/json": {"example": RECORD_EXAMPLE}}}},
)
def api_record(store: Store, env: PathEnvironment, key: str) -> dict[str, Any]:
    """One record by environment and object key (the key may contain `/`)."""
    record = store.get(env, key)
    if record is None:
        raise HTTPException(404, f"no record for {key!r} in {env}")
    return record.to_dict()


@router.get(
    "/labels",
    summary="Labels with counts",
    responses={200: {"content": {"application/json": {"example": {"labels": [
        {"name": "Cat", "records": 12, "specific": 12, "cover": "rekognition-input/beta/cat.jpg",
         "cover_environment": "beta"},
    ]}}}}},
)  # fmt: skip
def api_labels(
    settings: Settings,
    labels: Labels,
    env: Annotated[str | None, Query(description="an environment, or `all`")] = None,
    covers: Annotated[
        bool, Query(description="with each label's newest record (`false`: faster)")
    ] = True,
) -> dict[str, Any]:
    """Every label of the environment(s): on how many records, on how many as the most
    specific label (0: only ever a parent such as "Animal"), and the newest record with it.
    Most specific labels first."""
    scope = settings.environments if env == ALL else (known_environment(settings, env),)
    return {
        "labels": [
            {
                "name": e.name, "records": e.records, "specific": e.specific,
                "cover": e.cover, "cover_environment": e.cover_env,
            }
            for e in labels.entries(scope, covers=covers)
        ]
    }  # fmt: skip
