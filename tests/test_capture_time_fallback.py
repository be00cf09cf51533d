"""Capture time falls back DateTimeOriginal → DateTimeDigitized → DateTime, and the timeline
says which photos have none and why (the pipeline on real JPEGs, the pages in Chromium)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PIL import ExifTags, Image
from playwright import sync_api

from eventlens.pipeline import Pipeline
from eventlens.results.sqlite import SQLiteResultStore
from eventlens.storage.local import LocalFolderStore
from tests.browser import artifact, chromium, low_contrast, needs_chromium, serving
from tests.test_capture_time import BETA, photo, process


def exif_with(
    *, original: str | None = None, digitized: str | None = None, changed: str | None = None
) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Canon"
    exif[ExifTags.Base.Model] = "Canon EOS 80D"
    if changed is not None:
        exif[ExifTags.Base.DateTime] = changed
    ifd = exif.get_ifd(ExifTags.IFD.Exif)
    if original is not None:
        ifd[ExifTags.Base.DateTimeOriginal] = original
    if digitized is not None:
        ifd[ExifTags.Base.DateTimeDigitized] = digitized
    return exif


def test_capture_time_falls_back_in_the_documented_order(
    pipeline: Pipeline, bucket: LocalFolderStore
) -> None:
    hubble = process(
        pipeline, bucket, "hubble.jpg", photo(exif_with(changed="2004:03:09 12:00:00"))
    )
    assert hubble.captured_at == "2004-03-09T12:00:00"
    assert hubble.findings["exif"]["DateTime"] == "2004-03-09T12:00:00"
    scan = process(pipeline, bucket, "scan.jpg", photo(exif_with(
        digitized="1999:12:31 23:59:00", changed="2020:01:01 00:00:00")))  # fmt: skip
    assert scan.captured_at == "1999-12-31T23:59:00"
    assert "DateTimeDigitized" in scan.findings["exif"]
    both = process(pipeline, bucket, "camera.jpg", photo(exif_with(
        original="2024:07:14 15:02:11", digitized="2024:07:15 00:00:00")))  # fmt: skip
    assert both.captured_at == "2024-07-14T15:02:11"
    blank = process(pipeline, bucket, "unset.jpg", photo(exif_with(
        original="0000:00:00 00:00:00", changed="2021:05:01 08:00:00")))  # fmt: skip
    assert blank.captured_at == "2021-05-01T08:00:00"  # a blank original does not stop the search
    undated = process(pipeline, bucket, "undated.jpg", photo(exif_with()))
    assert undated.captured_at is None
    assert undated.findings["exif"]["NoCaptureTime"] == (
        "its EXIF has no date (DateTimeOriginal, DateTimeDigitized, DateTime)"
    )
    plain = process(pipeline, bucket, "plain.jpg", photo(None))
    assert plain.captured_at is None and "exif" not in plain.findings


@pytest.fixture
def timeline_url(
    pipeline: Pipeline, bucket: LocalFolderStore, results: SQLiteResultStore
) -> Iterator[str]:
    from eventlens.web import create_app
    from eventlens.web.images import LocalImageSource

    process(pipeline, bucket, "hubble.jpg", photo(exif_with(changed="2004:03:09 12:00:00")))
    process(pipeline, bucket, "undated.jpg", photo(exif_with()))
    process(pipeline, bucket, "blank.jpg", photo(exif_with(original="0000:00:00 00:00:00")))
    process(pipeline, bucket, "plain.jpg", photo(None))
    with serving(create_app(results, None, LocalImageSource(bucket.root))) as url:
        yield url


@needs_chromium
@pytest.mark.timeout(120)
def test_the_timeline_says_which_photos_have_no_capture_time_and_why(timeline_url: str) -> None:
    with chromium(timeline_url) as page:
        page.goto("/?env=beta&order=captured&group=month")
        titles = page.locator("h2.group-title").all_inner_texts()
        assert titles == ["March 2004", "No capture time"]
        summary = page.locator("#no-time-summary")
        sync_api.expect(summary).to_contain_text("3 pictures on this page have no capture time")
        sync_api.expect(summary).to_contain_text(
            "DateTimeOriginal, else DateTimeDigitized, else DateTime"
        )
        reasons = {
            key: page.locator(f'article.card[data-key="{BETA}{key}"] .no-time').inner_text()
            for key in ("undated.jpg", "blank.jpg", "plain.jpg")
        }
        assert reasons == {
            "undated.jpg": "no capture time: its EXIF has no date (DateTimeOriginal, "
            "DateTimeDigitized, DateTime)",
            "blank.jpg": "no capture time: its EXIF DateTimeOriginal is blank or not a real date",
            "plain.jpg": "no capture time: no EXIF data (screenshots, edited and downloaded "
            "images often have none)",
        }
        assert page.locator(f'article.card[data-key="{BETA}hubble.jpg"] .no-time').count() == 0
        assert low_contrast(page) == []
        page.screenshot(path=str(artifact("timeline-no-capture-time.png")), full_page=True)

        # the record page names the tag the time came from, and the camera once
        page.goto(f"/records/beta/{BETA}hubble.jpg")
        taken = "2004-03-09 12:00:00 (camera's local time, no offset recorded), from DateTime"
        sync_api.expect(page.locator("#exif")).to_contain_text(taken)
        sync_api.expect(page.locator("#exif")).to_contain_text("Canon EOS 80D")
        assert "Canon Canon" not in page.locator("#exif").inner_text()
        page.goto(f"/records/beta/{BETA}undated.jpg")
        sync_api.expect(page.locator("#exif")).to_contain_text("unknown: its EXIF has no date")
