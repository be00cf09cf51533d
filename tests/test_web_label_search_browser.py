"""The gallery's label box finds what people type (Chromium): any case, plurals, synonyms,
and suggestions of labels that exist when nothing matches; the API answers the same."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("playwright.sync_api", reason="pip install playwright (the dev extra has it)")

from playwright import sync_api

from eventlens.results.label_match import closest_labels, matching_labels
from eventlens.web import create_app
from eventlens.web.images import LocalImageSource
from tests.browser import artifact, chromium, low_contrast, needs_chromium, serving
from tests.seed import BETA, Seeded

PROD = "rekognition-input/prod/"


@pytest.fixture
def base_url(seeded: Seeded) -> Iterator[str]:
    with serving(create_app(seeded.store, seeded.queue, LocalImageSource(seeded.root))) as url:
        yield url


def search(page: sync_api.Page, env: str, typed: str) -> list[str]:
    page.goto(f"/?env={env}")
    page.fill("#filter-label", typed)
    page.click("#apply-filters")
    page.wait_for_load_state()
    cards = page.locator("article.card")
    return sorted(cards.nth(i).get_attribute("data-key") or "" for i in range(cards.count()))


@needs_chromium
@pytest.mark.timeout(120)
def test_label_box_matches_case_plurals_and_synonyms(base_url: str) -> None:
    with chromium(base_url) as page:
        assert search(page, "beta", "Cats") == [BETA + "tabby-cat.jpg"]
        sync_api.expect(page.locator("#label-note")).to_have_text("Showing “Cat” for “Cats”.")
        assert search(page, "beta", "pets") == [BETA + "golden-dog.jpg", BETA + "tabby-cat.jpg"]
        assert search(page, "beta", "CUP") == [BETA + "coffee cup.jpg"]
        assert search(page, "prod", "people") == [PROD + "astronaut.jpg"]
        sync_api.expect(page.locator("#label-note")).to_contain_text("Showing “Person”")
        assert search(page, "all", "humans") == [PROD + "astronaut.jpg"]

        # nothing matches: say so, and offer labels that exist
        assert search(page, "beta", "dgo") == []
        note = page.locator("#label-note")
        sync_api.expect(note).to_contain_text("No label “dgo” in beta. Labels that exist: Dog")
        assert low_contrast(page) == []
        page.screenshot(path=str(artifact("label-suggestions.png")), full_page=True)
        note.locator("a.suggestion", has_text="Dog").click()
        sync_api.expect(page.locator("article.card")).to_have_count(1)
        sync_api.expect(page.locator("#filter-label")).to_have_value("Dog")


def api_records(base_url: str, **params: str) -> dict[str, Any]:
    url = f"{base_url}/api/records?{urllib.parse.urlencode(params)}"
    with urllib.request.urlopen(url, timeout=30) as response:
        found: dict[str, Any] = json.load(response)
    return found


def test_api_resolves_labels_and_suggests(base_url: str) -> None:
    found = api_records(base_url, env="beta", label="cats")
    assert found["label"] == "Cat"
    assert [r["filename"] for r in found["records"]] == [BETA + "tabby-cat.jpg"]
    none = api_records(base_url, env="beta", label="horse")
    assert none["records"] == [] and none["label"] == "horse"
    assert len(none["label_suggestions"]) > 0  # the labels with most records, horse being none


def test_label_matching_rules() -> None:
    labels = ["Person", "Cat", "Motorcycle", "Glass", "Bus", "Horse Cart", "Pony"]
    assert matching_labels("people", labels) == ["Person"]
    assert matching_labels("Human", labels) == ["Person"]
    assert matching_labels("motorbike", labels) == ["Motorcycle"]
    assert matching_labels("glasses", labels) == ["Glass"]
    assert matching_labels("buses", labels) == ["Bus"]
    assert matching_labels("ponies", labels) == ["Pony"]
    assert matching_labels("horse", labels) == []
    assert closest_labels("horse", labels) == ["Horse Cart"]
    assert matching_labels("cat", ["cat", "Cat"]) == ["cat", "Cat"]
