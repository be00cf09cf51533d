"""The gallery offers the faces / text / duplicates filters only where their analyzer is on,
and says why a filter for an analyzer that is off matches nothing (Chromium)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.importorskip("playwright.sync_api", reason="pip install playwright (the dev extra has it)")

from playwright import sync_api

from eventlens.web import create_app
from eventlens.web.images import LocalImageSource
from tests.browser import chromium, needs_chromium, serving
from tests.processes import Server
from tests.seed import Seeded

ANALYZERS = {"beta": ["labels", "faces"], "prod": ["labels", "image_properties"]}


@pytest.fixture
def base_url(seeded: Seeded) -> Iterator[str]:
    app = create_app(seeded.store, seeded.queue, LocalImageSource(seeded.root), analyzers=ANALYZERS)
    with serving(app) as url:
        yield url


def offered(page: sync_api.Page) -> list[str]:
    boxes = page.locator('input[name="has"]')
    return [boxes.nth(i).get_attribute("value") or "" for i in range(boxes.count())]


@needs_chromium
@pytest.mark.timeout(120)
def test_only_filters_that_can_match_are_offered(base_url: str) -> None:
    with chromium(base_url) as page:
        page.goto("/?env=beta")
        assert offered(page) == ["faces"]
        page.check("#has-faces")
        page.click("#apply-filters")
        sync_api.expect(page.locator("article.card")).to_have_count(1)  # the cat has a face
        page.goto("/?env=prod")
        assert offered(page) == []
        page.goto("/?env=all")
        assert offered(page) == ["faces"]

        # a link that asks for an analyzer that is off: nothing, and why
        page.goto("/?env=prod&has=faces")
        sync_api.expect(page.locator("#cannot-match")).to_have_text(
            "None can match: the faces analyzer is off: "
            "EVENTLENS_ANALYZERS=labels,image_properties."
        )
        assert offered(page) == ["faces"]  # shown while asked for, so it can be unticked
        page.goto("/?env=all&has=duplicates")
        sync_api.expect(page.locator("#cannot-match")).to_contain_text(
            "the duplicates analyzer is off: EVENTLENS_ANALYZERS="
            "beta=labels,faces;prod=labels,image_properties"
        )


@needs_chromium
def test_without_analyzers_every_filter_is_offered(seeded: Seeded) -> None:
    with (
        serving(create_app(seeded.store, seeded.queue, LocalImageSource(seeded.root))) as url,
        chromium(url) as page,
    ):
        page.goto("/?env=beta")
        assert offered(page) == ["faces", "text", "duplicates"]
        page.goto("/?env=beta&has=duplicates")
        sync_api.expect(page.locator("#gallery-empty")).to_be_visible()
        sync_api.expect(page.locator("#cannot-match")).to_have_count(0)


def test_serve_tells_the_gallery_which_analyzers_are_on(
    seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVENTLENS_ANALYZERS", "labels,text")
    with Server(seeded.root) as server:
        status, body = server.get("/?env=beta")
    assert status == 200
    html = body.decode()
    assert 'id="has-text"' in html
    assert 'id="has-faces"' not in html and 'id="has-duplicates"' not in html
