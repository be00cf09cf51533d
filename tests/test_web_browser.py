"""The dashboard in a real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright).

Needs: ``apt-get install -y chromium`` and the ``playwright`` Python package (dev extra); no
``playwright install`` (no browser download) is needed because the system Chromium is used.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.importorskip("fastapi", reason="the web extra is not installed")
pytest.importorskip("uvicorn", reason="the web extra is not installed")
pytest.importorskip("playwright.sync_api", reason="pip install playwright (the dev extra has it)")

from playwright import sync_api

from eventlens.web import create_app
from eventlens.web.images import LocalImageSource
from tests.browser import artifact, chromium, docs_screenshot, needs_chromium, serving
from tests.seed import BETA, Seeded

pytestmark = needs_chromium


@pytest.fixture
def base_url(seeded: Seeded) -> Iterator[str]:
    with serving(create_app(seeded.store, seeded.queue, LocalImageSource(seeded.root))) as url:
        yield url


@pytest.fixture
def page(base_url: str) -> Iterator[sync_api.Page]:
    with chromium(base_url) as page:
        yield page


@pytest.mark.timeout(120)
def test_dashboard_in_chromium(page: sync_api.Page, seeded: Seeded) -> None:
    # gallery: every seeded beta image is there, with its labels and a loaded thumbnail
    page.goto("/?env=beta")
    cards = page.locator("article.card")
    sync_api.expect(cards).to_have_count(6)
    keys = [cards.nth(i).get_attribute("data-key") for i in range(6)]
    assert keys == [r.filename for r in seeded.records]
    cat = page.locator(f'article.card[data-key="{BETA}tabby-cat.jpg"]')
    assert cat.locator("a.chip.label").all_inner_texts()[:3] == ["Cat 98%", "Pet 91%", "Animal 90%"]
    sync_api.expect(cat.locator(".finding")).to_have_text("1 face")
    page.wait_for_function(
        "() => [...document.images].length === 6 && "
        "[...document.images].every(i => i.complete && i.naturalWidth > 100)"
    )
    error_card = page.locator(f'article.card[data-key="{BETA}night.jpg"]')
    sync_api.expect(error_card.locator(".badge.error")).to_be_visible()
    page.screenshot(path=str(artifact("gallery.png")), full_page=True)

    # filtering by label through the form
    page.fill("#filter-label", "Pet")
    page.click("#apply-filters")
    page.wait_for_url("**label=Pet**")
    sync_api.expect(cards).to_have_count(2)
    assert sorted(cards.nth(i).get_attribute("data-key") or "" for i in range(2)) == [
        BETA + "golden-dog.jpg",
        BETA + "tabby-cat.jpg",
    ]
    # ... and by clicking a label chip
    page.locator("a.chip.label", has_text="Dog").first.click()
    sync_api.expect(cards).to_have_count(1)
    sync_api.expect(cards.first).to_have_attribute("data-key", BETA + "golden-dog.jpg")
    page.select_option("#filter-status", "error")
    page.fill("#filter-label", "")
    page.click("#apply-filters")
    sync_api.expect(cards).to_have_count(1)
    sync_api.expect(cards.first).to_have_attribute("data-key", BETA + "night.jpg")

    # charts: inline SVG with bars of non-zero height
    page.click("text=Charts")
    page.wait_for_url("**/charts**")
    for chart in ("#chart-throughput", "#chart-latency", "#chart-labels", "#chart-errors"):
        sync_api.expect(page.locator(chart)).to_be_visible()
    bars = page.locator("#chart-throughput rect.bar-ok")
    assert bars.count() >= 3
    heights = [float(bars.nth(i).get_attribute("height") or 0) for i in range(bars.count())]
    assert max(heights) > 10
    box = page.locator("#chart-latency").bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 100
    assert page.locator("#chart-labels g.bar").count() >= 5
    page.screenshot(path=str(artifact("charts.png")), full_page=True)

    # dead letters: the retry button moves the event back into the intake queue
    page.click("text=Dead letters")
    rows = page.locator("#dlq tbody tr")
    sync_api.expect(rows).to_have_count(1)
    sync_api.expect(rows.first).to_contain_text(seeded.dead_key)
    assert seeded.queue.pending() == 0
    page.screenshot(path=str(artifact("dlq.png")), full_page=True)
    rows.first.locator("button.retry").click()
    sync_api.expect(page.locator("#retry-notice")).to_contain_text("Re-queued 1 event(s)")
    sync_api.expect(page.locator("#dlq-empty")).to_be_visible()
    sync_api.expect(page.locator("#pending-count")).to_have_text("1")
    assert seeded.queue.dead_letters() == [] and seeded.queue.pending() == 1
    (job,) = seeded.queue.claim(1)
    assert job.event.key == seeded.dead_key

    # the offline API page lists the endpoints
    page.click("text=API")
    sync_api.expect(page.locator("#operations")).to_contain_text("/api/stats")

    # the screenshot for people: the gallery the README and the docs site show
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto("/?env=beta")
    page.wait_for_function("() => [...document.images].every(i => i.complete)")
    page.screenshot(path=str(artifact("dashboard.png")), full_page=True)
    assert artifact("dashboard.png").stat().st_size > 10_000
    docs_screenshot(page, "dashboard")
