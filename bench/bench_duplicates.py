"""Benchmark the duplicate index at scale: look-up + insert per image, and grouping.

    .venv/bin/python bench/bench_duplicates.py [--sizes 10000,100000,1000000] [--group 20000]

For each size, a SQLite hash index is filled with that many random 64-bit pHash/dHash pairs
(one environment), then each of 200 new images is looked up (exact, then nearest within 6 bits)
and added, as the `duplicates` analyzer does. Printed per size: the first look-up (loading the
arrays from SQLite), the median and p99 look-up + insert, and the process's peak RSS so far.
``--group N`` times ``eventlens duplicates`` grouping (every pair compared) over N entries.
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from eventlens.image_hashes import HashEntry
from eventlens.results.hash_index import SQLiteHashIndex, _signed, duplicate_groups

LOOKUPS = 200


def fill(index: SQLiteHashIndex, count: int, rng: random.Random) -> None:
    rows = (
        ("prod", f"img-{i}.jpg", f"{i:064x}", _signed(rng.getrandbits(64)),
         _signed(rng.getrandbits(64)), i + 1)
        for i in range(count)
    )  # fmt: skip
    index._conn.execute("BEGIN")
    index._conn.executemany(f'INSERT INTO "{index.table}" VALUES (?, ?, ?, ?, ?, ?)', rows)
    index._conn.execute("COMMIT")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(size: int, folder: Path) -> str:
    rng = random.Random(size)
    index = SQLiteHashIndex(folder / f"hashes-{size}.db")
    try:
        fill(index, size, rng)
        started = time.perf_counter()
        index.find_similar("prod", 0, 0, 6, "none")
        first_ms = (time.perf_counter() - started) * 1000
        times = []
        for i in range(LOOKUPS):
            entry = HashEntry(f"new-{i}.jpg", f"new-{i}", rng.getrandbits(64), rng.getrandbits(64))
            started = time.perf_counter()
            if index.find_exact("prod", entry.sha256, entry.key) is None:
                index.find_similar("prod", entry.phash, entry.dhash, 6, entry.key)
            index.add("prod", entry)
            times.append((time.perf_counter() - started) * 1000)
    finally:
        index.close()
    times.sort()
    p99 = times[int(len(times) * 0.99) - 1]
    return (
        f"| {size:>9,} | {first_ms:8.0f} | {statistics.median(times):8.2f} | {p99:8.2f} "
        f"| {peak_rss_mb():7.0f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--group", type=int, default=20000, help="entries to group (0: skip)")
    args = parser.parse_args()
    print("| entries   | load ms  | p50 ms   | p99 ms   | RSS MB  |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for size in (int(s) for s in args.sizes.split(",")):
            print(measure(size, Path(folder)), flush=True)
    if args.group:
        rng = random.Random(1)
        entries = [
            HashEntry(f"k{i}", f"s{i}", rng.getrandbits(64), rng.getrandbits(64))
            for i in range(args.group)
        ]
        started = time.perf_counter()
        duplicate_groups(entries, 6)
        print(f"\ngrouping {args.group:,} entries: {time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    main()
