"""Time to assign a new face to a person with N faces stored (the SQLite people index).

.venv/bin/python bench/bench_people.py [--faces 100000]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eventlens.face_people import FaceEntry
from eventlens.results.people_sqlite import SQLitePeopleIndex


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--faces", type=int, default=100_000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "people.db"
        SQLitePeopleIndex(path).close()  # the schema
        vectors = rng.normal(size=(args.faces, 128)).astype(np.float32)
        with sqlite3.connect(path) as conn:  # stored faces, one person each (a spread set)
            conn.executemany(
                "INSERT INTO people (id, environment) VALUES (?, 'beta')",
                [(i + 1,) for i in range(args.faces)],
            )
            conn.executemany(
                "INSERT INTO people_faces (environment, key, face, person, descriptor) "
                "VALUES ('beta', ?, 0, ?, ?)",
                [(f"k{i}.jpg", i + 1, v.astype("<f4").tobytes()) for i, v in enumerate(vectors)],
            )
        index = SQLitePeopleIndex(path)
        started = time.perf_counter()
        index.assign("beta", "warm.jpg", [FaceEntry("warm.jpg", 0, vectors[0])])
        first_ms = (time.perf_counter() - started) * 1000
        times = []
        for i in range(50):
            face = FaceEntry(f"new{i}.jpg", 0, vectors[i * 7] + 0.01)
            started = time.perf_counter()
            index.assign("beta", face.key, [face])
            times.append((time.perf_counter() - started) * 1000)
        index.close()
    median = statistics.median(times)
    print(f"{args.faces} faces stored: first assign (loads the matrix) {first_ms:.0f} ms; "
          f"then median {median:.1f} ms, max {max(times):.1f} ms per face")  # fmt: skip


if __name__ == "__main__":
    main()
