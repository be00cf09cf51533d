"""The records JSON API: environments, filtered listings, one record."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from eventlens.results.base import Query as RecordQuery
from eventlens.results.record import Status
from eventlens.web.deps import Environment, PathEnvironment, Settings, Store
from eventlens.web.params import time_bound

MAX_LIMIT = 500

router = APIRouter(prefix="/api", tags=["records"])


def record_query(
    env: str, label: str | None, status: Status | None, since: str | None,
    until: str | None, prefix: str | None, limit: int,
) -> RecordQuery:  # fmt: skip
    """The store query for the filters the gallery and ``/api/records`` share."""
    return RecordQuery(
        env,
        label=label or None,
        status=status,
        since=time_bound(since),
        until=time_bound(until, end=True),
        prefix=prefix or None,
        limit=limit,
    )


@router.get("/environments")
def api_environments(settings: Settings) -> dict[str, Any]:
    """The environments (tables) this dashboard reads."""
    return {"environments": list(settings.environments)}


@router.get("/records")
def api_records(
    store: Store,
    env: Environment,
    label: str | None = None,
    status: Status | None = None,
    since: Annotated[str | None, Query(description="ISO date or time, inclusive")] = None,
    until: Annotated[str | None, Query(description="ISO time (exclusive) or date")] = None,
    prefix: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
) -> dict[str, Any]:
    """Newest records first, filtered by label, status, time and key prefix."""
    records = store.query(record_query(env, label, status, since, until, prefix, limit))
    return {
        "environment": env,
        "count": len(records),
        "records": [r.to_dict() for r in records],
    }


@router.get("/records/{env}/{key:path}")
def api_record(store: Store, env: PathEnvironment, key: str) -> dict[str, Any]:
    """One record by environment and object key."""
    record = store.get(env, key)
    if record is None:
        raise HTTPException(404, f"no record for {key!r} in {env}")
    return record.to_dict()
