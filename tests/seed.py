"""A seeded local deployment for dashboard tests: real JPEGs in a bucket folder, records written
through SQLiteResultStore, and one dead letter in the intake queue."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from PIL import Image

from eventlens.events.base import ObjectEvent
from eventlens.intake import IntakeQueue
from eventlens.results.record import Record, Status
from eventlens.results.sqlite import SQLiteResultStore
from eventlens.retry import RetryPolicy
from eventlens.routing import DEFAULT_ROUTES
from tests.images import encode, photo_like, solid, write

BETA = "rekognition-input/beta/"
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def label(name: str, confidence: float) -> dict[str, object]:
    return {"Name": name, "Confidence": confidence, "Parents": [], "Instances": []}


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Seeded:
    root: Path
    db: Path
    store: SQLiteResultStore
    queue: IntakeQueue
    records: list[Record]
    dead_key: str

    def close(self) -> None:
        self.queue.close()
        self.store.close()


SAMPLES = Path(__file__).resolve().parent.parent / "src" / "eventlens" / "samples"

# (name, a bundled sample photo or a colour or None for a noisy gradient, labels, status,
#  minutes before NOW, duration_ms); keys with a space and a '+' test URL handling
SPECS: list[tuple[str, str | tuple[int, int, int] | None, list[tuple[str, float]], str, int,
                  float]] = [
    ("tabby-cat.jpg", "beta/tabby-cat.jpg", [("Cat", 97.5), ("Pet", 91.0), ("Animal", 90.2)],
     "ok", 5, 42),
    ("golden-dog.jpg", (230, 190, 80), [("Dog", 96.1), ("Pet", 88.0), ("Animal", 87.3)], "ok", 20,
     180),
    ("coffee cup.jpg", "beta/coffee cup.jpg", [("Cup", 92.0), ("Coffee", 85.5), ("Drink", 80.0)],
     "ok", 65, 75.5),
    ("stop-sign.jpg", None, [("Sign", 93.0), ("Text", 70.0)], "ok", 70, 320),
    ("night.jpg", (10, 10, 40), [], "error", 125, 1200),
    ("rocket+launch.jpg", "prod/rocket+launch.jpg", [("Rocket", 94.0), ("Sky", 90.0)], "ok",
     130, 15),
]  # fmt: skip


def seed(tmp: Path) -> Seeded:
    root = tmp / "bucket"
    db = root / ".eventlens" / "eventlens.db"
    store = SQLiteResultStore(db, {r.environment: r.table for r in DEFAULT_ROUTES})
    records = []
    for i, (name, source, labels, status, minutes, ms) in enumerate(SPECS):
        if isinstance(source, str):
            data = (SAMPLES / source).read_bytes()
        else:
            image = photo_like(320, 240, seed=i) if source is None else solid(320, 240, source)
            data = encode(image, "JPEG", quality=85)
        write(root / BETA / name, data)
        width, height = Image.open(io.BytesIO(data)).size
        record = Record(
            filename=BETA + name, environment="beta",
            labels=[label(n, c) for n, c in labels],
            timestamp=iso(NOW - timedelta(minutes=minutes)),
            analysis_method="test", s3_bucket=str(root), sha256=hashlib.sha256(data).hexdigest(),
            size=len(data), width=width, height=height, model_version="labels=test/1",
            duration_ms=ms, status=Status(status),
            error="corrupt or truncated JPEG image" if status == "error" else None,
            findings={"faces": [{"Confidence": 99.0}]} if name == "tabby-cat.jpg" else
            ({"text": [{"DetectedText": "STOP"}]} if name == "stop-sign.jpg" else {}),
        )  # fmt: skip
        assert store.put(record)
        records.append(record)
    prod_key = "rekognition-input/prod/astronaut.jpg"
    write(root / prod_key, (SAMPLES / "prod" / "astronaut.jpg").read_bytes())
    prod = Record(
        filename=prod_key,
        environment="prod",
        labels=[label("Person", 99.0), label("Astronaut", 90.0)],
        timestamp=iso(NOW),
    )
    assert store.put(prod)
    queue = IntakeQueue(db, retry=RetryPolicy(max_attempts=1))
    dead_key = BETA + "broken.jpg"
    write(root / dead_key, b"not really a jpeg")
    queue.enqueue([ObjectEvent(bucket=str(root), key=dead_key, source="test")])
    (job,) = queue.claim(1)
    assert queue.fail(job, "ImageRejected: cannot identify image file")
    return Seeded(root, db, store, queue, records, dead_key)


PEOPLE = BETA + "astronaut portrait.jpg"
COPY = BETA + "tabby-copy.jpg"


def box(left: float, top: float, width: float, height: float) -> dict[str, float]:
    return {"Width": width, "Height": height, "Left": left, "Top": top}


def add_photos(seeded: Seeded) -> None:
    """Beside ``seed``: a portrait with the shapes the detectors write (a Person instance, a
    face, text lines and words, image properties, EXIF), and a duplicate of the cat."""
    data = (SAMPLES / "prod" / "astronaut.jpg").read_bytes()
    write(seeded.root / PEOPLE, data)
    person = {
        "Name": "Person",
        "Confidence": 98.4,
        "Parents": [],
        "Instances": [{"BoundingBox": box(0.03, 0.03, 0.70, 0.97), "Confidence": 98.4}],
    }
    shuttle = {
        "Name": "Space Shuttle",
        "Confidence": 81.0,
        "Parents": [{"Name": "Spacecraft"}, {"Name": "Vehicle"}],
        "Instances": [{"BoundingBox": box(0.69, 0.0, 0.24, 0.57), "Confidence": 81.0}],
    }
    labels = [
        person,
        {"Name": "Astronaut", "Confidence": 95.2, "Parents": [{"Name": "Person"}], "Instances": []},
        shuttle,
        {
            "Name": "Spacecraft",
            "Confidence": 82.0,
            "Parents": [{"Name": "Vehicle"}],
            "Instances": [],
        },
        {"Name": "Vehicle", "Confidence": 83.0, "Parents": [], "Instances": []},
    ]
    text = [
        {
            "DetectedText": "EILEEN M. COLLINS",
            "Type": "LINE",
            "Id": 0,
            "Confidence": 91.0,
            "Geometry": {"BoundingBox": box(0.545, 0.665, 0.095, 0.06)},
        },
        {
            "DetectedText": "EILEEN",
            "Type": "WORD",
            "Id": 1,
            "ParentId": 0,
            "Confidence": 93.0,
            "Geometry": {"BoundingBox": box(0.545, 0.665, 0.04, 0.06)},
        },
    ]
    properties = {
        "Quality": {"Brightness": 71.5, "Sharpness": 83.9, "Contrast": 64.0},
        "DominantColors": [
            {
                "Red": 229,
                "Green": 95,
                "Blue": 43,
                "HexCode": "#e55f2b",
                "CSSColor": "orangered",
                "SimplifiedColor": "orange",
                "PixelPercent": 38.5,
            },
            {
                "Red": 201,
                "Green": 196,
                "Blue": 190,
                "HexCode": "#c9c4be",
                "CSSColor": "silver",
                "SimplifiedColor": "grey",
                "PixelPercent": 27.0,
            },
            {
                "Red": 20,
                "Green": 20,
                "Blue": 24,
                "HexCode": "#141418",
                "CSSColor": "black",
                "SimplifiedColor": "black",
                "PixelPercent": 16.2,
            },
        ],
    }
    exif = {
        "DateTimeOriginal": "1999-07-23T04:31:00-04:00",
        "Make": "Hasselblad",
        "Model": "500 EL/M",
        "GPSLatitude": 28.5729,
        "GPSLongitude": -80.649,
    }
    portrait = Record(
        filename=PEOPLE, environment="beta", labels=labels,
        timestamp=iso(NOW - timedelta(minutes=1)), captured_at="1999-07-23T04:31:00-04:00",
        analysis_method="test", s3_bucket=str(seeded.root), size=len(data), width=512,
        height=512, sha256=hashlib.sha256(data).hexdigest(), duration_ms=60.0,
        findings={
            "faces": {"FaceDetails": [{"BoundingBox": box(0.34, 0.12, 0.24, 0.26),
                                       "Confidence": 99.9}]},
            "text": {"TextDetections": text}, "image_properties": properties, "exif": exif,
        },
    )  # fmt: skip
    cat = seeded.records[0]
    write(seeded.root / COPY, (seeded.root / cat.filename).read_bytes())
    copy = Record(
        filename=COPY, environment="beta", labels=cat.labels,
        timestamp=iso(NOW - timedelta(minutes=2)), captured_at="2025-05-01T09:00:00",
        analysis_method="test", s3_bucket=str(seeded.root), sha256=cat.sha256, size=cat.size,
        width=cat.width, height=cat.height, duration_ms=30.0,
        findings={"duplicates": {"phash": "f186a0", "dhash": "0020ff", "DuplicateOf":
                                 cat.filename, "Distance": 0, "Exact": True}},
    )  # fmt: skip
    assert seeded.store.put(portrait) and seeded.store.put(copy)
