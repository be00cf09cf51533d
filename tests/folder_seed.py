"""A bucket with the same file name in several folders (and a copy across folders), written
through SQLiteResultStore with real JPEGs: what the folder and duplicate pages are tested on."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from eventlens.results.record import Record
from eventlens.results.sqlite import SQLiteResultStore
from eventlens.routing import DEFAULT_ROUTES
from tests.images import encode, solid, write
from tests.seed import BETA, NOW, iso, label

# (path below the beta prefix, colour, labels, minutes before NOW, findings)
FILES: list[tuple[str, tuple[int, int, int], list[tuple[str, float]], int, dict[str, Any]]] = [
    ("coffee.jpg", (120, 70, 30), [("Cup", 91.0)], 1,
     {"duplicates": {"DuplicateOf": BETA + "holiday/coffee.jpg", "Distance": 0}}),
    ("holiday/coffee.jpg", (120, 70, 30), [("Cup", 90.0)], 2, {}),
    ("holiday/beach/sea.jpg", (20, 90, 200), [("Sea", 88.0)], 3, {}),
    ("work/2024/a-very-long-folder-name-for-reports/chart.jpg", (240, 240, 240),
     [("Chart", 80.0)], 4, {}),
]  # fmt: skip


@dataclass
class FolderBucket:
    root: Path
    store: SQLiteResultStore


def seed_folders(tmp: Path) -> FolderBucket:
    root = tmp / "bucket"
    store = SQLiteResultStore(root / ".eventlens" / "eventlens.db",
                              {r.environment: r.table for r in DEFAULT_ROUTES})  # fmt: skip
    for path, colour, labels, minutes, findings in FILES:
        data = encode(solid(320, 240, colour), "JPEG", quality=85)
        write(root / BETA / path, data)
        store.put(
            Record(
                filename=BETA + path, environment="beta",
                labels=[label(n, c) for n, c in labels],
                timestamp=iso(NOW - timedelta(minutes=minutes)),
                sha256=hashlib.sha256(data).hexdigest(), size=len(data), width=320, height=240,
                model_version="labels=test/1", findings=findings,
            )
        )  # fmt: skip
    return FolderBucket(root, store)
