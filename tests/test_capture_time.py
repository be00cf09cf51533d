"""Capture time and EXIF facts: read from the bytes the pipeline already has, stored in the
record (``captured_at``, ``findings["exif"]``), and an older database file migrated in place."""

from __future__ import annotations

import json
import sqlite3
from fractions import Fraction
from pathlib import Path

import pytest
from PIL import ExifTags, Image
from PIL.TiffImagePlugin import IFDRational

from eventlens.events.local import event_for_key
from eventlens.exif import capture_time, format_position
from eventlens.imaging import ImageInput
from eventlens.outcome import Action
from eventlens.pipeline import Pipeline
from eventlens.results.base import Order, Query
from eventlens.results.record import Record
from eventlens.results.sqlite import SQLiteResultStore
from eventlens.storage.local import LocalFolderStore
from tests.images import encode, photo_like

BETA = "rekognition-input/beta/"


def exif_block(
    taken: str | None = "2024:07:14 15:02:11",
    offset: str | None = "+02:00",
    *,
    gps: bool = True,
) -> Image.Exif:
    """What a phone writes: camera, lens, capture time with offset, position."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Fairphone"
    exif[ExifTags.Base.Model] = "FP5"
    ifd = exif.get_ifd(ExifTags.IFD.Exif)
    if taken is not None:
        ifd[ExifTags.Base.DateTimeOriginal] = taken
    if offset is not None:
        ifd[ExifTags.Base.OffsetTimeOriginal] = offset
    ifd[ExifTags.Base.LensModel] = "main camera 6.7mm f/1.88"
    if gps:
        place = exif.get_ifd(ExifTags.IFD.GPSInfo)
        place[ExifTags.GPS.GPSLatitudeRef] = "N"
        place[ExifTags.GPS.GPSLatitude] = (Fraction(48), Fraction(51), Fraction(2913, 100))
        place[ExifTags.GPS.GPSLongitudeRef] = "W"
        place[ExifTags.GPS.GPSLongitude] = (Fraction(2), Fraction(17), Fraction(40))
        place[ExifTags.GPS.GPSAltitudeRef] = b"\x00"
        place[ExifTags.GPS.GPSAltitude] = Fraction(35)
    return exif


def photo(exif: Image.Exif | None, fmt: str = "JPEG") -> bytes:
    image = photo_like(160, 120, seed=3)
    return encode(image, fmt, exif=exif) if exif is not None else encode(image, fmt)


def process(pipeline: Pipeline, bucket: LocalFolderStore, name: str, data: bytes) -> Record:
    bucket.write(BETA + name, data)
    event = event_for_key(bucket, BETA + name, source="test")
    assert event is not None
    outcome = pipeline.process(event)
    assert outcome.action is Action.STORED and outcome.record is not None
    return outcome.record


def test_capture_time_camera_and_position_reach_the_record(
    pipeline: Pipeline, bucket: LocalFolderStore, results: SQLiteResultStore
) -> None:
    process(pipeline, bucket, "phone.jpg", photo(exif_block()))
    record = results.get("beta", BETA + "phone.jpg")
    assert record is not None
    assert record.captured_at == "2024-07-14T15:02:11+02:00"
    assert record.findings["exif"] == {
        "DateTimeOriginal": "2024-07-14T15:02:11+02:00", "Make": "Fairphone", "Model": "FP5",
        "LensModel": "main camera 6.7mm f/1.88", "GPSLatitude": 48.858092,
        "GPSLongitude": -2.294444, "GPSAltitude": 35.0,
    }  # fmt: skip
    assert format_position(48.858092, -2.294444, 35.0) == "48.85809° N, 2.29444° W, 35 m"


def test_a_time_without_offset_stays_the_cameras_local_time(
    pipeline: Pipeline, bucket: LocalFolderStore
) -> None:
    record = process(pipeline, bucket, "camera.jpg", photo(exif_block(offset=None, gps=False)))
    assert record.captured_at == "2024-07-14T15:02:11"
    assert "GPSLatitude" not in record.findings["exif"]


@pytest.mark.parametrize(
    ("taken", "offset", "expected"),
    [
        ("0000:00:00 00:00:00", "+01:00", None),  # a camera whose clock was never set
        ("    :  :     :  :  ", None, None),
        ("2024:02:30 10:00:00", None, None),  # no such day
        ("2024:07:14 15:02:11", "+2:00", "2024-07-14T15:02:11"),  # a malformed offset is dropped
        ("2024:07:14 15:02:11\x00", "-05:00", "2024-07-14T15:02:11-05:00"),
    ],
)
def test_capture_time_parsing(taken: str, offset: str | None, expected: str | None) -> None:
    assert capture_time(taken, offset) == expected


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")  # Pillow's, when it opens the junk
def test_images_without_or_with_broken_exif_are_still_ok(
    pipeline: Pipeline, bucket: LocalFolderStore
) -> None:
    plain = process(pipeline, bucket, "plain.jpg", photo(None))
    assert plain.captured_at is None and "exif" not in plain.findings
    png = process(pipeline, bucket, "screen.png", photo(exif_block(gps=False), "PNG"))
    assert png.captured_at == "2024-07-14T15:02:11+02:00"
    broken = exif_block()
    minutes_over_zero = (IFDRational(48, 1), IFDRational(51, 0), IFDRational(0, 1))
    broken.get_ifd(ExifTags.IFD.GPSInfo)[ExifTags.GPS.GPSLatitude] = minutes_over_zero
    odd = process(pipeline, bucket, "odd.jpg", photo(broken))
    assert odd.captured_at == "2024-07-14T15:02:11+02:00"
    assert "GPSLatitude" not in odd.findings["exif"] and "GPSLongitude" not in odd.findings["exif"]
    junk = encode(photo_like(160, 120), "JPEG", exif=b"Exif\x00\x00MM\x00*\xff\xff\xff\xff")
    assert process(pipeline, bucket, "junk.jpg", junk).captured_at is None


def test_exif_comes_from_the_decode_already_done(monkeypatch: pytest.MonkeyPatch) -> None:
    image = ImageInput(photo(exif_block()), BETA + "a.jpg")
    image.decode(min_short_side=32)
    monkeypatch.setattr("eventlens.imaging._open", lambda *a: pytest.fail("opened again"))
    assert image.photo_info().captured_at == "2024-07-14T15:02:11+02:00"


OLD_SCHEMA = """
CREATE TABLE beta_results (
    filename TEXT PRIMARY KEY, timestamp TEXT NOT NULL, branch TEXT, environment TEXT NOT NULL,
    label_count INTEGER NOT NULL, analysis_method TEXT, s3_bucket TEXT, sha256 TEXT,
    size INTEGER, width INTEGER, height INTEGER, model_version TEXT, duration_ms REAL,
    status TEXT NOT NULL, error TEXT, etag TEXT, sequencer TEXT, expires_at INTEGER,
    labels TEXT NOT NULL, metadata TEXT NOT NULL, findings TEXT NOT NULL
);
CREATE INDEX beta_results_by_time ON beta_results (timestamp);
CREATE TABLE beta_results_labels (
    filename TEXT NOT NULL REFERENCES beta_results(filename) ON DELETE CASCADE,
    name TEXT NOT NULL COLLATE NOCASE, confidence REAL NOT NULL, timestamp TEXT NOT NULL,
    PRIMARY KEY (filename, name)
) WITHOUT ROWID;
CREATE INDEX beta_results_labels_by_name ON beta_results_labels (name, timestamp DESC);
"""


def test_a_database_from_before_capture_time_is_migrated_in_place(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    conn = sqlite3.connect(db)
    conn.executescript(OLD_SCHEMA)
    labels = [
        {"Name": "Cat", "Confidence": 97.0, "Parents": [{"Name": "Animal"}]},
        {"Name": "Animal", "Confidence": 96.0, "Parents": []},
    ]
    conn.execute(
        "INSERT INTO beta_results VALUES (?, '2026-01-01T10:00:00.000000Z', 'local', 'beta', 2,"
        " '', '', '', 1, 1, 1, '', 1.0, 'ok', NULL, NULL, NULL, NULL, ?, '{}', '{}')",
        (BETA + "old.jpg", json.dumps(labels)),
    )
    conn.executemany(
        "INSERT INTO beta_results_labels VALUES (?, ?, ?, '2026-01-01T10:00:00.000000Z')",
        [(BETA + "old.jpg", "Cat", 97.0), (BETA + "old.jpg", "Animal", 96.0)],
    )
    conn.commit()
    conn.close()

    with SQLiteResultStore(db, {"beta": "beta_results"}) as store:
        old = store.get("beta", BETA + "old.jpg")
        assert old is not None and old.captured_at is None
        assert old.label_names() == ["Cat", "Animal"]
        summary = {s.name: (s.records, s.specific) for s in store.label_summary("beta")}
        assert summary == {"Cat": (1, 1), "Animal": (1, 0)}  # the parent was marked
        new = Record(BETA + "new.jpg", "beta", labels=labels, captured_at="2025-05-01T08:00:00")
        assert store.put(new)
        taken = store.query(Query("beta", order=Order.CAPTURED))
        assert [r.filename for r in taken] == [BETA + "new.jpg", BETA + "old.jpg"]
    with SQLiteResultStore(db, {"beta": "beta_results"}) as again:  # a second open: no-op
        assert {s.name: s.records for s in again.label_summary("beta")} == {"Cat": 2, "Animal": 2}
    columns = [row[1] for row in sqlite3.connect(db).execute("PRAGMA table_info(beta_results)")]
    assert columns.count("captured_at") == 1
