from __future__ import annotations

import io
from typing import Any
from urllib.parse import quote

import pytest

pytest.importorskip("fastapi", reason="the web extra is not installed")
pytest.importorskip("httpx2", reason="TestClient needs httpx2")

from fastapi.testclient import TestClient
from PIL import Image

from eventlens.results.base import Query
from eventlens.results.record import Record
from eventlens.results.stats import Granularity, stats_from_records
from eventlens.web import create_app
from eventlens.web.app import findings_summary, time_bound
from eventlens.web.images import LocalImageSource
from tests.seed import BETA, Seeded


@pytest.fixture
def client(seeded: Seeded) -> TestClient:
    app = create_app(seeded.store, seeded.queue, LocalImageSource(seeded.root))
    return TestClient(app)


def test_records_list_is_newest_first_and_filters(client: TestClient) -> None:
    body = client.get("/api/records", params={"env": "beta"}).json()
    names = [r["filename"].rsplit("/", 1)[-1] for r in body["records"]]
    assert names == ["tabby-cat.jpg", "golden-dog.jpg", "coffee cup.jpg", "stop-sign.jpg",
                     "night.jpg", "rocket+launch.jpg"]  # fmt: skip
    assert body["count"] == 6 and body["environment"] == "beta"

    pets = client.get("/api/records", params={"env": "beta", "label": "pet"}).json()
    assert sorted(r["filename"] for r in pets["records"]) == [
        BETA + "golden-dog.jpg",
        BETA + "tabby-cat.jpg",
    ]
    errors = client.get("/api/records", params={"env": "beta", "status": "error"}).json()
    assert [r["filename"] for r in errors["records"]] == [BETA + "night.jpg"]
    assert errors["records"][0]["error"].startswith("corrupt")

    # the seed spans 09:50..11:55 on 2026-11-28; 'since' is inclusive, 'until' exclusive
    recent = client.get(
        "/api/records", params={"env": "beta", "since": "2026-11-28T11:40:00Z"}
    ).json()
    assert {r["filename"].rsplit("/", 1)[-1] for r in recent["records"]} == {
        "tabby-cat.jpg",
        "golden-dog.jpg",
    }
    older = client.get("/api/records", params={"env": "beta", "until": "2026-11-28T11:40:00Z"})
    assert {r["filename"].rsplit("/", 1)[-1] for r in older.json()["records"]} == {
        "coffee cup.jpg",
        "stop-sign.jpg",
        "night.jpg",
        "rocket+launch.jpg",
    }
    # a date as the upper bound includes that whole day
    day = client.get("/api/records", params={"env": "beta", "until": "2026-11-28"}).json()
    assert day["count"] == 6
    assert client.get("/api/records", params={"env": "beta", "limit": 2}).json()["count"] == 2
    assert client.get("/api/records", params={"env": "prod"}).json()["count"] == 1


def test_records_rejects_bad_input(client: TestClient) -> None:
    assert client.get("/api/records", params={"env": "nope"}).status_code == 404
    assert client.get("/api/records", params={"env": "beta", "status": "meh"}).status_code == 422
    assert client.get("/api/records", params={"env": "beta", "since": "yesterday"}).status_code \
        == 422  # fmt: skip
    assert client.get("/api/records", params={"env": "beta", "limit": 0}).status_code == 422


def test_record_by_key(client: TestClient, seeded: Seeded) -> None:
    response = client.get(f"/api/records/beta/{BETA}tabby-cat.jpg")
    assert response.status_code == 200
    body = response.json()
    assert body == seeded.records[0].to_dict()
    assert body["labels"][0] == {"Name": "Cat", "Confidence": 97.5, "Parents": [], "Instances": []}
    assert client.get(f"/api/records/beta/{BETA}missing.jpg").status_code == 404
    for record in seeded.records[2], seeded.records[5]:  # "coffee cup.jpg", "rocket+launch.jpg"
        url = "/api/records/beta/" + quote(record.filename)
        assert client.get(url).json()["filename"] == record.filename
    assert client.get(f"/api/records/prod/{BETA}tabby-cat.jpg").status_code == 404


def test_stats_match_the_generic_computation(client: TestClient, seeded: Seeded) -> None:
    body = client.get("/api/stats", params={"env": "beta", "granularity": "hour"}).json()
    assert body["total"] == 6 and body["errors"] == 1
    assert body["error_rate"] == pytest.approx(1 / 6, abs=1e-6)
    assert [(b["start"], b["ok"], b["error"]) for b in body["throughput"]] == [
        ("2026-11-28T09", 1, 1), ("2026-11-28T10", 2, 0), ("2026-11-28T11", 2, 0)
    ]  # fmt: skip
    hist = {h["le_ms"]: h["count"] for h in body["latency_histogram"]}
    # 15 ms, 42 ms, 75.5 ms, 180 ms, 320 ms, 1200 ms
    assert (hist[25], hist[50], hist[100], hist[250], hist[500], hist[2500]) == (1, 1, 1, 1, 1, 1)
    assert sum(hist.values()) == 6
    assert body["latency_sum_ms"] == pytest.approx(15 + 42 + 75.5 + 180 + 320 + 1200)
    assert body["top_labels"][:2] == [{"name": "Animal", "count": 2}, {"name": "Pet", "count": 2}]
    # the SQLite aggregate queries agree with the fallback every other store uses
    generic = stats_from_records(
        "beta", seeded.store.iter_all("beta"), granularity=Granularity.HOUR
    )
    assert generic.to_dict() == body
    auto = client.get("/api/stats", params={"env": "beta"}).json()
    assert auto["granularity"] == "hour"  # the seed spans 2 h 5 min
    last_hour = client.get("/api/stats", params={"env": "beta", "since": "2026-11-28T11:00Z"})
    assert last_hour.json()["granularity"] == "minute"
    assert [b["start"] for b in last_hour.json()["throughput"]] == [
        "2026-11-28T11:40",
        "2026-11-28T11:55",
    ]
    assert (
        client.get("/api/stats", params={"env": "beta", "since": "2030-01-01"}).json()["total"] == 0
    )


def test_dead_letters_list_and_retry(client: TestClient, seeded: Seeded) -> None:
    body = client.get("/api/dlq").json()
    assert body["count"] == 1 and body["pending"] == 0
    letter = body["dead_letters"][0]
    assert letter["key"] == seeded.dead_key and letter["attempts"] == 1
    assert "cannot identify" in letter["error"]
    moved = client.post("/api/dlq/retry", json={"ids": [letter["id"]]}).json()
    assert moved == {"requeued": 1}
    assert client.get("/api/dlq").json()["count"] == 0
    assert seeded.queue.pending() == 1
    (job,) = seeded.queue.claim(1)
    assert job.event.key == seeded.dead_key
    assert client.post("/api/dlq/retry", json={"ids": None}).json() == {"requeued": 0}


def test_dead_letter_form_retry_redirects(client: TestClient, seeded: Seeded) -> None:
    (letter,) = seeded.queue.dead_letters()
    response = client.post("/dlq/retry", data={"id": str(letter.id)}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/dlq?moved=1"
    assert seeded.queue.dead_letters() == [] and seeded.queue.pending() == 1
    page = client.get("/dlq?moved=1").text
    assert "Re-queued 1 event(s)" in page and "No dead letters." in page


def test_without_a_queue_dlq_is_404(seeded: Seeded) -> None:
    client = TestClient(create_app(seeded.store))
    assert client.get("/api/dlq").status_code == 404
    assert client.post("/api/dlq/retry", json={"ids": None}).status_code == 404
    assert "only in local mode" in client.get("/dlq").text
    assert client.get("/thumb", params={"key": BETA + "coffee cup.jpg"}).status_code == 404
    page = client.get("/").text
    assert "no preview" in page and "coffee cup.jpg" in page


def test_thumbnail_is_a_small_jpeg(client: TestClient) -> None:
    response = client.get("/thumb", params={"key": BETA + "coffee cup.jpg"})
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    image = Image.open(io.BytesIO(response.content))
    assert image.format == "JPEG" and max(image.size) == 320


@pytest.mark.parametrize(
    "key",
    [
        "../outside.jpg",
        "rekognition-input/../../outside.jpg",
        "/etc/passwd",
        "rekognition-input/beta/../../../outside.jpg",
        "%2e%2e/outside.jpg",
        "",
    ],
)
def test_thumbnail_refuses_paths_outside_the_root(
    client: TestClient, seeded: Seeded, key: str
) -> None:
    photo = (seeded.root / BETA / "coffee cup.jpg").read_bytes()
    (seeded.root.parent / "outside.jpg").write_bytes(photo)
    response = client.get("/thumb", params={"key": key})
    assert response.status_code in (403, 404, 422)
    assert response.headers["content-type"] != "image/jpeg"
    if ".." in key or key.startswith("/"):
        assert response.status_code == 403


def test_thumbnail_refuses_symlink_out_of_root(client: TestClient, seeded: Seeded) -> None:
    secret = seeded.root.parent / "secret.jpg"
    secret.write_bytes((seeded.root / BETA / "coffee cup.jpg").read_bytes())
    (seeded.root / BETA / "link.jpg").symlink_to(secret)
    assert client.get("/thumb", params={"key": BETA + "link.jpg"}).status_code == 403
    assert client.get("/thumb", params={"key": BETA + "nope.jpg"}).status_code == 404
    (seeded.root / BETA / "junk.jpg").write_bytes(b"junk")
    junk = client.get("/thumb", params={"key": BETA + "junk.jpg"})  # exists, but no image:
    missing = client.get("/thumb", params={"key": BETA + "nope.jpg"})  # the same answer
    assert junk.status_code == missing.status_code == 404 and junk.json() == {
        "detail": f"no such image: {BETA + 'junk.jpg'!r}"
    }


def test_metrics(client: TestClient) -> None:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'eventlens_records{environment="beta",status="ok"} 5.0' in text
    assert 'eventlens_records{environment="beta",status="error"} 1.0' in text
    assert 'eventlens_records{environment="prod",status="ok"} 1.0' in text
    assert 'eventlens_processing_duration_seconds_bucket{environment="beta",le="0.05"} 2.0' in text
    assert 'eventlens_processing_duration_seconds_bucket{environment="beta",le="+Inf"} 6.0' in text
    assert 'eventlens_processing_duration_seconds_count{environment="beta"} 6.0' in text
    assert 'eventlens_processing_duration_seconds_sum{environment="beta"} 1.8325' in text
    assert "eventlens_dlq_depth 1.0" in text
    assert "eventlens_intake_pending 0.0" in text
    client.post("/api/dlq/retry", json={"ids": None})
    after = client.get("/metrics").text
    assert "eventlens_dlq_depth 0.0" in after and "eventlens_intake_pending 1.0" in after


def test_pages_render(client: TestClient) -> None:
    gallery = client.get("/", params={"env": "beta"})
    assert gallery.status_code == 200
    for name in ("tabby-cat.jpg", "golden-dog.jpg", "night.jpg", "1 face<", "text: STOP"):
        assert name in gallery.text
    filtered = client.get("/", params={"env": "beta", "label": "Dog"}).text
    assert "golden-dog.jpg" in filtered and "tabby-cat.jpg" not in filtered
    charts = client.get("/charts", params={"env": "beta"}).text
    for chart in ("chart-throughput", "chart-latency", "chart-labels", "chart-errors"):
        assert f'id="{chart}"' in charts
    assert charts.count('class="bar-ok"') >= 3 + 6  # throughput buckets + latency buckets
    assert "16.7%" in charts  # 1 error in 6 records
    assert client.get("/charts", params={"env": "prod"}).status_code == 200
    assert client.get("/", params={"env": "nope"}).status_code == 404


def test_openapi_and_offline_docs(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    for path in ("/api/records", "/api/records/{env}/{key}", "/api/stats", "/api/dlq",
                 "/api/dlq/retry", "/metrics", "/api/environments"):  # fmt: skip
        assert path in spec["paths"], path
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert "/api/stats" in docs.text and "cdn" not in docs.text.lower()
    assert client.get("/redoc").status_code == 404
    assert client.get("/api/environments").json() == {"environments": ["beta", "prod"]}
    assert client.get("/healthz").json() == {"status": "ok", "store": "ok", "runners": []}


def test_time_bound() -> None:
    assert time_bound("2026-11-28") == "2026-11-28"
    assert time_bound("2026-11-28", end=True) == "2026-11-29"
    assert time_bound("2026-11-28T10:00:00+02:00") == "2026-11-28T08:00:00.000000Z"
    assert time_bound(None) is None
    with pytest.raises(ValueError):
        time_bound("28/11/2026")


def test_findings_summary() -> None:
    assert findings_summary({"faces": {"FaceDetails": [{}, {}]}}) == ["2 faces"]
    assert findings_summary({"text": [{"DetectedText": t} for t in "ABCDE"]}) == [
        "text: A, B, C, D …"
    ]
    assert findings_summary({"moderation": "none", "empty": {}}) == ["moderation: none"]


def test_generic_stats_fallback_is_used_by_other_stores(seeded: Seeded) -> None:
    from eventlens.results.base import ResultStore

    class ListStore(ResultStore):  # what a store without aggregate queries gets
        def __init__(self, records: list[Record]) -> None:
            self.records = records

        def get(self, environment: str, key: str) -> Record | None:
            return next((r for r in self.records if r.filename == key), None)

        def put(self, record: Record) -> bool:
            raise NotImplementedError

        def delete(self, environment: str, key: str) -> bool:
            raise NotImplementedError

        def query(self, query: Query) -> list[Record]:
            return self.records[: query.limit]

        def iter_all(self, environment: str):  # type: ignore[no-untyped-def]
            return iter(self.records)

        def count(self, environment: str, status: object = None) -> int:
            return len(self.records)

    store = ListStore(list(seeded.store.iter_all("beta")))
    client = TestClient(create_app(store, environments=["beta"]))
    body = client.get("/api/stats", params={"env": "beta", "granularity": "hour"}).json()
    assert body == seeded.store.stats("beta", granularity="hour").to_dict()  # type: ignore[arg-type]
    assert "eventlens_dlq_depth" not in client.get("/metrics").text


def test_cross_origin_posts_are_refused(client: TestClient, seeded: Seeded) -> None:
    for origin in ("http://evil.example", "null"):
        response = client.post("/dlq/retry", data={"id": "all"}, headers={"Origin": origin})
        assert response.status_code == 403
        assert client.post("/api/dlq/retry", json={}, headers={"Origin": origin}).status_code \
            == 403  # fmt: skip
    assert len(seeded.queue.dead_letters()) == 1
    same = client.post(
        "/dlq/retry", data={"id": "all"}, headers={"Origin": "http://testserver"},
        follow_redirects=False,
    )  # fmt: skip
    assert same.status_code == 303 and seeded.queue.dead_letters() == []


def test_thumbnail_follows_a_rewritten_file(client: TestClient, seeded: Seeded) -> None:
    key = BETA + "golden-dog.jpg"
    first = Image.open(io.BytesIO(client.get("/thumb", params={"key": key}).content))
    assert first.getpixel((10, 10))[2] < 128  # yellow: little blue
    blue = Image.new("RGB", (320, 240), (20, 40, 230))
    blue.save(seeded.root / key, "JPEG")
    second = Image.open(io.BytesIO(client.get("/thumb", params={"key": key}).content))
    assert second.getpixel((10, 10))[2] > 180


def test_metrics_cache_for_scanning_stores(seeded: Seeded) -> None:
    calls: list[str] = []
    original = seeded.store.stats

    def counting(env: str, **kwargs: Any) -> Any:
        calls.append(env)
        return original(env, **kwargs)

    seeded.store.stats = counting  # type: ignore[method-assign]
    client = TestClient(create_app(seeded.store, metrics_cache_s=60))
    client.get("/metrics")
    client.get("/metrics")
    assert calls == ["beta", "prod"]  # second scrape served from the cache
    uncached = TestClient(create_app(seeded.store, metrics_cache_s=0))
    uncached.get("/metrics")
    uncached.get("/metrics")
    assert len(calls) == 6


def test_s3_image_source_presigns(seeded: Seeded) -> None:
    boto3 = pytest.importorskip("boto3")
    from eventlens.web.images import S3ImageSource

    s3 = boto3.client(
        "s3", region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )
    record = seeded.records[2]  # "coffee cup.jpg": a space in the key
    url = S3ImageSource(s3, "photos").thumbnail_url(record)
    assert url is not None and "photos" in url and "coffee%20cup.jpg" in url
    assert "Signature" in url or "X-Amz-Signature" in url
    page = TestClient(create_app(seeded.store, image_source=S3ImageSource(s3, "photos"))).get("/")
    assert page.text.count("X-Amz-Signature") + page.text.count("Signature=") >= 6


def test_record_text_is_html_escaped(client: TestClient, seeded: Seeded) -> None:
    evil = "<img src=x onerror=alert(1)>"
    seeded.store.put(
        Record(
            filename=BETA + "x<script>.jpg", environment="beta",
            labels=[{"Name": evil, "Confidence": 90.0, "Parents": [], "Instances": []}],
            error=evil, findings={"text": [{"DetectedText": evil}]},
        )
    )  # fmt: skip
    page = client.get("/", params={"env": "beta"}).text
    assert evil not in page and "<script>" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    charts = client.get("/charts", params={"env": "beta"}).text
    assert evil not in charts
