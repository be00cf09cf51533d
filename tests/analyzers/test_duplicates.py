from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from eventlens.analyzers import registry
from eventlens.analyzers.duplicates import DuplicateAnalyzer, dhash, phash
from eventlens.cli.main import app
from eventlens.events.base import EventKind, ObjectEvent
from eventlens.events.local import event_for_key
from eventlens.image_hashes import hamming
from eventlens.imaging import ImageInput
from eventlens.outcome import Action
from eventlens.results.hash_index import SQLiteHashIndex, duplicate_groups
from eventlens.settings import Settings, parse_analyzers
from eventlens.wiring.local import build_local_app
from tests.conftest import DominantColourAnalyzer
from tests.images import encode

skimage_data = pytest.importorskip("skimage.data", reason="scikit-image is in the dev extra")

BETA = "rekognition-input/beta/"


def astronaut() -> Image.Image:
    return Image.fromarray(skimage_data.astronaut())


def coffee() -> Image.Image:
    return Image.fromarray(skimage_data.coffee())


def degraded(image: Image.Image) -> bytes:
    """Resized to 60 % and re-encoded as a low-quality JPEG."""
    small = image.resize(
        (int(image.width * 0.6), int(image.height * 0.6)), Image.Resampling.BILINEAR
    )
    return encode(small, "JPEG", quality=35)


@pytest.fixture
def index(tmp_path: Path) -> Iterator[SQLiteHashIndex]:
    idx = SQLiteHashIndex(tmp_path / "r.db")
    yield idx
    idx.close()


def analyse(
    analyzer: DuplicateAnalyzer, data: bytes, key: str, env: str = "beta"
) -> dict[str, object]:
    return analyzer.analyze(ImageInput(data, key, environment=env))


def test_hashes_survive_recompression_and_resizing_but_tell_photos_apart() -> None:
    original, copy, other = (
        astronaut(),
        Image.open(io.BytesIO(degraded(astronaut()))),
        coffee(),
    )
    assert hamming(phash(original), phash(copy)) <= 4
    assert hamming(dhash(original), dhash(copy)) <= 8
    assert hamming(phash(original), phash(other)) > 16
    assert hamming(dhash(original), dhash(other)) > 16
    assert phash(original) != 0 and dhash(original) != 0


def test_near_duplicate_names_the_earlier_image_and_a_different_photo_is_not_one(
    index: SQLiteHashIndex,
) -> None:
    analyzer = DuplicateAnalyzer(index, max_distance=6)
    first = analyse(analyzer, encode(astronaut(), "JPEG", quality=92), BETA + "a.jpg")
    assert first["DuplicateOf"] is None and first["Exact"] is False
    assert len(str(first["phash"])) == 16 and len(str(first["dhash"])) == 16
    near = analyse(analyzer, degraded(astronaut()), BETA + "a-small.jpg")
    assert near["DuplicateOf"] == BETA + "a.jpg" and near["Exact"] is False
    assert isinstance(near["Distance"], int) and near["Distance"] <= 6
    other = analyse(analyzer, encode(coffee(), "JPEG", quality=92), BETA + "coffee.jpg")
    assert other["DuplicateOf"] is None and other["Distance"] is None
    # another environment does not see beta's images
    prod = analyse(analyzer, degraded(astronaut()), "rekognition-input/prod/a.jpg", env="prod")
    assert prod["DuplicateOf"] is None


def test_exact_copy_under_another_key_is_exact_and_reanalysis_does_not_match_itself(
    index: SQLiteHashIndex,
) -> None:
    analyzer = DuplicateAnalyzer(index)
    data = encode(coffee(), "JPEG", quality=90)
    analyse(analyzer, data, BETA + "one.jpg")
    again = analyse(analyzer, data, BETA + "one.jpg")
    assert again["DuplicateOf"] is None
    copy = analyse(analyzer, data, BETA + "copy/two.jpg")
    assert copy == {**copy, "DuplicateOf": BETA + "one.jpg", "Exact": True, "Distance": 0}


def test_groups_are_single_linkage_and_oldest_first(index: SQLiteHashIndex) -> None:
    analyzer = DuplicateAnalyzer(index)
    analyse(analyzer, encode(astronaut(), "JPEG", quality=90), "a1.jpg")
    analyse(analyzer, encode(coffee(), "JPEG", quality=90), "c1.jpg")
    analyse(analyzer, degraded(astronaut()), "a2.jpg")
    analyse(analyzer, encode(coffee(), "JPEG", quality=90), "c2.jpg")
    rng = np.random.default_rng(1)
    noise = Image.fromarray(rng.integers(0, 256, (120, 160, 3), dtype=np.uint8))
    analyse(analyzer, encode(noise, "PNG"), "noise.png")
    groups = duplicate_groups(index.entries("beta"), 6)
    assert [[e.key for e in g] for g in groups] == [["a1.jpg", "a2.jpg"], ["c1.jpg", "c2.jpg"]]
    assert duplicate_groups(index.entries("beta"), 0)[0][0].key == "c1.jpg"  # exact only


def test_pipeline_stores_duplicate_findings_and_cli_lists_groups(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(root=tmp_path / "bucket")
    settings.analyzers = parse_analyzers("beta=labels,duplicates")
    monkeypatch.setitem(registry.FACTORIES, "labels", lambda s: DominantColourAnalyzer())
    app_ = build_local_app(settings)
    try:
        keys = [BETA + "orig.jpg", BETA + "resized.jpg"]
        app_.storage.write(keys[0], encode(astronaut(), "JPEG", quality=92))
        app_.storage.write(keys[1], degraded(astronaut()))
        for key in keys:
            event = event_for_key(app_.storage, key, source="test")
            assert event is not None
            assert app_.pipeline.process(event).action is Action.STORED
        record = app_.results.get("beta", keys[1])
        assert record is not None
        assert record.findings["duplicates"]["DuplicateOf"] == keys[0]
        assert record.labels  # the first analyzer still supplies the labels
    finally:
        app_.close()
    result = CliRunner().invoke(
        app, ["duplicates", "--env", "beta", "--json", "--root", str(settings.root)]
    )
    assert result.exit_code == 0, result.output
    groups = json.loads(result.output)
    assert [[m["Key"] for m in g] for g in groups] == [keys]


def test_copies_analysed_concurrently_still_find_each_other(index: SQLiteHashIndex) -> None:
    from concurrent.futures import ThreadPoolExecutor

    analyzer = DuplicateAnalyzer(index)
    data = encode(coffee(), "JPEG", quality=85)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda i: analyse(analyzer, data, f"c{i}.jpg"), range(8)))
    originals = [r for r in results if r["DuplicateOf"] is None]
    assert len(originals) == 1
    assert all(r["Exact"] for r in results if r["DuplicateOf"] is not None)


def test_reanalysing_the_original_does_not_name_its_later_copy(index: SQLiteHashIndex) -> None:
    analyzer = DuplicateAnalyzer(index)
    photo, near = encode(astronaut(), "JPEG", quality=90), degraded(astronaut())
    analyse(analyzer, photo, "orig.jpg")
    analyse(analyzer, photo, "exact-copy.jpg")
    analyse(analyzer, near, "near-copy.jpg")
    assert analyse(analyzer, photo, "orig.jpg")["DuplicateOf"] is None
    assert analyse(analyzer, near, "near-copy.jpg")["DuplicateOf"] == "orig.jpg"
    # new bytes under the original's key make it a new image, later than its old copies
    analyse(analyzer, encode(coffee(), "JPEG", quality=90), "orig.jpg")
    assert analyse(analyzer, photo, "exact-copy.jpg")["DuplicateOf"] is None
    assert analyse(analyzer, near, "near-copy.jpg")["DuplicateOf"] == "exact-copy.jpg"


def test_an_index_sees_what_another_process_added_to_the_same_database(tmp_path: Path) -> None:
    first, second = SQLiteHashIndex(tmp_path / "r.db"), SQLiteHashIndex(tmp_path / "r.db")
    try:
        ours, theirs = DuplicateAnalyzer(first), DuplicateAnalyzer(second)
        assert analyse(ours, encode(coffee(), "JPEG", quality=90), "c1.jpg")["DuplicateOf"] is None
        analyse(theirs, encode(astronaut(), "JPEG", quality=90), "a1.jpg")  # after ours loaded
        assert analyse(ours, degraded(astronaut()), "a2.jpg")["DuplicateOf"] == "a1.jpg"
        assert analyse(theirs, degraded(coffee()), "c2.jpg")["DuplicateOf"] == "c1.jpg"
        assert analyse(ours, degraded(coffee()), "other-env.jpg", env="prod")["DuplicateOf"] is None
    finally:
        first.close()
        second.close()


def test_a_deleted_original_is_no_longer_named_nor_grouped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The original's file is deleted and its removal processed: a later copy is an original
    now, the duplicates listing drops it, and another process's index (loaded before the
    delete) stops naming it too."""
    settings = Settings(root=tmp_path / "bucket")
    settings.analyzers = parse_analyzers("beta=labels,duplicates")
    monkeypatch.setitem(registry.FACTORIES, "labels", lambda s: DominantColourAnalyzer())
    other = SQLiteHashIndex(settings.db_path)
    app_ = build_local_app(settings)
    try:
        orig, copy, later = BETA + "orig.jpg", BETA + "copy.jpg", BETA + "later.jpg"
        app_.storage.write(orig, encode(astronaut(), "JPEG", quality=92))
        app_.storage.write(copy, degraded(astronaut()))
        for key in (orig, copy):
            event = event_for_key(app_.storage, key, source="test")
            assert event is not None and app_.pipeline.process(event).action is Action.STORED
        look_up = lambda: other.find_similar(  # noqa: E731
            "beta", phash(astronaut()), dhash(astronaut()), 10, "x.jpg"
        )
        assert (found := look_up()) is not None and found.key == orig  # loaded before the delete
        (settings.root / orig).unlink()
        gone = ObjectEvent(app_.storage.bucket, orig, EventKind.REMOVED, source="test")
        removed = app_.pipeline.process(gone)
        assert removed.action is Action.DELETED
        assert (found := look_up()) is not None and found.key == copy
        app_.storage.write(later, encode(astronaut(), "JPEG", quality=80))
        event = event_for_key(app_.storage, later, source="test")
        assert event is not None and app_.pipeline.process(event).action is Action.STORED
        record = app_.results.get("beta", later)
        assert record is not None and record.findings["duplicates"]["DuplicateOf"] == copy
        assert [e.key for e in app_.hash_index.entries("beta")] == [copy, later]
    finally:
        app_.close()
        other.close()


def test_groups_match_a_pairwise_reference_across_blocks() -> None:
    from eventlens.image_hashes import HashEntry
    from eventlens.results import hash_index

    rng = np.random.default_rng(5)
    bases = [int(v) for v in rng.integers(0, 2**63, size=40, dtype=np.int64)]
    entries = []
    for i in range(1300):  # more than two blocks
        base = bases[i % len(bases)]
        flips = sum(
            1 << int(b) for b in rng.choice(64, size=int(rng.integers(0, 9)), replace=False)
        )
        entries.append(HashEntry(f"k{i}", f"s{i}", base ^ flips, base ^ (flips >> 1)))
    assert len(entries) // 2 > hash_index._BLOCK
    expected_parent = list(range(len(entries)))

    def root(i: int) -> int:
        while expected_parent[i] != i:
            i = expected_parent[i]
        return i

    for i, a in enumerate(entries):
        for j in range(i):
            b = entries[j]
            if hamming(a.phash, b.phash) <= 6 and hamming(a.dhash, b.dhash) <= 12:
                expected_parent[root(i)] = root(j)
    expected: dict[int, list[str]] = {}
    for i, entry in enumerate(entries):
        expected.setdefault(root(i), []).append(entry.key)
    got = [[e.key for e in g] for g in duplicate_groups(entries, 6)]
    assert got == [g for g in expected.values() if len(g) > 1]
    assert 1 < len(got) < len(entries) // 2
