"""Browsing photos in a real headless Chromium (Debian's, through Playwright): the gallery, the
labels page, a record with boxes drawn over the picture, paging, the lightbox and keyboard, and
re-analysing a failed record through the real intake queue and pipeline. Screenshots at 1400 and
400 px go to ``test-artifacts/``; every page is checked for WCAG AA text contrast and, at
400 px, for sideways scrolling."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

import pytest

pytest.importorskip("fastapi", reason="the web extra is not installed")
pytest.importorskip("uvicorn", reason="the web extra is not installed")
pytest.importorskip("playwright.sync_api", reason="pip install playwright (the dev extra has it)")

from playwright import sync_api

from eventlens.events.local import event_for_key
from eventlens.pipeline import Pipeline
from eventlens.results.base import Query
from eventlens.results.record import Record
from eventlens.routing import Router
from eventlens.runner import LocalRunner
from eventlens.storage.local import LocalFolderStore
from eventlens.web import create_app
from eventlens.web.images import LocalImageSource
from tests.browser import (
    artifact,
    chromium,
    docs_screenshot,
    low_contrast,
    needs_chromium,
    scrolls_sideways,
    serving,
)
from tests.conftest import DominantColourAnalyzer
from tests.images import jpeg
from tests.seed import BETA, PEOPLE, Seeded, add_photos

pytestmark = needs_chromium

UPLOAD = BETA + "upload.jpg"


@dataclass
class Site:
    url: str
    seeded: Seeded
    runner: LocalRunner
    bucket: LocalFolderStore


@pytest.fixture
def site(seeded: Seeded) -> Iterator[Site]:
    """The seeded photos plus one upload that failed in the real pipeline (a truncated JPEG)."""
    add_photos(seeded)
    bucket = LocalFolderStore(seeded.root)
    pipeline = Pipeline(bucket, seeded.store, {"*": [DominantColourAnalyzer()]}, router=Router())
    runner = LocalRunner(pipeline, seeded.queue, bucket, Router())
    bucket.write(UPLOAD, jpeg((200, 30, 30), (320, 240))[:400])
    event = event_for_key(bucket, UPLOAD, source="test")
    assert event is not None
    seeded.queue.enqueue([event])
    runner.drain()
    failed = seeded.store.get("beta", UPLOAD)
    assert failed is not None and not failed.ok and "Truncated" in (failed.error or "")
    long_name = BETA + "a holiday photo with a very long name from a phone 2024-07-14 15.02.11.jpg"
    seeded.store.put(Record(long_name, "beta", timestamp="2026-11-01T00:00:00.000000Z"))
    app = create_app(seeded.store, seeded.queue, LocalImageSource(seeded.root))
    with serving(app) as url:
        yield Site(url, seeded, runner, bucket)


def keys(page: sync_api.Page) -> list[str]:
    return [k or "" for k in page.locator("article.card").evaluate_all(
        "cards => cards.map(c => c.dataset.key)")]  # fmt: skip


def follow(page: sync_api.Page, selector: str) -> None:
    with page.expect_navigation():
        page.click(selector)


def check_page(page: sync_api.Page, name: str, width: int) -> None:
    """No text under WCAG AA contrast, no sideways scrolling on a phone; a screenshot."""
    page.evaluate("document.querySelectorAll('img').forEach(i => { i.loading = 'eager'; })")
    page.wait_for_function("() => [...document.images].every(i => i.complete)")
    assert low_contrast(page) == [], name
    if width <= 500:
        assert not scrolls_sideways(page), name
    page.screenshot(path=str(artifact(f"{name}-{width}.png")), full_page=True)


@pytest.mark.timeout(180)
def test_browsing_photos_in_chromium(site: Site) -> None:
    store = site.seeded.store
    with chromium(site.url, width=1400) as page:
        # the gallery: every beta record, newest first
        page.goto("/?env=beta")
        newest_first = [r.filename for r in store.query(Query("beta"))]
        assert keys(page) == newest_first and len(newest_first) == 10
        long_card = page.locator("article.card", has_text="a holiday photo")
        card_box, badge = long_card.bounding_box(), long_card.locator(".badge").bounding_box()
        assert card_box and badge  # the name is cut with an ellipsis, never the badge
        assert badge["x"] + badge["width"] <= card_box["x"] + card_box["width"]
        after_people = newest_first[newest_first.index(PEOPLE) + 1]
        sync_api.expect(page.locator("#match-count")).to_have_text("10")
        check_page(page, "gallery", 1400)

        # the labels page: specific labels first; following one filters the gallery
        page.click("header nav >> text=Labels")
        sync_api.expect(page.locator("#labels .label-card")).not_to_have_count(0)
        assert "Person" not in page.locator("#labels").inner_text()  # Astronaut's parent
        check_page(page, "labels", 1400)
        docs_screenshot(page, "labels")
        page.locator("#labels .label-card", has_text="Astronaut").click()
        page.wait_for_url("**label=Astronaut**")
        assert keys(page) == [PEOPLE]
        summary = page.locator("#summary")
        sync_api.expect(summary).to_contain_text("1 record matches label “Astronaut”")

        # the lightbox: the record over the gallery, ← → through the list
        page.goto("/?env=beta")
        page.locator(f'article.card[data-key="{PEOPLE}"] a.thumb').click()
        lightbox = page.locator("#lightbox")
        sync_api.expect(lightbox.locator("#record")).to_have_attribute("data-key", PEOPLE)
        sync_api.expect(lightbox.locator(".box.label", has_text="Person")).to_be_visible()
        page.keyboard.press("ArrowRight")
        sync_api.expect(lightbox.locator("#record")).to_have_attribute("data-key", after_people)
        page.keyboard.press("Escape")
        sync_api.expect(lightbox).not_to_be_visible()

        # the record page: a box drawn on the person, where the detector put it
        page.locator(f'article.card[data-key="{PEOPLE}"] a.name').click()
        page.wait_for_url("**/records/beta/**")
        person = page.locator(".viewer .box.label", has_text="Person")
        sync_api.expect(person).to_be_visible()
        page.wait_for_function("() => document.getElementById('picture').naturalWidth > 0")
        picture = page.locator("#picture").bounding_box()
        drawn = person.bounding_box()
        assert picture and drawn
        assert drawn["x"] - picture["x"] == pytest.approx(0.03 * picture["width"], abs=2)
        assert drawn["width"] == pytest.approx(0.70 * picture["width"], abs=2)
        assert drawn["height"] == pytest.approx(0.97 * picture["height"], abs=2)
        sync_api.expect(page.locator(".viewer .box.face")).to_have_count(1)
        sync_api.expect(page.locator(".viewer .box.text")).to_have_text("EILEEN M. COLLINS 91%")
        sync_api.expect(page.locator("#dominant-colours .swatch")).to_have_count(3)
        sync_api.expect(page.locator("#exif")).to_contain_text("Hasselblad 500 EL/M")
        sync_api.expect(page.locator("#exif")).to_contain_text("28.57290° N, 80.64900° W")
        sync_api.expect(page.locator("#record-labels li")).to_have_count(5)
        check_page(page, "record", 1400)
        docs_screenshot(page, "record")
        page.locator("input.toggle-label").uncheck()
        sync_api.expect(person).to_be_hidden()
        sync_api.expect(page.locator(".viewer .box.face")).to_be_visible()
        # ← → on the record page walk the list it was opened from
        page.keyboard.press("ArrowRight")
        sync_api.expect(page.locator("#record")).to_have_attribute("data-key", after_people)
        page.wait_for_load_state()  # the key handler is attached by a deferred script
        page.keyboard.press("ArrowLeft")
        sync_api.expect(page.locator("#record")).to_have_attribute("data-key", PEOPLE)
        # the duplicate links to its original
        page.goto(f"/records/beta/{quote(BETA + 'tabby-copy.jpg')}")
        page.locator("#duplicates a", has_text="tabby-cat.jpg").click()
        sync_api.expect(page.locator("#record")).to_have_attribute(
            "data-key", BETA + "tabby-cat.jpg"
        )

        # paging: 4 a page, forwards to the end and one back
        page.goto("/?env=beta&limit=4")
        seen = keys(page)
        follow(page, "#page-older")
        second = keys(page)
        follow(page, "#page-older")
        seen += second + keys(page)
        assert seen == newest_first
        sync_api.expect(page.locator("#page-older")).to_have_count(0)
        follow(page, "#page-newer")
        assert keys(page) == second

        # charts: the top labels link to the gallery
        page.goto("/charts?env=beta")
        check_page(page, "charts", 1400)
        docs_screenshot(page, "charts")
        page.locator("#chart-labels a", has_text="Astronaut").click()
        page.wait_for_url("**label=Astronaut**")
        assert keys(page) == [PEOPLE]

        # a bad value in a page's address: an HTML page, not JSON
        response = page.goto("/?env=nope")
        assert response is not None and response.status == 404
        sync_api.expect(page.locator("#error-title")).to_have_text("404 · Not Found")

        # re-analyse a failed upload after fixing the file
        page.goto("/?env=beta&status=error")
        page.locator(f'article.card[data-key="{UPLOAD}"] a.name').click()
        sync_api.expect(page.locator("#record-error")).to_contain_text("Truncated File Read")
        site.bucket.write(UPLOAD, jpeg((200, 30, 30), (320, 240)))
        page.click("#reanalyse-button")
        sync_api.expect(page.locator("#reanalyse-queued")).to_be_visible()
        assert site.seeded.queue.pending() == 1
        assert site.runner.drain().counts["stored"] == 1
        sync_api.expect(page.locator(".details .badge.ok")).to_be_visible(timeout=10_000)
        sync_api.expect(page.locator("#record-labels li").first).to_contain_text("Red")
        assert page.locator("#record-error").count() == 0
        # re-analysis asked, then the file deleted before the runner gets to it: the record is
        # marked deleted and the waiting page shows it
        page.click("#reanalyse-button")
        sync_api.expect(page.locator("#reanalyse-queued")).to_be_visible()
        (site.seeded.root / UPLOAD).unlink()
        assert site.runner.drain().counts["deleted"] == 1
        sync_api.expect(page.locator(".badge.deleted")).to_be_visible(timeout=10_000)
        sync_api.expect(page.locator("#reanalyse-queued")).to_have_count(0)

    with chromium(site.url, width=400, height=800) as phone:
        for name, path in (
            ("gallery", "/?env=beta"), ("labels", "/labels?env=all"),
            ("record", f"/records/beta/{quote(PEOPLE)}"), ("charts", "/charts?env=beta"),
            ("timeline", "/?env=all&order=captured&group=month"), ("dlq", "/dlq"),
            ("docs", "/docs"),
        ):  # fmt: skip
            phone.goto(path)
            check_page(phone, name, 400)
            if name == "charts":  # one column: the panels are stacked
                panels = [phone.locator(".panel").nth(i).bounding_box() for i in range(2)]
                assert panels[0] and panels[1] and panels[0]["x"] == panels[1]["x"]
