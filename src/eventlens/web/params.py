"""Parsing of query values shared by pages and the API."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from fastapi import HTTPException

from eventlens.results.record import Status


def time_bound(value: str | None, *, end: bool = False) -> str | None:
    """A date (``2026-11-28``) or ISO time to the stored timestamp format. A date as an
    upper bound means the end of that day."""
    if not value:
        return None
    value = value.strip()
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            if end:
                day += timedelta(days=1)
            return day.isoformat()
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"not an ISO date or time: {value!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def status_or_422(value: str | None) -> Status | None:
    """A form's status value ("" for any)."""
    if not value:
        return None
    try:
        return Status(value)
    except ValueError:
        raise HTTPException(422, f"status must be ok or error, not {value!r}") from None


def int_or_422(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise HTTPException(422, f"not a dead-letter id: {value!r}") from None
