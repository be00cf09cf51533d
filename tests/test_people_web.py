"""The dashboard's people: ``/people`` with a face per person, naming and merging there (POST,
under the access guard's rules), a person's page, the gallery's person filter. Real photos go
through `eventlens run --once` with people on; `eventlens serve` runs as a process; the pages
are driven in Chromium."""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from PIL import Image, ImageOps
from playwright import sync_api

from tests.browser import artifact, chromium, low_contrast, needs_chromium, scrolls_sideways
from tests.processes import BETA, EVENTLENS, Server, rows

PHOTOS = Path(__file__).resolve().parent.parent / "src" / "eventlens" / "data" / "person-check"


def eventlens(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [EVENTLENS, *args, "--root", str(root)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def people_of(root: Path, key: str) -> list[str]:
    findings = json.loads(str(rows(root)[key]["findings"]))
    return [face["PersonId"] for face in findings["people"]["Faces"]]


@pytest.fixture
def bucket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Messi twice (once mirrored and smaller) and the astronaut, analysed with people on;
    `eventlens serve` started by the test inherits the same settings."""
    monkeypatch.setenv("EVENTLENS_ANALYZERS", "image_properties")
    monkeypatch.setenv("EVENTLENS_PEOPLE", "on")
    root = tmp_path / "bucket"
    folder = root / BETA
    folder.mkdir(parents=True)
    messi = Image.open(PHOTOS / "messi.jpg").convert("RGB")
    messi.save(folder / "messi.jpg", quality=95)
    ImageOps.mirror(messi).resize((messi.width * 4 // 5, messi.height * 4 // 5)).save(
        folder / "again.jpg"
    )
    Image.open(PHOTOS / "astronaut.jpg").save(folder / "astronaut.jpg")
    eventlens(root, "run", "--once")
    return root


def post(server: Server, path: str, form: dict[str, str], headers: dict[str, str]) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.port}{path}",
        data=urllib.parse.urlencode(form).encode(),
        headers=headers,
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


@needs_chromium
@pytest.mark.timeout(300)
def test_people_page_names_merges_and_filters_the_gallery(bucket: Path) -> None:
    messi = people_of(bucket, "messi.jpg")[0]
    assert messi in people_of(bucket, "again.jpg")
    (astronaut,) = people_of(bucket, "astronaut.jpg")
    assert astronaut != messi

    with Server(bucket) as server, chromium(f"http://127.0.0.1:{server.port}") as page:
        page.goto("/people?env=beta")
        sync_api.expect(page.locator("#nav-people")).to_have_class("active")
        card = page.locator(f'article.person-card[data-person="{messi}"]')
        sync_api.expect(card.locator(".photo-count")).to_have_text("2 photos")
        sync_api.expect(card.locator(".person-name")).to_have_text("unnamed")
        face = card.locator(".face img").evaluate(
            "img => img.decode().then(() => [img.naturalWidth, img.naturalHeight])"
        )
        assert face == [160, 160]
        assert low_contrast(page) == [] and not scrolls_sideways(page)
        page.screenshot(path=str(artifact("people.png")), full_page=True)

        # a page of another site cannot name anyone through the visitor's browser
        evil = {"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}
        refused = post(server, "/people/name", {"env": "beta", "person": messi, "name": "X"}, evil)
        assert refused == 403

        card.locator("input[name=name]").fill("Lionel Messi")
        card.locator("button", has_text="Save").click()
        sync_api.expect(page.locator("#named-notice")).to_contain_text(messi)
        sync_api.expect(card.locator(".person-name")).to_have_text("Lionel Messi")

        # the gallery's person filter, by name in any case
        page.goto("/?env=beta")
        page.fill("#filter-person", "lionel messi")
        page.click("#apply-filters")
        cards = page.locator("article.card[data-key]")
        sync_api.expect(cards).to_have_count(2)
        keys = {
            k.removeprefix(BETA) for k in cards.evaluate_all("cs => cs.map(c => c.dataset.key)")
        }
        assert keys == {"messi.jpg", "again.jpg"}
        # the API takes the same filter, a page at a time
        seen, after = [], ""
        for _ in range(3):
            status, body = server.get(f"/api/records?env=beta&person=Lionel+Messi&limit=1{after}")
            listed = json.loads(body)
            assert status == 200 and listed["matched"] == 2
            seen += [r["filename"].removeprefix(BETA) for r in listed["records"]]
            if not listed["next"]:
                break
            after = f"&after={listed['next']}"
        assert sorted(seen) == ["again.jpg", "messi.jpg"]

        # a person's page lists their photos
        page.goto(f"/people/beta/{astronaut}")
        sync_api.expect(page.locator("#person-photos article")).to_have_count(1)
        sync_api.expect(page.locator("#person-title")).to_contain_text("unnamed")

        # merge from the people page: the first selected (most photos) stays
        page.goto("/people?env=beta")
        card.locator(".merge-pick").check()
        page.locator(f'article.person-card[data-person="{astronaut}"] .merge-pick').check()
        page.click("#merge-selected")
        sync_api.expect(page.locator("#merged-notice")).to_contain_text("Lionel Messi")
        sync_api.expect(page.locator("#person-photos article")).to_have_count(3)
        assert page.url.endswith(f"/people/beta/{messi}?merged=1")

        # the astronaut's record still says its old id: it leads to who they are now
        page.goto(f"/people/beta/{astronaut}")
        sync_api.expect(page.locator("#person-title")).to_contain_text("Lionel Messi")
        assert page.url.endswith(f"/people/beta/{messi}")
        assert people_of(bucket, "astronaut.jpg") == [astronaut]

        status, crop = server.get(f"/people/beta/{messi}/face")
        assert status == 200

    shown = json.loads(
        eventlens(bucket, "people", "show", astronaut, "--env", "beta", "--json").stdout
    )
    assert shown["id"] == messi and shown["name"] == "Lionel Messi"
    # the face thumbnail is a face: analysed as a photo of its own, it is the same person
    (bucket / BETA / "face-crop.jpg").write_bytes(crop)
    eventlens(bucket, "run", "--once")
    assert people_of(bucket, "face-crop.jpg") == [messi]


@needs_chromium
@pytest.mark.timeout(120)
def test_people_off_the_page_says_how_to_turn_them_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVENTLENS_ANALYZERS", "image_properties")
    monkeypatch.setenv("EVENTLENS_PEOPLE", "off")
    root = tmp_path / "bucket"
    (root / BETA).mkdir(parents=True)
    Image.open(PHOTOS / "messi.jpg").save(root / BETA / "messi.jpg")
    eventlens(root, "run", "--once")
    with Server(root) as server, chromium(f"http://127.0.0.1:{server.port}") as page:
        page.goto("/people?env=beta")
        sync_api.expect(page.locator("#people-off")).to_contain_text("EVENTLENS_PEOPLE=on")
        sync_api.expect(page.locator("#nav-people")).to_have_count(0)
        page.goto("/?env=beta")
        sync_api.expect(page.locator("#filter-person")).to_have_count(0)
        assert server.get("/?env=beta&person=P1")[0] == 422
        assert server.get("/people/beta/P1")[0] == 404
        evil_free = post(server, "/people/name", {"env": "beta", "person": "P1", "name": "A"}, {})
        assert evil_free == 404


def test_a_face_box_that_is_not_one_has_no_thumbnail() -> None:
    from eventlens.web.images import face_region

    assert face_region({"Left": 0.1, "Top": 0.2, "Width": 0.3, "Height": 0.4}) == pytest.approx(
        (0.1, 0.2, 0.3, 0.4)
    )
    assert face_region({"Left": -0.1, "Top": 0.9, "Width": 0.3, "Height": 0.4}) == pytest.approx(
        (0.0, 0.9, 0.2, 0.1)
    )
    for bad in (None, [], {"Left": 0.1}, {"Left": "x", "Top": 0, "Width": 1, "Height": 1},
                {"Left": float("nan"), "Top": 0, "Width": 1, "Height": 1},
                {"Left": 0.5, "Top": 0.5, "Width": 0.001, "Height": 0.5},
                {"Left": 1.5, "Top": 0, "Width": 0.3, "Height": 0.3}):  # fmt: skip
        assert face_region(bad) is None
