"""The photo-browsing pages and their API through FastAPI's TestClient: paging, filters, record
pages, originals, labels, re-analysis through the real queue and pipeline, error pages."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import pytest

pytest.importorskip("fastapi", reason="the web extra is not installed")
pytest.importorskip("httpx2", reason="TestClient needs httpx2")

from fastapi.testclient import TestClient

from eventlens.events.local import event_for_key
from eventlens.pipeline import REQUESTED, Pipeline
from eventlens.results.record import Record
from eventlens.routing import Router
from eventlens.runner import LocalRunner
from eventlens.storage.local import LocalFolderStore
from eventlens.web import create_app
from eventlens.web.images import LocalImageSource
from tests.conftest import DominantColourAnalyzer
from tests.images import jpeg
from tests.seed import BETA, COPY, PEOPLE, Seeded, add_photos

CAT = BETA + "tabby-cat.jpg"


@pytest.fixture
def client(seeded: Seeded) -> Iterator[TestClient]:
    add_photos(seeded)
    yield TestClient(create_app(seeded.store, seeded.queue, LocalImageSource(seeded.root)))


def pages(client: TestClient, **params: object) -> list[list[str]]:
    """Every page of /api/records, following ``next``."""
    found: list[list[str]] = []
    after = None
    while True:
        body = client.get("/api/records", params={**params, "after": after}).json()
        found.append([r["filename"] for r in body["records"]])
        after = body["next"]
        if after is None:
            return found


def test_api_pages_follow_the_cursor_and_count_what_matched(
    client: TestClient, seeded: Seeded
) -> None:
    everything = [r["filename"] for r in client.get("/api/records?env=beta").json()["records"]]
    walked = pages(client, env="beta", limit=3)
    assert [len(p) for p in walked] == [3, 3, 2]
    assert [key for page in walked for key in page] == everything
    assert client.get("/api/records?env=beta&label=pet").json()["matched"] == 3
    across = [key for page in pages(client, env="all", limit=4) for key in page]
    assert len(across) == 9 and "rekognition-input/prod/astronaut.jpg" in across
    faces = client.get("/api/records", params={"env": "beta", "has": "faces"}).json()
    assert {r["filename"] for r in faces["records"]} == {CAT, PEOPLE}
    bare = client.get("/api/records", params={"env": "beta", "no_labels": "true"}).json()
    assert [r["filename"] for r in bare["records"]] == [BETA + "night.jpg"]
    taken = client.get(
        "/api/records", params={"env": "all", "taken_since": "1999", "taken_until": "1999-07"}
    ).json()
    assert [r["filename"] for r in taken["records"]] == [PEOPLE]
    by_capture = client.get("/api/records?env=beta&order=captured&limit=2").json()["records"]
    assert [r["filename"] for r in by_capture] == [COPY, PEOPLE]  # 2025, then 1999
    for bad in ({"after": "not-a-cursor"}, {"has": "cats"}, {"taken_since": "July"},
                {"order": "random"}):  # fmt: skip
        response = client.get("/api/records", params={"env": "beta", **bad})
        assert response.status_code == 422, bad
        assert response.headers["content-type"] == "application/json"


def test_gallery_pages_say_what_matched_and_group_by_capture_month(client: TestClient) -> None:
    pets = client.get("/?env=beta&label=Pet").text
    assert 'id="match-count">3</b> records match label “Pet”' in pets
    first = client.get("/?env=beta&limit=4").text
    assert 'id="page-older"' in first and 'id="page-newer"' not in first
    timeline = client.get("/?env=beta&order=captured&group=month").text
    headings = ["May 2025", "July 1999", "No capture time"]
    assert [timeline.index(h) for h in headings] == sorted(timeline.index(h) for h in headings)
    copy_chip = f'href="/records/beta/{quote(CAT)}">copy of tabby-cat.jpg</a>'
    assert copy_chip in client.get("/?env=beta").text
    assert "1 face<" in first and "1 faces" not in first and "{'phash'" not in first


def test_record_page_and_its_lightbox_fragment(client: TestClient) -> None:
    url = f"/records/beta/{quote(PEOPLE)}"
    page = client.get(url, params={"from": "env=beta&limit=4"})
    assert page.status_code == 200
    parts = ('class="box label"', 'class="box face"', 'class="box text"', "Hasselblad",
             "#e55f2b", "1999-07-23 04:31:00 (-04:00)", 'rel="next"', "Raw record")  # fmt: skip
    for part in parts:
        assert part in page.text, part
    fragment = client.get(url, params={"fragment": 1}).text
    assert 'id="record"' in fragment and "<html" not in fragment
    copy = client.get(f"/records/beta/{quote(COPY)}").text
    assert f'href="/records/beta/{quote(CAT)}"' in copy and "(original)" in copy
    missing = client.get(f"/records/beta/{BETA}missing.jpg")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
    assert "no record for" in missing.text


def test_originals_are_served_only_for_records_inside_the_root(
    client: TestClient, seeded: Seeded
) -> None:
    served = client.get(f"/original/beta/{quote(PEOPLE)}")
    assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in served.headers["content-security-policy"]
    assert served.content == (seeded.root / PEOPLE).read_bytes()
    assert client.get(f"/original/beta/{BETA}broken.jpg").status_code == 404  # no record
    (seeded.root.parent / "secret.jpg").write_bytes(b"secret")
    escape = BETA + "../../../secret.jpg"
    seeded.store.put(Record(escape, "beta"))
    assert client.get(f"/original/beta/{quote(escape)}").status_code in (403, 404)
    seeded.store.put(Record(BETA + "scan.tif", "beta"))
    (seeded.root / BETA / "scan.tif").write_bytes(b"II*\x00")
    tiff = client.get(f"/original/beta/{BETA}scan.tif", follow_redirects=False)
    assert tiff.status_code == 307 and tiff.headers["location"].startswith("/thumb?key=")


def test_labels_page_and_suggestions(client: TestClient) -> None:
    labels = client.get("/api/labels?env=beta").json()["labels"]
    by_name = {label["name"]: label for label in labels}
    assert by_name["Astronaut"]["records"] == 1 and by_name["Astronaut"]["cover"] == PEOPLE
    assert by_name["Person"]["specific"] == 0  # only ever the astronaut's parent here
    assert labels[-1]["specific"] == 0  # parents-only labels come last
    everywhere = {la["name"]: la for la in client.get("/api/labels?env=all").json()["labels"]}
    assert everywhere["Person"]["records"] == 2 and everywhere["Person"]["specific"] == 1
    page = client.get("/labels?env=beta").text
    assert 'href="/?env=beta&label=Astronaut"' in page and "Broader labels" not in page
    assert "Broader labels" in client.get("/labels?env=beta&parents=true").text
    assert client.get("/api/labels?env=nope").status_code == 404
    fast = client.get("/api/labels?env=beta&covers=false").json()["labels"]
    assert [la["name"] for la in fast] == [la["name"] for la in labels]
    assert {la["cover"] for la in fast} == {None}
    for env, newest in (("beta", PEOPLE), ("all", "rekognition-input/prod/astronaut.jpg")):
        cover = client.get(f"/labels/cover?env={env}&label=astronaut", follow_redirects=False)
        assert cover.status_code == 302
        assert cover.headers["location"] == f"/thumb?key={quote(newest, safe='')}"
    assert client.get("/labels/cover?env=beta&label=Unicorn").status_code == 404


def test_reanalyse_goes_through_the_queue_and_forces_analysis(
    client: TestClient, seeded: Seeded
) -> None:
    bucket = LocalFolderStore(seeded.root)
    analyzer = DominantColourAnalyzer()
    pipeline = Pipeline(bucket, seeded.store, {"*": [analyzer]}, router=Router())
    runner = LocalRunner(pipeline, seeded.queue, bucket, Router())
    key = BETA + "red.jpg"
    bucket.write(key, jpeg((220, 20, 20)))
    event = event_for_key(bucket, key, source="test")
    assert event is not None
    seeded.queue.enqueue([event])
    runner.drain()
    before = seeded.store.get("beta", key)
    assert before is not None and before.ok and analyzer.calls == 1
    seeded.queue.enqueue([event])  # the same file again: nothing to do
    assert runner.drain().counts["unchanged"] == 1 and analyzer.calls == 1

    body = {"environment": "beta", "keys": [key, BETA + "nope.jpg"]}
    assert client.post("/api/reanalyse", json=body).json() == {
        "queued": 1, "unknown": [BETA + "nope.jpg"],
    }  # fmt: skip
    (job,) = seeded.queue.claim(1)
    assert job.event.source == REQUESTED and job.event.bucket == str(seeded.root.resolve())
    (outcome,) = pipeline.process_batch([job.event])  # what `eventlens run` does with it
    seeded.queue.ack(job)
    after = seeded.store.get("beta", key)
    assert outcome.action.value == "stored" and analyzer.calls == 2
    assert after is not None and after.timestamp > before.timestamp
    # re-analysis of a file deleted before the runner got to it: the record is marked deleted
    client.post("/api/reanalyse", json=body)
    (seeded.root / key).unlink()
    (job,) = seeded.queue.claim(1)
    (outcome,) = pipeline.process_batch([job.event])
    gone = seeded.store.get("beta", key)
    assert outcome.action.value == "deleted" and analyzer.calls == 2
    assert gone is not None and gone.deleted_at is not None
    assert client.get(f"/api/records/beta/{quote(key)}").json()["deleted_at"] == gone.deleted_at

    form = client.post("/reanalyse", data={"env": "beta", "key": CAT}, follow_redirects=False)
    assert form.status_code == 303
    assert form.headers["location"] == f"/records/beta/{quote(CAT)}?queued=1"
    for origin in ("http://evil.example", "null"):
        refused = client.post("/api/reanalyse", json=body, headers={"Origin": origin})
        assert refused.status_code == 403
    read_only = TestClient(create_app(seeded.store))
    assert read_only.post("/api/reanalyse", json=body).status_code == 404


def test_reanalyse_needs_the_token_like_retry(seeded: Seeded) -> None:
    app = create_app(seeded.store, seeded.queue, LocalImageSource(seeded.root), token="t0ken")
    client = TestClient(app)
    body = {"environment": "beta", "keys": [CAT]}
    assert client.post("/api/reanalyse", json=body).status_code == 401
    ok = client.post("/api/reanalyse", json=body, headers={"Authorization": "Bearer t0ken"})
    assert ok.json() == {"queued": 1, "unknown": []}


def test_bad_addresses_get_html_pages_and_the_api_keeps_json(client: TestClient) -> None:
    for url, status in (("/?env=nope", 404), ("/?limit=0", 422), ("/?since=yesterday", 422),
                        ("/?after=%%%", 422), ("/nowhere", 404),
                        (f"/records/beta/{quote(CAT)}?from=order%3Dsideways", 422)):  # fmt: skip
        response = client.get(url)
        assert response.status_code == status, url
        assert response.headers["content-type"].startswith("text/html"), url
        assert 'id="error-title"' in response.text
    api = client.get("/api/records?env=nope")
    assert api.status_code == 404 and api.json()["detail"].startswith("unknown environment")


def test_favicon_charts_and_openapi_docs(client: TestClient) -> None:
    for path in ("/favicon.ico", "/favicon.svg"):
        icon = client.get(path)
        assert icon.status_code == 200 and icon.headers["content-type"] == "image/svg+xml"
    charts = client.get("/charts?env=beta").text
    assert "hour (UTC)" in charts and 'class="axis-title"' in charts
    assert '<a href="/?env=beta&amp;label=Astronaut">' in charts
    spec = client.get("/openapi.json").json()
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            assert operation.get("summary") and operation.get("description"), (method, path)
    listing = spec["paths"]["/api/records"]["get"]
    assert all(p.get("description") for p in listing["parameters"])
    assert "example" in listing["responses"]["200"]["content"]["application/json"]
    docs = client.get("/docs").text
    assert "capture" in docs and "taken_since" in docs


def test_hostile_keys_and_findings_render_safely(client: TestClient, seeded: Seeded) -> None:
    key = BETA + 'we?ird #1 "quote" <b>.jpg'  # (a literal %xx: TestClient decodes paths twice)
    evil = "<script>alert(1)</script>"
    seeded.store.put(
        Record(
            key, "beta", captured_at="2024-01-01T00:00:00",
            labels=[{"Name": evil, "Confidence": "NaN", "Parents": [{"Name": 5}],
                     "Instances": [{"BoundingBox": {"Left": "1e309", "Top": -3, "Width": 2,
                                                    "Height": None}}, "junk"]}],
            findings={
                "faces": {"FaceDetails": [{"BoundingBox": {"Left": -1, "Top": 0.5,
                                                           "Width": 5, "Height": 0.2}}]},
                "text": "not a list", "image_properties": {"DominantColors": [
                    {"HexCode": "#zzz;background:url(//evil)", "CSSColor": evil},
                    {"Red": 300, "Green": 0, "Blue": 0}, {"HexCode": "#A1B2C3", "CSSColor": evil},
                ], "Quality": {"Brightness": "bright"}},
                "exif": {"Make": evil, "GPSLatitude": "north", "GPSLongitude": 2.0},
                "duplicates": {"DuplicateOf": BETA + "../x.jpg"},
            },
        )
    )  # fmt: skip
    gallery = client.get("/?env=beta").text
    page = client.get(f"/records/beta/{quote(key)}")
    assert page.status_code == 200 and f'data-key="{key}"' not in page.text
    shown = page.text.split('id="raw-record"')[0]  # the raw record quotes it all, escaped
    for text in (gallery, shown):
        assert evil not in text and "url(//evil)" not in text
    assert "#a1b2c3" in page.text and "&lt;script&gt;" in page.text
    assert 'class="box face" style="left:0.000%;top:50.000%;width:100.000%;height:20.000%"' in (
        page.text
    )
    assert "north" not in shown and "Position" not in shown  # an unreadable one is left out
    assert client.get(f"/original/beta/{quote(key)}").status_code == 404  # no such file
    assert client.get(f"/api/records/beta/{quote(key)}").json()["filename"] == key
