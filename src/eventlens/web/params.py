"""Parsing of query values shared by pages and the API."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from fastapi import HTTPException

from eventlens.results.record import Status


def time_bound(value: str | None, *, end: bool = False) -> str | None:
    """A date (``2026-11-28``) or ISO time to the stored timestamp format. A date as an
    upper bound means the end of that day (none for the last day there is). A time that
    cannot be stored (before year 1 or after 9999 in UTC) is a ``ValueError``."""
    if not value:
        return None
    value = value.strip()
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            if end:
                if day == date.max:
                    return None  # up to the end of time
                day += timedelta(days=1)
            return day.isoformat()
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"not an ISO date or time: {value!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        utc = moment.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{value!r} is outside the years 1 to 9999 in UTC") from None
    # isoformat, not strftime: %Y does not pad years before 1000 everywhere
    return utc.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


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
