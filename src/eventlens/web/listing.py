"""The gallery's result list: its filters (from the query string), pages of it across one or
all environments, cursors, counts, and the words that say what matched.

The record page reads the same filters, so moving left and right from a record walks the
list it was opened from.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Annotated, Any
from urllib.parse import parse_qs, urlencode

from fastapi import Depends, HTTPException
from fastapi import Query as Param

from eventlens.face_people import PeopleError, PeopleStore
from eventlens.results.base import Cursor, Order, Query, ResultStore, position, sort_value
from eventlens.results.record import Record, Status
from eventlens.web.deps import OptionalPeople, Settings, WebSettings, known_environment
from eventlens.web.params import status_or_422, time_bound

ALL = "all"  # the "all environments" choice
MAX_LIMIT = 500
#: what the "has" filter offers → the finding kind it matches (``results.finding_terms``)
HAS = {"faces": "faces", "text": "text", "duplicates": "duplicate"}


@dataclass(frozen=True, slots=True)
class Listing:
    """One result list: which environment(s), filters and order."""

    environments: tuple[str, ...]
    env: str  # one environment, or ALL
    label: str = ""
    status: Status | None = None
    since: str = ""  # processing time, as typed (a date or ISO time)
    until: str = ""
    taken_since: str = ""  # capture time: YYYY, YYYY-MM or YYYY-MM-DD
    taken_until: str = ""
    order: Order = Order.PROCESSED
    has: tuple[str, ...] = ()
    no_labels: bool = False
    include_deleted: bool = False  # records of deleted objects too
    prefix: str = ""  # a folder
    limit: int = 60
    group: str = ""  # "", "month" or "day": headings in the gallery
    default_limit: int = 60  # left out of URLs
    person: str = ""  # a person's name or id, as typed
    #: environment → the photos of ``person`` there (None: no person filter)
    person_keys: Mapping[str, frozenset[str]] | None = field(default=None, compare=False)
    _query: Query = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        query = Query(
            self.environments[0],
            label=self.label or None,
            status=self.status,
            since=time_bound(self.since),
            until=time_bound(self.until, end=True),
            captured_since=capture_bound(self.taken_since),
            captured_until=capture_bound(self.taken_until, end=True),
            order=self.order,
            findings=tuple((HAS[h], "*") for h in self.has),
            no_labels=self.no_labels,
            include_deleted=self.include_deleted,
            prefix=self.prefix or None,
            limit=self.limit,
        )
        object.__setattr__(self, "_query", query)

    def query(
        self, env: str, *, after: Cursor | None = None, ascending: bool = False, limit: int
    ) -> Query:
        return replace(self._query, environment=env, after=after, ascending=ascending, limit=limit)

    @property
    def filtered(self) -> bool:
        return bool(
            self.label or self.status or self.since or self.until or self.taken_since
            or self.taken_until or self.has or self.no_labels or self.prefix
            or self.include_deleted or self.person
        )  # fmt: skip

    def params(self, **changes: Any) -> dict[str, Any]:
        """The query-string parameters that reproduce this list (defaults left out)."""
        values: dict[str, Any] = {
            "env": self.env, "label": self.label,
            "status": self.status.value if self.status else "",
            "since": self.since, "until": self.until, "taken_since": self.taken_since,
            "taken_until": self.taken_until,
            "order": "" if self.order is Order.PROCESSED else self.order.value,
            "has": list(self.has), "no_labels": "1" if self.no_labels else "",
            "include_deleted": "1" if self.include_deleted else "",
            "prefix": self.prefix, "group": self.group, "person": self.person,
            "limit": "" if self.limit == self.default_limit else str(self.limit),
        }  # fmt: skip
        values.update(changes)
        return {k: v for k, v in values.items() if v not in ("", None, [])}

    def url(self, path: str = "/", **changes: Any) -> str:
        return f"{path}?{urlencode(self.params(**changes), doseq=True)}"

    def describe(self) -> str:
        """What the filters select, in words: "label “Cat” · ok · taken 2024-03 to 2024-06"."""
        parts = []
        if self.person:
            parts.append(f"person “{self.person}”")
        if self.label:
            parts.append(f"label “{self.label}”")
        if self.prefix:
            parts.append(f"in {self.prefix}")
        if self.no_labels:
            parts.append("no labels")
        if self.include_deleted:
            parts.append("deleted objects included")
        parts.extend(f"with {h}" for h in self.has)
        if self.status:
            parts.append(f"status {self.status.value}")
        if self.taken_since or self.taken_until:
            parts.append(f"taken {self.taken_since or '…'} to {self.taken_until or '…'}")
        if self.since or self.until:
            parts.append(f"processed {self.since or '…'} to {self.until or '…'}")
        return " · ".join(parts)

    @property
    def scope(self) -> tuple[str, ...]:
        return self.environments if self.env == ALL else (self.env,)


def capture_bound(value: str | None, *, end: bool = False) -> str | None:
    """``2024``, ``2024-07`` or ``2024-07-14`` as a bound on ``captured_at`` (the camera's
    local time, compared as text); as an upper bound, the end of that year, month or day."""
    if not value:
        return None
    value = value.strip()
    parts = value.split("-")
    widths = [4, 2, 2][: len(parts)]
    if (
        len(parts) > 3
        or any(len(p) != w or not p.isdigit() for p, w in zip(parts, widths, strict=True))
        or (len(parts) > 1 and not 1 <= int(parts[1]) <= 12)
    ):
        raise ValueError(f"not a year, month or day (2024, 2024-07, 2024-07-14): {value!r}")
    if not end:
        return value
    return value + "~"  # "~" sorts after every digit, "T" and "+": the whole period


def listing_params(default_limit: int) -> Callable[..., Listing]:
    """A dependency reading the list filters from the query string (the gallery form's fields;
    the API's too, which adds ``prefix``)."""

    def parse(
        settings: Settings,
        env: Annotated[str | None, Param(description="an environment, or `all`")] = None,
        label: Annotated[str | None, Param(description="a label name, any case")] = None,
        status: Annotated[str | None, Param(description="`ok` or `error`")] = None,
        since: Annotated[
            str | None, Param(description="processed from: ISO date or time, inclusive")
        ] = None,
        until: Annotated[
            str | None, Param(description="processed until: ISO time (exclusive) or date")
        ] = None,
        taken_since: Annotated[
            str | None, Param(description="taken from: `2024`, `2024-07` or `2024-07-14`")
        ] = None,
        taken_until: Annotated[
            str | None, Param(description="taken until (that whole year, month or day)")
        ] = None,
        order: Annotated[
            Order, Param(description="newest `processed` or newest `captured` first")
        ] = Order.PROCESSED,
        has: Annotated[
            list[str] | None, Param(description="`faces`, `text`, `duplicates` (repeatable)")
        ] = None,
        no_labels: Annotated[bool, Param(description="only records without labels")] = False,
        include_deleted: Annotated[
            bool, Param(description="also records of objects deleted since (`deleted_at`)")
        ] = False,
        prefix: Annotated[str | None, Param(description="key prefix (a folder)")] = None,
        limit: Annotated[int, Param(ge=1, le=MAX_LIMIT, description="page size")] = default_limit,
        group: Annotated[
            str | None, Param(description="gallery headings: `month` or `day`")
        ] = None,
        person: Annotated[
            str | None, Param(description="a person's name or id (the `people` analyzer)")
        ] = None,
        people: OptionalPeople = None,
    ) -> Listing:
        env = ALL if env == ALL else known_environment(settings, env)
        unknown = sorted(set(has or ()) - set(HAS))
        if unknown:
            raise HTTPException(422, f"has= takes {', '.join(HAS)}, not {', '.join(unknown)}")
        if group not in (None, "", "month", "day"):
            raise HTTPException(422, f"group= takes month or day, not {group!r}")
        return Listing(
            environments=settings.environments, env=env, label=(label or "").strip(),
            status=status_or_422(status), since=since or "", until=until or "",
            taken_since=taken_since or "", taken_until=taken_until or "", order=order,
            has=tuple(dict.fromkeys(has or ())), no_labels=no_labels,
            include_deleted=include_deleted, prefix=prefix or "",
            limit=limit, group=group or "", default_limit=default_limit,
            person=(person or "").strip(),
            person_keys=photos_of(people, settings, env, person),
        )  # fmt: skip

    return parse


def photos_of(
    people: PeopleStore | None, settings: WebSettings, env: str, person: str | None
) -> dict[str, frozenset[str]] | None:
    """Each environment's photos of ``person`` (none where there is no such person), or None
    without a person filter."""
    person = (person or "").strip()
    if not person:
        return None
    if people is None or not settings.people_environments:
        raise HTTPException(422, "person= needs people on (EVENTLENS_PEOPLE=on)")
    scope = settings.environments if env == ALL else (env,)
    found: dict[str, frozenset[str]] = {}
    for each in scope:
        try:
            keys = people.photos_of(each, person) if each in settings.people_environments else []
        except PeopleError:
            keys = []
        found[each] = frozenset(keys)
    return found


GALLERY_LIMIT = 60
parse_gallery_listing = listing_params(GALLERY_LIMIT)
GalleryListing = Annotated[Listing, Depends(parse_gallery_listing)]
ApiListing = Annotated[Listing, Depends(listing_params(100))]


def listing_from(
    settings: WebSettings, query_string: str | None, people: PeopleStore | None = None
) -> Listing | None:
    """The list a record page was opened from (its ``from=`` parameter), or None."""
    if not query_string:
        return None
    values = parse_qs(query_string)

    def one(name: str) -> str | None:
        return values.get(name, [None])[-1]

    try:
        return parse_gallery_listing(
            settings, env=one("env"), label=one("label"), status=one("status"),
            since=one("since"), until=one("until"), taken_since=one("taken_since"),
            taken_until=one("taken_until"), order=Order(one("order") or Order.PROCESSED),
            has=values.get("has"), no_labels=one("no_labels") in ("1", "true", "on"),
            include_deleted=one("include_deleted") in ("1", "true", "on"),
            prefix=one("prefix"), limit=min(MAX_LIMIT, max(1, int(one("limit") or GALLERY_LIMIT))),
            group=one("group"), person=one("person"), people=people,
        )  # fmt: skip
    except ValueError as exc:
        raise HTTPException(422, f"from=: {exc}") from None


@dataclass(frozen=True, slots=True)
class Page:
    records: list[Record]
    newer: Cursor | None  # where the previous page ends (None: this is the first)
    older: Cursor | None  # where the next page starts (None: this is the last)


def fetch(
    store: ResultStore,
    listing: Listing,
    *,
    after: Cursor | None = None,
    before: Cursor | None = None,
) -> Page:
    """One page: the first, the one after ``after``, or the one before ``before``."""
    limit = listing.limit
    if before is not None:
        found = _merged(store, listing, before, ascending=True, limit=limit + 1)
        records = found[:limit][::-1]
        if not records:
            return Page([], None, before)
        newer = position(records[0], listing.order) if len(found) > limit else None
        return Page(records, newer, position(records[-1], listing.order))
    found = _merged(store, listing, after, ascending=False, limit=limit + 1)
    records = found[:limit]
    older = position(records[-1], listing.order) if len(found) > limit else None
    if after is None:
        return Page(records, None, older)
    return Page(records, position(records[0], listing.order) if records else after, older)


def neighbours(store: ResultStore, listing: Listing, record: Record) -> tuple[Record | None, ...]:
    """The records before and after ``record`` in the list (None at either end)."""
    here = position(record, listing.order)
    newer = _merged(store, listing, here, ascending=True, limit=1)
    older = _merged(store, listing, here, ascending=False, limit=1)
    return (newer[0] if newer else None), (older[0] if older else None)


def count(store: ResultStore, listing: Listing) -> int | None:
    """How many records match, or None where a store cannot count cheaply."""
    total = 0
    if listing.person_keys is not None:
        return len(_of_person(store, listing, None, ascending=False))
    for env in listing.scope:
        found = store.count_matching(listing.query(env, limit=1))
        if found is None:
            return None
        total += found
    return total


def _merged(
    store: ResultStore, listing: Listing, cursor: Cursor | None, *, ascending: bool, limit: int
) -> list[Record]:
    """The next ``limit`` records from ``cursor`` over every environment in scope."""
    if listing.person_keys is not None:
        return _of_person(store, listing, cursor, ascending=ascending)[:limit]
    found: list[Record] = []
    for env in listing.scope:
        query = listing.query(env, after=cursor, ascending=ascending, limit=limit)
        found.extend(store.query(query))
    found.sort(key=lambda r: (sort_value(r, listing.order), r.filename), reverse=not ascending)
    return found[:limit]


def _of_person(
    store: ResultStore, listing: Listing, cursor: Cursor | None, *, ascending: bool
) -> list[Record]:
    """Every record of the person's photos past ``cursor`` that the other filters accept, in
    list order (records are read one by one: a person's photos, not the whole table)."""
    assert listing.person_keys is not None
    found: list[Record] = []
    for env in listing.scope:
        query = listing.query(env, after=cursor, ascending=ascending, limit=1)
        for key in sorted(listing.person_keys.get(env, ())):
            record = store.get(env, key)
            if record is not None and query.accepts(record):
                found.append(record)
    found.sort(key=lambda r: (sort_value(r, listing.order), r.filename), reverse=not ascending)
    return found


def encode_cursor(cursor: Cursor | None) -> str:
    if cursor is None:
        return ""
    raw = json.dumps([cursor.value, cursor.filename], ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str | None) -> Cursor | None:
    if not text:
        return None
    try:
        value, filename = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (ValueError, TypeError, binascii.Error, RecursionError):
        # RecursionError: JSON nested deeper than the parser goes (a hand-made cursor)
        raise HTTPException(422, "not a page cursor from this dashboard") from None
    if not isinstance(value, str) or not isinstance(filename, str):
        raise HTTPException(422, "not a page cursor from this dashboard")
    return Cursor(value, filename)
