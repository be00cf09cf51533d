"""Duplicates a user can act on: ``eventlens keep`` stores the decision in the record (it
outlives a re-analysis), ``eventlens trash-copies`` moves the other copies into the trash
folder inside the root and nothing else; the group page shows them side by side (real
processes, a real folder; the page in Chromium)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from playwright import sync_api

from eventlens.results.keep import is_kept
from eventlens.results.record import Record
from eventlens.results.sqlite import SQLiteResultStore
from eventlens.routing import DEFAULT_ROUTES
from eventlens.web import create_app
from eventlens.web.images import LocalImageSource
from tests.browser import artifact, chromium, low_contrast, needs_chromium, serving
from tests.images import encode, write
from tests.processes import BETA, EVENTLENS, db_of

ANALYZERS = ("--analyzers", "image_properties,duplicates")
SAMPLES = Path(__file__).resolve().parent.parent / "src" / "eventlens" / "samples"


def eventlens(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EVENTLENS, *args, "--root", str(root)], capture_output=True,
                          text=True, timeout=300, env={**os.environ, "COLUMNS": "250"})  # fmt: skip


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture
def bucket(tmp_path: Path) -> Path:
    """The same photo three times (once smaller), and another one."""
    root = tmp_path / "bucket"
    photo = Image.open(SAMPLES / "beta" / "tabby-cat.jpg").convert("RGB").resize((320, 240))
    files = {
        "beach.jpg": encode(photo, "JPEG", quality=90),
        "holiday/beach.jpg": encode(photo, "JPEG", quality=90),
        "small/beach.jpg": encode(photo.resize((160, 120)), "JPEG", quality=90),
        "other.jpg": (SAMPLES / "beta" / "coffee cup.jpg").read_bytes(),
    }
    for name, data in files.items():  # one by one: the first is the original
        write(root / BETA / name, data)
        ok(eventlens(root, "run", "--once", *ANALYZERS))
    return root


def records(root: Path) -> dict[str, Record]:
    store = SQLiteResultStore(db_of(root), {r.environment: r.table for r in DEFAULT_ROUTES})
    try:
        return {r.filename.removeprefix(BETA): r for r in store.iter_all("beta")}
    finally:
        store.close()


def test_keep_then_trash_copies_moves_only_the_copies_not_kept(bucket: Path) -> None:
    before = records(bucket)
    originals = {k: r.findings.get("duplicates", {}).get("DuplicateOf") for k, r in before.items()}
    assert originals == {"beach.jpg": None, "holiday/beach.jpg": BETA + "beach.jpg",
                         "small/beach.jpg": BETA + "beach.jpg", "other.jpg": None}  # fmt: skip

    # no decision: nothing moves
    assert "moved 0 copies" in ok(eventlens(bucket, "trash-copies", "--env", "beta"))
    out = ok(eventlens(bucket, "keep", BETA + "holiday/beach.jpg", "--env", "beta"))
    assert f"keeping {BETA}holiday/beach.jpg" in out
    assert is_kept(records(bucket)["holiday/beach.jpg"])

    # a dry run moves nothing
    out = ok(eventlens(bucket, "trash-copies", "--env", "beta", "--dry-run"))
    assert "would move" in out and (bucket / BETA / "beach.jpg").exists()

    out = ok(eventlens(bucket, "trash-copies", "--env", "beta"))
    trash = bucket / ".eventlens-trash" / BETA
    moved = sorted(p.relative_to(trash).as_posix() for p in trash.rglob("*.jpg"))
    assert moved == ["beach.jpg", "small/beach.jpg"]
    assert (bucket / BETA / "holiday" / "beach.jpg").exists()
    assert (bucket / BETA / "other.jpg").exists()
    assert f"moved {len(moved)} copies" in out

    # the runner marks the moved copies deleted; the kept decision outlives a re-analysis
    ok(eventlens(bucket, "run", "--once", *ANALYZERS))
    after = records(bucket)
    for key in moved:
        assert after[key].deleted_at is not None
    ok(eventlens(bucket, "reanalyse", "--all", *ANALYZERS))
    assert is_kept(records(bucket)["holiday/beach.jpg"])


def test_keep_refuses_a_record_without_duplicates(bucket: Path) -> None:
    done = eventlens(bucket, "keep", BETA + "other.jpg", "--env", "beta")
    assert done.returncode == 2 and "has no duplicates" in done.stderr


@pytest.fixture
def site(bucket: Path) -> Iterator[str]:
    store = SQLiteResultStore(db_of(bucket), {r.environment: r.table for r in DEFAULT_ROUTES})
    from eventlens.intake import IntakeQueue

    queue = IntakeQueue(db_of(bucket))
    try:
        with serving(create_app(store, queue, LocalImageSource(bucket))) as url:
            yield url
    finally:
        queue.close()
        store.close()


@needs_chromium
@pytest.mark.timeout(120)
def test_the_group_page_compares_and_stores_the_keep_decision(site: str, bucket: Path) -> None:
    with chromium(site, width=1400) as page:
        page.goto(f"/records/beta/{BETA}beach.jpg")
        page.click("#compare-duplicates")
        cards = page.locator("#duplicate-group article.card")
        sync_api.expect(cards).to_have_count(3)
        first = cards.first
        sync_api.expect(first).to_contain_text("bytes")
        sync_api.expect(first).to_contain_text("320\u00d7240")
        sync_api.expect(page.locator("#keep-summary")).to_contain_text("Nothing decided yet")
        assert low_contrast(page) == []
        page.screenshot(path=str(artifact("duplicates-compare.png")), full_page=True)
        small = page.locator(f'#duplicate-group article.card[data-key="{BETA}small/beach.jpg"]')
        sync_api.expect(small).to_contain_text("160\u00d7120")
        holiday = page.locator(f'#duplicate-group article.card[data-key="{BETA}holiday/beach.jpg"]')
        holiday.locator(".keep-button").click()
        sync_api.expect(page.locator("#keep-summary")).to_contain_text("Keeping holiday/beach.jpg")
        sync_api.expect(holiday.locator(".keep-badge")).to_have_text("keep")
    assert is_kept(records(bucket)["holiday/beach.jpg"])
    assert all((bucket / BETA / k).exists() for k in ("beach.jpg", "holiday/beach.jpg"))
