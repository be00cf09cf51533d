from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from eventlens.events.base import ObjectEvent
from eventlens.events.local import event_for_key
from eventlens.outcome import Action
from eventlens.pipeline import Pipeline
from eventlens.results.record import Status
from eventlens.results.sqlite import SQLiteResultStore
from eventlens.routing import Router
from eventlens.settings import Settings
from eventlens.storage.local import LocalFolderStore
from tests.conftest import DominantColourAnalyzer
from tests.images import encode, jpeg, photo_like, png_bomb

BETA = "rekognition-input/beta/"


def put(bucket: LocalFolderStore, key: str, data: bytes) -> ObjectEvent:
    bucket.write(key, data)
    event = event_for_key(bucket, key, source="test")
    assert event is not None
    return event


def test_new_image_gets_an_ok_record_in_the_seed_schema(
    pipeline: Pipeline, bucket: LocalFolderStore, results: SQLiteResultStore
) -> None:
    event = put(bucket, BETA + "red.jpg", jpeg((220, 20, 20), (80, 60)))
    outcome = pipeline.process(event)
    assert outcome.action is Action.STORED
    record = results.get("beta", BETA + "red.jpg")
    assert record is not None
    assert record.status is Status.OK and record.error is None
    assert record.labels[0]["Name"] == "Red"
    assert record.label_count == len(record.labels) == 3
    assert record.environment == "beta" and record.branch == "local"
    assert record.analysis_method == "test-dominant-colour"
    assert record.s3_bucket == bucket.bucket
    assert record.timestamp.endswith("Z")
    assert (record.width, record.height) == (80, 60)
    assert record.size == (bucket.root / BETA / "red.jpg").stat().st_size
    assert len(record.sha256) == 64 and record.model_version == "labels=dominant-colour/1"
    assert record.duration_ms > 0


def test_prod_prefix_goes_to_prod_table(
    pipeline: Pipeline, bucket: LocalFolderStore, results: SQLiteResultStore
) -> None:
    pipeline.process(put(bucket, "rekognition-input/prod/a.jpg", jpeg()))
    assert results.get("prod", "rekognition-input/prod/a.jpg") is not None
    assert results.get("beta", "rekognition-input/prod/a.jpg") is None


def test_same_bytes_are_analysed_once_and_repeated_events_change_nothing(
    pipeline: Pipeline,
    bucket: LocalFolderStore,
    results: SQLiteResultStore,
    analyzer: DominantColourAnalyzer,
) -> None:
    event = put(bucket, BETA + "cat.jpg", jpeg())
    assert pipeline.process(event).action is Action.STORED
    first = results.get("beta", BETA + "cat.jpg")
    for _ in range(3):
        assert pipeline.process(event).action is Action.UNCHANGED
    # the same bytes rewritten (new mtime, new etag) are still not analysed again; the record
    # remembers the new version, so the next reconcile does not read the file again
    again = put(bucket, BETA + "cat.jpg", jpeg())
    assert pipeline.process(again).action is Action.UNCHANGED
    assert analyzer.calls == 1
    refreshed = results.get("beta", BETA + "cat.jpg")
    assert first is not None and refreshed is not None
    assert refreshed.etag == again.etag != first.etag
    assert (refreshed.labels, refreshed.timestamp) == (first.labels, first.timestamp)
    assert pipeline.process(again).action is Action.UNCHANGED


def test_changed_bytes_and_a_new_model_are_reanalysed(
    bucket: LocalFolderStore, results: SQLiteResultStore
) -> None:
    analyzer = DominantColourAnalyzer()
    pipeline = Pipeline(bucket, results, {"*": [analyzer]})
    pipeline.process(put(bucket, BETA + "x.jpg", jpeg((250, 0, 0))))
    pipeline.process(put(bucket, BETA + "x.jpg", jpeg((0, 0, 250))))
    record = results.get("beta", BETA + "x.jpg")
    assert record is not None and record.labels[0]["Name"] == "Blue"
    upgraded = Pipeline(bucket, results, {"*": [DominantColourAnalyzer(version="2")]})
    event = event_for_key(bucket, BETA + "x.jpg", "test")
    assert event is not None
    assert upgraded.process(event).action is Action.STORED
    record = results.get("beta", BETA + "x.jpg")
    assert record is not None and record.model_version == "labels=dominant-colour/2"
    assert analyzer.calls == 2


BAD_INPUTS: dict[str, tuple[Callable[[], bytes], str]] = {
    "empty.jpg": (lambda: b"", "empty file"),
    "truncated.jpg": (lambda: encode(photo_like(400, 300), "JPEG")[:700], "corrupt or truncated"),
    "truncated.png": (lambda: encode(photo_like(200, 100), "PNG")[:300], "corrupt or truncated"),
    "notes.jpg": (lambda: b"this is a text file, not a photo\n" * 20, "not an image"),
    "bomb.png": (png_bomb, "decompression bomb"),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_gets_an_error_record_and_the_batch_goes_on(
    name: str, pipeline: Pipeline, bucket: LocalFolderStore, results: SQLiteResultStore
) -> None:
    make, message = BAD_INPUTS[name]
    bad = put(bucket, BETA + name, make())
    good = put(bucket, BETA + "good.jpg", jpeg())
    outcomes = pipeline.process_batch([bad, good])
    assert [o.action for o in outcomes] == [Action.FAILED, Action.STORED]
    record = results.get("beta", BETA + name)
    assert record is not None and record.status is Status.ERROR
    assert record.error is not None and message in record.error
    assert record.labels == [] and record.label_count == 0
    # a bad file is not retried on every event: same bytes, same verdict
    assert pipeline.process(bad).action is Action.UNCHANGED


def test_files_over_the_size_limit_get_an_error_record(
    bucket: LocalFolderStore, results: SQLiteResultStore
) -> None:
    pipeline = Pipeline(
        bucket, results, {"*": [DominantColourAnalyzer()]}, settings=Settings(max_bytes=1000)
    )
    event = put(bucket, BETA + "big.jpg", encode(photo_like(300, 300), "JPEG"))
    assert pipeline.process(event).action is Action.FAILED
    record = results.get("beta", BETA + "big.jpg")
    assert record is not None and record.error is not None
    assert "file too large" in record.error


def test_older_event_arriving_late_does_not_overwrite_newer_record(
    pipeline: Pipeline, bucket: LocalFolderStore, results: SQLiteResultStore
) -> None:
    key = BETA + "seq.jpg"
    bucket.write(key, jpeg((0, 250, 0)))
    newer = ObjectEvent(bucket.bucket, key, sequencer="0000000000000000000B")
    assert pipeline.process(newer).action is Action.STORED
    stored = results.get("beta", key)
    assert stored is not None
    # simulate a store holding a newer version than the one a late event carries
    assert stored.sequencer is not None
    stale_pipeline_record = stored
    stale_pipeline_record.sequencer = "1" + "0" * 30  # newer than any mtime sequencer
    results.put(stale_pipeline_record)
    bucket.write(key, jpeg((0, 0, 250)))
    late = event_for_key(bucket, key, "test")
    assert late is not None
    late = replace(late, sequencer="0000000000000000000A")  # numbered before the stored one
    assert pipeline.process(late).action is Action.SKIPPED
    kept = results.get("beta", key)
    assert kept is not None and kept.labels[0]["Name"] == "Green"


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("elsewhere/cat.jpg", "outside the configured prefixes"),
        (BETA + "notes.txt", "not an image file extension"),
    ],
)
def test_keys_that_are_not_ours_are_skipped(
    key: str, reason: str, pipeline: Pipeline, bucket: LocalFolderStore
) -> None:
    outcome = pipeline.process(put(bucket, key, jpeg()))
    assert outcome.action is Action.SKIPPED and outcome.reason == reason


@pytest.mark.parametrize(
    "name",
    ["my cat.jpg", "my+cat.jpg", "čaj ☕ 猫.JPG", "a" * 200 + ".jpg", "deep/nested/dir/x.png"],
)
def test_odd_keys_get_one_correct_record(
    name: str, pipeline: Pipeline, bucket: LocalFolderStore, results: SQLiteResultStore
) -> None:
    data = encode(photo_like(40, 30), "PNG") if name.endswith(".png") else jpeg()
    event = put(bucket, BETA + name, data)
    assert pipeline.process(event).action is Action.STORED
    assert results.get("beta", BETA + name) is not None
    assert results.count("beta") == 1


def test_symlink_pointing_outside_the_root_is_skipped(
    pipeline: Pipeline, bucket: LocalFolderStore, tmp_path: Path, results: SQLiteResultStore
) -> None:
    outside = tmp_path / "secret.jpg"
    outside.write_bytes(jpeg())
    link = bucket.root / BETA / "link.jpg"
    link.parent.mkdir(parents=True)
    os.symlink(outside, link)
    outcome = pipeline.process(ObjectEvent(bucket.bucket, BETA + "link.jpg"))
    assert outcome.action is Action.SKIPPED
    assert "outside the bucket root" in outcome.reason
    assert results.count("beta") == 0


def test_file_deleted_before_processing_is_skipped(
    pipeline: Pipeline, bucket: LocalFolderStore
) -> None:
    event = put(bucket, BETA + "gone.jpg", jpeg())
    (bucket.root / BETA / "gone.jpg").unlink()
    outcome = pipeline.process(event)
    assert outcome.action is Action.SKIPPED and "no longer exists" in outcome.reason


def test_a_broken_analyzer_asks_for_a_retry_and_retry_exhaustion_records_the_error(
    bucket: LocalFolderStore, results: SQLiteResultStore
) -> None:
    class Broken(DominantColourAnalyzer):
        def analyze(self, image):  # type: ignore[no-untyped-def]
            raise RuntimeError("model crashed")

    pipeline = Pipeline(bucket, results, {"*": [Broken()]}, router=Router())
    event = put(bucket, BETA + "x.jpg", jpeg())
    outcome = pipeline.process(event)
    assert outcome.action is Action.RETRY and "model crashed" in outcome.reason
    assert results.get("beta", BETA + "x.jpg") is None
    final = pipeline.record_failure(event, "gave up after 5 attempts: model crashed")
    assert final.action is Action.FAILED
    record = results.get("beta", BETA + "x.jpg")
    assert record is not None and record.status is Status.ERROR
    assert record.error == "gave up after 5 attempts: model crashed"


def test_metadata_and_branch_are_carried_into_the_record(
    pipeline: Pipeline, bucket: LocalFolderStore, results: SQLiteResultStore
) -> None:
    bucket.write(BETA + "m.jpg", jpeg(), metadata={"owner": "ana", "branch": "feature/x"})
    event = event_for_key(bucket, BETA + "m.jpg", "test")
    assert event is not None
    pipeline.process(event)
    record = results.get("beta", BETA + "m.jpg")
    assert record is not None
    assert record.metadata == {"owner": "ana", "branch": "feature/x"}
    assert record.branch == "feature/x"


def test_bad_bytes_are_an_error_record_even_when_the_analyzer_never_decodes(
    bucket: LocalFolderStore, results: SQLiteResultStore
) -> None:
    class RemoteOnly(DominantColourAnalyzer):
        """Like a cloud API given a reference: returns labels without decoding locally."""

        def analyze(self, image):  # type: ignore[no-untyped-def]
            return {"Labels": [{"Name": "Thing", "Confidence": 99.0}]}

    pipeline = Pipeline(bucket, results, {"*": [RemoteOnly()]})
    outcome = pipeline.process(put(bucket, BETA + "junk.jpg", b"definitely not a jpeg"))
    assert outcome.action is Action.FAILED
    record = results.get("beta", BETA + "junk.jpg")
    assert record is not None and record.error == "not an image (format not recognised)"
