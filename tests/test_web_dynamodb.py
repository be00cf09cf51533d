"""The dashboard and its API, read-only against DynamoDB (moto server over HTTP)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from eventlens.results.dynamodb import DynamoDBResultStore
from eventlens.results.record import Record, Status

if TYPE_CHECKING:
    from tests.aws_fixtures import Stack

pytest_plugins = ["tests.aws_fixtures"]
fastapi_testclient = pytest.importorskip("fastapi.testclient")


def test_gallery_api_stats_and_metrics_read_dynamodb(stack: Stack) -> None:
    from eventlens.web.app import create_app

    store = DynamoDBResultStore(stack.tables)
    beta = "rekognition-input/beta/"
    store.put(Record(beta + "cat one.jpg", "beta", labels=[
        {"Name": "Cat", "Confidence": 97.5, "Parents": [{"Name": "Animal"}], "Instances": []}],
        timestamp="2026-11-28T10:00:00.000000Z", duration_ms=21.0))  # fmt: skip
    store.put(
        Record(
            beta + "bad+file.jpg",
            "beta",
            status=Status.ERROR,
            error="not an image",
            timestamp="2026-11-28T10:01:00.000000Z",
            duration_ms=2.0,
        )
    )
    client = fastapi_testclient.TestClient(create_app(store, environments=["beta", "prod"]))

    records = client.get("/api/records", params={"env": "beta"}).json()["records"]
    assert sorted(r["filename"] for r in records) == [beta + "bad+file.jpg", beta + "cat one.jpg"]
    cats = client.get("/api/records", params={"env": "beta", "label": "cat"}).json()["records"]
    assert [r["filename"] for r in cats] == [beta + "cat one.jpg"]
    one = client.get(f"/api/records/beta/{beta}bad+file.jpg").json()
    assert one["status"] == "error" and one["error"] == "not an image"

    stats = client.get("/api/stats", params={"env": "beta"}).json()
    assert stats["total"] == 2 and stats["errors"] == 1
    assert stats["top_labels"] == [{"name": "Cat", "count": 1}]
    page = client.get("/", params={"env": "beta"})
    assert page.status_code == 200 and "cat one.jpg" in page.text
    metrics = client.get("/metrics").text
    assert 'eventlens_records{environment="beta",status="ok"} 1.0' in metrics
    assert store.count("beta") == 2  # the dashboard never wrote


def test_pages_read_the_time_index_not_the_whole_table(stack: Stack) -> None:
    import boto3

    from eventlens.web.app import create_app

    client = boto3.client("dynamodb", region_name="us-east-1")
    store = DynamoDBResultStore(stack.tables, client)
    beta = "rekognition-input/beta/"
    for i in range(40):
        store.put(Record(
            f"{beta}img{i:02d}.jpg", "beta", labels=[{"Name": "Cat", "Confidence": 90.0}],
            timestamp=f"2026-11-{1 + i // 2:02d}T10:00:00.000000Z", duration_ms=10.0,
            status=Status.ERROR if i % 10 == 0 else Status.OK,
        ))  # fmt: skip
    calls: list[str] = []
    client.meta.events.register(
        "after-call.dynamodb.*", lambda model, **_: calls.append(model.name)
    )
    web = fastapi_testclient.TestClient(create_app(store, environments=["beta"]))

    first = web.get("/", params={"env": "beta", "limit": 5})
    assert first.status_code == 200 and "img39.jpg" in first.text
    assert "Query" in calls and calls.count("Scan") <= 2  # totals, computed once and cached
    calls.clear()
    for _ in range(3):
        assert web.get("/", params={"env": "beta", "limit": 5}).status_code == 200
    assert calls and set(calls) == {"Query"}  # later views: the index only

    calls.clear()
    window = {"env": "beta", "since": "2026-11-15", "until": "2026-11-17"}  # whole days
    stats = web.get("/api/stats", params=window).json()
    assert set(calls) == {"Query"}
    days = {"2026-11-15", "2026-11-16", "2026-11-17"}
    expected = [r for r in store.iter_all("beta") if r.timestamp[:10] in days]
    assert stats["total"] == len(expected) == 6
    assert stats["errors"] == sum(1 for r in expected if r.status is Status.ERROR) == 1


def test_api_pages_walk_the_time_index_with_a_cursor(stack: Stack) -> None:
    import boto3

    from eventlens.web.app import create_app

    client = boto3.client("dynamodb", region_name="us-east-1")
    store = DynamoDBResultStore(stack.tables, client, page_size=4)
    beta = "rekognition-input/beta/"
    for i in range(13):  # pairs share a timestamp: ties are broken by key
        store.put(Record(f"{beta}p{i:02d}.jpg", "beta", labels=[{"Name": "Cat", "Confidence": 90}],
                         timestamp=f"2026-11-{1 + i // 2:02d}T10:00:00.000000Z"))  # fmt: skip
    calls: list[str] = []
    client.meta.events.register(
        "after-call.dynamodb.*", lambda model, **_: calls.append(model.name)
    )
    web = fastapi_testclient.TestClient(create_app(store, environments=["beta"]))
    walked: list[str] = []
    after = None
    while True:
        body = web.get("/api/records", params={"env": "beta", "limit": 5, "after": after}).json()
        assert body["matched"] is None  # counting would read the table
        walked += [r["filename"] for r in body["records"]]
        after = body["next"]
        if after is None:
            break
    assert walked == [f"{beta}p{i:02d}.jpg" for i in reversed(range(13))]
    assert set(calls) == {"Query"}
    page = web.get("/", params={"env": "beta", "limit": 5, "label": "cat"})
    assert page.status_code == 200 and 'id="page-older"' in page.text
