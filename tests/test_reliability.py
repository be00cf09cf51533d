"""Real processes on real files: kill -9 mid-run, two runners on one root, a hostile corpus."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from bench.hostile import BIG_SIDE, thumbnails_at_once, whole_hostile_set
from bench.peak_rss import run_measuring_peak_rss
from PIL import Image

from tests.polling import wait_until

EVENTLENS = str(Path(sys.executable).with_name("eventlens"))
BETA = "rekognition-input/beta/"
CACHE = Path(__file__).parents[1] / ".cache" / "hostile"  # the big PNG, made once


def make_backlog(root: Path, count: int) -> None:
    rng = np.random.default_rng(7)
    folder = root / BETA
    folder.mkdir(parents=True)
    for i in range(count):
        pixels = rng.integers(0, 256, size=(6, 8, 3), dtype=np.uint8)
        image = Image.fromarray(pixels).resize((96, 72), Image.Resampling.BILINEAR)
        image.save(folder / f"img-{i:04d}.jpg", "JPEG", quality=85)


def record_count(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=10) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM beta_results").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def statuses(db: Path) -> Counter[str]:
    with sqlite3.connect(db) as conn:
        return Counter(s for (s,) in conn.execute("SELECT status FROM beta_results"))


def audit_lines(path: Path) -> list[dict[str, object]]:
    if not path.exists():
        return []
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            lines.append(json.loads(line))
    return lines


LANES, BATCH = 2, 8


def start(root: Path, audit: Path, *extra: str) -> subprocess.Popen[bytes]:
    command = [EVENTLENS, "run", "--root", str(root), "--audit-log", str(audit),
               "--batch-size", str(BATCH), *extra]  # fmt: skip
    env = {**os.environ, "EVENTLENS_WORKERS": str(LANES)}
    with audit.with_suffix(".stderr").open("ab") as stderr:  # read when a run fails
        return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr, env=env)


@pytest.mark.slow
def test_kill_9_twice_mid_backlog_loses_nothing_and_stores_nothing_twice(tmp_path: Path) -> None:
    root, audit = tmp_path / "bucket", tmp_path / "audit.jsonl"
    db = root / ".eventlens" / "eventlens.db"
    make_backlog(root, 1000)
    for threshold in (150, 500):
        proc = start(root, audit)  # the watcher, reconciling the backlog at start
        try:
            wait_until(lambda t=threshold: record_count(db) >= t, timeout=240)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
        assert record_count(db) < 1000, "the kill came too late to test anything"
    finished = subprocess.run(
        [EVENTLENS, "run", "--once", "--root", str(root), "--audit-log", str(audit)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert finished.returncode == 0, finished.stderr
    assert statuses(db) == {"ok": 1000}
    stored = Counter(str(line["key"]) for line in audit_lines(audit) if line["action"] == "stored")
    assert max(stored.values()) == 1, [k for k, n in stored.items() if n > 1]
    # audit lines follow the commit of each batch, so a kill can drop the lines of the batch
    # each lane had just committed, never more
    assert len(stored) >= 1000 - 2 * LANES * BATCH
    assert len({line["pid"] for line in audit_lines(audit)}) == 3


@pytest.mark.slow
def test_two_runners_on_one_root_do_not_double_process(tmp_path: Path) -> None:
    root = tmp_path / "bucket"
    db = root / ".eventlens" / "eventlens.db"
    make_backlog(root, 400)
    audits = [tmp_path / "a.jsonl", tmp_path / "b.jsonl"]
    procs = [start(root, audit, "--once") for audit in audits]
    for proc, audit in zip(procs, audits, strict=True):
        assert proc.wait(300) == 0, audit.with_suffix(".stderr").read_text()[-3000:]
    assert statuses(db) == {"ok": 400}
    lines = [line for audit in audits for line in audit_lines(audit)]
    stored = Counter(str(line["key"]) for line in lines if line["action"] == "stored")
    assert len(stored) == 400 and max(stored.values()) == 1


@pytest.mark.slow
def test_hostile_corpus_gets_one_clear_record_each_and_memory_stays_bounded(
    tmp_path: Path,
) -> None:
    """All at once, with eight copies of a 346 KB PNG of 10,900 x 10,900 pixels, a JPEG
    behind 600 Exif segments, a FIFO and a socket: one record each (or a skip), <= 600 MB."""
    root = tmp_path / "bucket"
    expected = whole_hostile_set(root / BETA, CACHE)
    result = run_measuring_peak_rss([EVENTLENS, "run", "--once", "--root", str(root)], timeout=300)
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(root / ".eventlens" / "eventlens.db") as conn:
        rows = {
            key.removeprefix(BETA): (status, error, width, height)
            for key, status, error, width, height in conn.execute(
                "SELECT filename, status, error, width, height FROM beta_results"
            )
        }
    assert "escape.jpg" not in rows  # a symlink out of the root is skipped, never read
    assert set(rows) == set(expected)  # the FIFO and the socket: skipped, never opened
    for name, fragment in expected.items():
        status, error, _, _ = rows[name]
        if fragment is None:
            assert status == "ok", (name, error)
        else:
            assert status == "error" and fragment in error, (name, error)
    assert rows["exif-rotated.jpg"][2:] == (640, 480)  # original size is recorded
    assert rows["big-0.png"][2:] == (BIG_SIDE, BIG_SIDE)
    assert 20 < result.peak_mb <= 600, f"run: peak RSS {result.peak_mb:.0f} MB"
    serve_peak_mb, _, _ = thumbnails_at_once(root)
    assert serve_peak_mb <= 600, f"serve: peak RSS {serve_peak_mb:.0f} MB"
