"""Folders in the dashboard (Chromium): cards and record pages show the path below the
environment's prefix, duplicate notes name the copy's folder, and folders can be browsed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("playwright.sync_api", reason="pip install playwright (the dev extra has it)")

from playwright import sync_api

from eventlens.web import create_app
from eventlens.web.images import LocalImageSource
from tests.browser import (
    artifact,
    chromium,
    low_contrast,
    needs_chromium,
    scrolls_sideways,
    serving,
)
from tests.folder_seed import FolderBucket, seed_folders
from tests.seed import BETA

pytestmark = needs_chromium


@pytest.fixture
def bucket(tmp_path: Path) -> Iterator[FolderBucket]:
    seeded = seed_folders(tmp_path)
    yield seeded
    seeded.store.close()


@pytest.fixture
def base_url(bucket: FolderBucket) -> Iterator[str]:
    with serving(create_app(bucket.store, None, LocalImageSource(bucket.root))) as url:
        yield url


def card(page: sync_api.Page, path: str) -> sync_api.Locator:
    return page.locator(f'article.card[data-key="{BETA}{path}"]')


@pytest.mark.timeout(120)
def test_cards_show_folders_and_folders_can_be_browsed(base_url: str) -> None:
    with chromium(base_url) as page:
        page.goto("/?env=beta")
        sync_api.expect(page.locator("article.card")).to_have_count(4)
        sync_api.expect(card(page, "coffee.jpg").locator("a.name")).to_have_text("coffee.jpg")
        sync_api.expect(card(page, "holiday/coffee.jpg").locator("a.name")).to_have_text(
            "holiday/coffee.jpg"
        )
        # a long path keeps the file name and the folders that fit; the whole path on hover
        long_name = card(page, "work/2024/a-very-long-folder-name-for-reports/chart.jpg")
        sync_api.expect(long_name.locator("a.name")).to_have_text("…/chart.jpg")
        sync_api.expect(long_name.locator("a.name")).to_have_attribute(
            "title", "work/2024/a-very-long-folder-name-for-reports/chart.jpg"
        )
        # the copy's note names the original's folder, not only its file name
        note = card(page, "coffee.jpg").locator("a.chip.finding")
        sync_api.expect(note).to_have_text("copy of holiday/coffee.jpg")
        # the folders of the top level, with their record counts
        folders = page.locator("#folders a.chip.folder")
        assert folders.all_inner_texts() == ["holiday/ 2", "work/ 1"]
        folders.filter(has_text="holiday").click()
        page.wait_for_url("**prefix=rekognition-input%2Fbeta%2Fholiday%2F**")
        sync_api.expect(page.locator("article.card")).to_have_count(2)
        sync_api.expect(page.locator("#folders .crumbs")).to_have_text("top / holiday")
        assert page.locator("#folders a.chip.folder").all_inner_texts() == ["beach/ 1"]
        page.locator("#folders a.chip.folder").click()
        sync_api.expect(page.locator("article.card")).to_have_count(1)
        sync_api.expect(page.locator("#folders .crumbs")).to_have_text("top / holiday / beach")
        page.screenshot(path=str(artifact("folders.png")), full_page=True)
        assert low_contrast(page) == []
        page.locator("#folders .crumbs a", has_text="top").click()
        sync_api.expect(page.locator("article.card")).to_have_count(4)

        # the record page says where the file is, each folder a link to browse it
        page.goto(f"/records/beta/{BETA}holiday/beach/sea.jpg")
        sync_api.expect(page.locator("#record-path")).to_have_text(
            "beta · top / holiday / beach / sea.jpg"
        )
        page.locator("#record-path a", has_text="holiday").click()
        sync_api.expect(page.locator("article.card")).to_have_count(2)
        page.goto(f"/records/beta/{BETA}coffee.jpg")
        group = page.locator("#duplicates")
        sync_api.expect(group).to_contain_text("holiday/coffee.jpg (original)")
        sync_api.expect(page.locator("#record-details, .details")).to_contain_text(
            "A copy of holiday/coffee.jpg"
        )
    with chromium(base_url, width=400, height=800) as narrow:
        narrow.goto("/?env=beta")
        sync_api.expect(narrow.locator("#folders")).to_be_visible()
        assert not scrolls_sideways(narrow)
