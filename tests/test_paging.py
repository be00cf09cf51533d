"""Cursor paging, capture-time order and the listing filters, on SQLite and on DynamoDB's
``by_time`` index (moto server): walking every page forwards and back visits each record once,
in order, whatever the ties."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from eventlens.results.base import Cursor, Order, Query, ResultStore, position, summarise_labels
from eventlens.results.record import Record, Status
from eventlens.results.sqlite import SQLiteResultStore

if TYPE_CHECKING:
    from pathlib import Path

    from tests.aws_fixtures import Stack

pytest_plugins = ["tests.aws_fixtures"]

BETA = "rekognition-input/beta/"


def records() -> list[Record]:
    """30 records; timestamps repeat (ties broken by key), a third have no capture time, some
    have no labels, some faces."""
    out = []
    for i in range(30):
        labels: list[dict[str, object]] = [{"Name": "Tree", "Confidence": 80.0}]
        if i % 3 == 0:
            labels = [
                {"Name": "Cat", "Confidence": 90.0, "Parents": [{"Name": "Animal"}]},
                {"Name": "Animal", "Confidence": 92.0, "Parents": []},
            ]
        elif i % 5 == 1:
            labels = []
        out.append(
            Record(
                filename=f"{BETA}{(i * 7) % 30:02d}.jpg",
                environment="beta",
                labels=labels,
                timestamp=f"2026-11-{1 + i // 4:02d}T10:00:00.000000Z",
                captured_at=None if i % 3 == 1 else f"2024-0{1 + i % 9}-1{i % 10}T08:00:00",
                status=Status.ERROR if i % 11 == 0 else Status.OK,
                findings={"faces": {"FaceDetails": [{"Confidence": 99.0}]}} if i % 4 == 0 else {},
            )
        )
    return out


@pytest.fixture(params=["sqlite", "dynamodb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ResultStore]:
    if request.param == "sqlite":
        found: ResultStore = SQLiteResultStore(tmp_path / "r.db", {"beta": "beta_results"})
    else:
        from eventlens.results.dynamodb import DynamoDBResultStore

        stack: Stack = request.getfixturevalue("stack")
        found = DynamoDBResultStore(stack.tables, page_size=7)  # several index pages per call
    for record in records():
        assert found.put(record)
    yield found
    found.close()


def expected(query: Query) -> list[Record]:
    """The listing by definition: filter, sort by (value, key), newest first."""
    order = query.order
    matching = [r for r in records() if Query(**{**_fields(query), "after": None}).accepts(r)]
    matching.sort(key=lambda r: (position(r, order).value, r.filename), reverse=True)
    return matching


def _fields(query: Query) -> dict[str, object]:
    return {name: getattr(query, name) for name in Query.__dataclass_fields__}


def walk(store: ResultStore, query: Query, *, ascending: bool = False) -> list[str]:
    """Every page of ``limit`` records, following the cursor, until an empty page."""
    seen: list[str] = []
    cursor: Cursor | None = None
    while True:
        page = store.query(Query(**{**_fields(query), "after": cursor, "ascending": ascending}))
        assert len(page) <= query.limit
        if not page:
            return seen
        seen.extend(r.filename for r in page)
        cursor = position(page[-1], query.order)


@pytest.mark.parametrize(
    "query",
    [
        Query("beta", limit=4),
        Query("beta", limit=3, label="cat"),
        Query("beta", limit=5, status=Status.OK, since="2026-11-02", until="2026-11-06"),
        Query("beta", limit=4, order=Order.CAPTURED),
        Query(
            "beta",
            limit=4,
            order=Order.CAPTURED,
            captured_since="2024-03",
            captured_until="2024-07",
        ),
        Query("beta", limit=2, no_labels=True),
        Query("beta", limit=3, findings=(("faces", "*"),)),
    ],
    ids=["all", "label", "window", "captured", "captured-window", "no-labels", "faces"],
)
def test_every_page_forwards_and_back(store: ResultStore, query: Query) -> None:
    want = [r.filename for r in expected(query)]
    assert want, "the case selects something"
    assert walk(store, query) == want
    assert walk(store, query, ascending=True) == want[::-1]
    if isinstance(store, SQLiteResultStore):
        assert store.count_matching(query) == len(want)


def test_a_page_back_from_the_middle(store: ResultStore) -> None:
    everything = [r.filename for r in expected(Query("beta"))]
    middle = records()[15]
    second = store.query(Query("beta", limit=4, after=position(middle, Order.PROCESSED)))
    start = everything.index(middle.filename) + 1
    assert [r.filename for r in second] == everything[start : start + 4]
    back = store.query(
        Query("beta", limit=4, after=position(second[0], Order.PROCESSED), ascending=True)
    )
    assert [r.filename for r in back][::-1] == everything[max(0, start - 4) : start]


def test_label_summary_counts_specific_labels_and_picks_the_newest_cover(
    store: ResultStore,
) -> None:
    summary = {s.name: s for s in store.label_summary("beta")}
    assert summary == {s.name: s for s in summarise_labels(iter(records()))}
    assert (summary["Cat"].records, summary["Cat"].specific) == (10, 10)
    assert (summary["Animal"].records, summary["Animal"].specific) == (10, 0)
    newest_cat = max((r for r in records() if "Cat" in r.label_names()),
                     key=lambda r: (r.timestamp, r.filename))  # fmt: skip
    assert summary["Cat"].cover == newest_cat.filename
    top = store.stats("beta", top=3).top_labels
    assert top == [("Tree", 16), ("Cat", 10)]  # Animal is only ever Cat's parent


def test_label_counts_follow_rewrites_and_deletes(tmp_path: Path) -> None:
    store = SQLiteResultStore(tmp_path / "r.db", {"beta": "beta_results"})
    for record in records():
        store.put(record)
    cat = next(r for r in records() if "Cat" in r.label_names())
    cat.labels = [{"Name": "Dog", "Confidence": 90.0}, {"Name": "dog", "Confidence": 95.0}]
    store.put(cat)  # relabelled; the same name twice counts once
    store.delete_many("beta", [r.filename for r in records()[-6:]])
    live = list(store.iter_all("beta"))
    assert store.label_summary("beta") == summarise_labels(iter(live))
    assert {s.name: s.records for s in store.label_summary("beta")}["Dog"] == 1
