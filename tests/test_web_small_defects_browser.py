"""The dashboard's small defects, fixed and checked in Chromium: a broken file's placeholder,
charts of all environments, "4 boxes", captions of boxes on one rectangle, OCR noise not
counting as text, select-all at the top, and the filters folded away on a phone."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

pytest.importorskip("playwright.sync_api", reason="pip install playwright (the dev extra has it)")

from playwright import sync_api

from eventlens.results.finding_terms import finding_terms
from eventlens.results.record import Record, Status
from eventlens.web import create_app
from eventlens.web.images import LocalImageSource
from tests.browser import chromium, low_contrast, needs_chromium, scrolls_sideways, serving
from tests.images import jpeg, write
from tests.seed import BETA, Seeded, box

pytestmark = needs_chromium

BROKEN = BETA + "broken-upload.jpg"
BOXES = BETA + "crowd.jpg"
NOISE = BETA + "noise.jpg"
RECT = box(0.2, 0.2, 0.5, 0.6)


@pytest.fixture
def base_url(seeded: Seeded) -> Iterator[str]:
    write(seeded.root / BROKEN, b"\xff\xd8\xff not a whole jpeg")
    seeded.store.put(Record(filename=BROKEN, environment="beta", status=Status.ERROR,
                            error="corrupt or truncated JPEG image"))  # fmt: skip
    write(seeded.root / BOXES, jpeg((90, 90, 90), (320, 240)))
    person = {"Name": "Person", "Confidence": 95.0, "Parents": [],
              "Instances": [{"BoundingBox": RECT, "Confidence": 95.0}]
              + [{"BoundingBox": box(0.05 * i, 0.0, 0.04, 0.1), "Confidence": 80.0}
                 for i in range(3)]}  # fmt: skip
    face = {"BoundingBox": RECT, "Confidence": 87.0}
    seeded.store.put(Record(filename=BOXES, environment="beta", labels=[person],
                            findings={"faces": {"FaceDetails": [face]}}))  # fmt: skip
    write(seeded.root / NOISE, jpeg((10, 90, 10), (320, 240)))
    noise = [{"DetectedText": "|", "Type": "LINE", "Confidence": 40.0},
             {"DetectedText": "e", "Type": "WORD", "Confidence": 35.0}]  # fmt: skip
    seeded.store.put(Record(filename=NOISE, environment="beta", findings={"text": noise}))
    with serving(create_app(seeded.store, seeded.queue, LocalImageSource(seeded.root))) as url:
        yield url


def card(page: sync_api.Page, key: str) -> sync_api.Locator:
    return page.locator(f'article.card[data-key="{key}"]')


@pytest.mark.timeout(120)
def test_small_defects_are_gone(base_url: str, seeded: Seeded) -> None:
    with chromium(base_url, width=1400) as page:
        page.goto("/?env=beta")
        broken = card(page, BROKEN)
        sync_api.expect(broken.locator(".placeholder.error")).to_have_text("⚠ could not be read")
        assert broken.locator("img").count() == 0
        page.goto(f"/records/beta/{BROKEN}")
        sync_api.expect(page.locator(".stage .placeholder.error")).to_contain_text(
            "cannot be shown"
        )

        # charts of every environment together
        page.goto("/charts?env=all")
        total = len(seeded.records) + 4  # the seeded beta records, prod's one and these three
        sync_api.expect(page.locator(".kpi").first).to_have_text(f"{total}records")
        assert low_contrast(page) == []

        # "4 boxes"; a person and a face on one rectangle: captions that do not overlap
        page.goto(f"/records/beta/{BOXES}")
        sync_api.expect(page.locator("#record-labels")).to_contain_text("4 boxes")
        captions = [page.locator(f".box.{kind} span").first.bounding_box()
                    for kind in ("label", "face")]  # fmt: skip
        label_box, face_box = captions
        assert label_box and face_box
        assert (label_box["y"] + label_box["height"] <= face_box["y"]
                or face_box["y"] + face_box["height"] <= label_box["y"])  # fmt: skip

        # OCR noise of one character is not "text"
        page.goto("/?env=beta&has=text")
        keys = page.locator("article.card").evaluate_all("cs => cs.map(c => c.dataset.key)")
        assert keys == [BETA + "stop-sign.jpg"]

        # select all, at the top of the page
        page.goto("/?env=beta")
        first_card = page.locator("article.card").first.bounding_box()
        button = page.locator("#reanalyse-selected").bounding_box()
        assert first_card and button and button["y"] < first_card["y"]
        page.check("#select-all")
        boxes = page.locator("article.card input.select")
        assert boxes.count() == 9
        assert all(boxes.nth(i).is_checked() for i in range(boxes.count()))
        sync_api.expect(page.locator("#selected-count")).to_have_text("9 selected")
        boxes.first.uncheck()
        sync_api.expect(page.locator("#selected-count")).to_have_text("8 selected")
        assert page.evaluate("document.getElementById('select-all').indeterminate")

    with chromium(base_url, width=400, height=800) as phone:
        phone.goto("/?env=beta")
        sync_api.expect(phone.locator("#filters")).to_be_hidden()
        first = phone.locator("article.card").first.bounding_box()
        assert first and first["y"] < 800  # the pictures start on the first screen
        phone.click("#filter-box > summary")
        sync_api.expect(phone.locator("#filter-label")).to_be_visible()
        assert not scrolls_sideways(phone)


def test_ocr_noise_is_not_searchable_text() -> None:
    record = Record(filename="k", environment="beta", findings={"text": [
        {"DetectedText": "|"}, {"DetectedText": "e."}, {"DetectedText": "OK"}]})  # fmt: skip
    assert [value for kind, value, _ in finding_terms(record) if kind == "text"] == ["ok"]
    assert finding_terms(replace(record, findings={"text": [{"DetectedText": "-"}]})) == []
