"""Upgrading a database written before the database clock (``c87b5db~1``, release 0.1.0's
ordering: a file's nanosecond mtime as its sequencer). Files dated 2100 and 1960 left
sequencers that outranked every new event; after the upgrade any new event wins: nothing is
skipped as "a newer version is stored", a replaced file gets its new sha256, a deleted one
is marked, and ``validate`` says so.

The database is ``tests/fixtures/pre_clock/eventlens.db``, made by the old code with
``tests/fixtures/pre_clock/make_fixture.py`` from the images beside it."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from tests.fixtures.pre_clock.make_fixture import FUTURE_NS, PAST_NS, PREFIX, set_mtimes
from tests.images import jpeg
from tests.processes import EVENTLENS, db_of, rows

FIXTURE = Path(__file__).parent / "fixtures" / "pre_clock"
STALE = "a newer version is stored"


def eventlens(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [EVENTLENS, "-v", *args, "--root", str(root)], capture_output=True, text=True, timeout=300
    )


def run_once(root: Path) -> str:
    done = eventlens(root, "run", "--once")
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def stored_sequencers(root: Path) -> dict[str, str]:
    with sqlite3.connect(db_of(root)) as conn:
        found = conn.execute("SELECT filename, sequencer FROM beta_results").fetchall()
    return {str(key).removeprefix(PREFIX): str(sequencer) for key, sequencer in found}


def old_bucket(tmp_path: Path) -> Path:
    """The folder and database as release 0.1.0 left them (mtimes included)."""
    root = tmp_path / "bucket"
    shutil.copytree(FIXTURE / "bucket", root)
    set_mtimes(root)
    db_of(root).parent.mkdir()
    shutil.copyfile(FIXTURE / "eventlens.db", db_of(root))
    return root


def test_the_fixture_holds_sequencers_that_outrank_the_clock() -> None:
    with sqlite3.connect(FIXTURE / "eventlens.db") as conn:
        found = dict(conn.execute("SELECT filename, sequencer FROM beta_results").fetchall())
        queued = conn.execute("SELECT event FROM intake").fetchall()
    assert found[PREFIX + "future.jpg"] == "04102444800000000000"
    assert found[PREFIX + "past.jpg"] == "-0315619200000000000"
    assert len(queued) == 1 and '"sequencer":"04102444800000000000"' in queued[0][0]


def test_upgrade_lets_every_new_event_win(tmp_path: Path) -> None:
    root = old_bucket(tmp_path)
    folder = root / PREFIX
    new_bytes = jpeg((10, 220, 10))
    (folder / "replaced.jpg").write_bytes(new_bytes)
    (folder / "deleted.jpg").unlink()

    log = run_once(root)
    assert STALE not in log, log
    stored = rows(root)
    assert stored["replaced.jpg"]["sha256"] == hashlib.sha256(new_bytes).hexdigest()
    assert stored["deleted.jpg"]["deleted_at"] is not None
    assert stored["queued.jpg"]["status"] == "ok"
    for key in ("future.jpg", "past.jpg", "replaced.jpg", "queued.jpg", "dead.jpg"):
        assert stored[key]["deleted_at"] is None and stored[key]["status"] == "ok", key
    # no stored sequencer is a pre-clock one any more
    for key, sequencer in stored_sequencers(root).items():
        assert not sequencer.startswith(("-", "04102444800")), (key, sequencer)

    missing = eventlens(root, "validate", "-e", "beta", "deleted.jpg", "--timeout", "0")
    assert missing.returncode == 1 and "deleted:" in missing.stderr, missing.stderr
    present = ["future.jpg", "past.jpg", "replaced.jpg", "queued.jpg", "dead.jpg"]
    assert eventlens(root, "validate", "-e", "beta", *present, "--timeout", "0").returncode == 0

    # a second run finds nothing to do; and a file written now with a 2100 mtime (cp -p of
    # an old file) still wins over what the first run stored
    assert STALE not in run_once(root)
    later = jpeg((220, 220, 10))
    for name, mtime_ns in (("future.jpg", FUTURE_NS), ("past.jpg", PAST_NS)):
        (folder / name).write_bytes(later)
        os.utime(folder / name, ns=(mtime_ns, mtime_ns))
    log = run_once(root)
    assert STALE not in log, log
    after = rows(root)
    assert after["future.jpg"]["sha256"] == after["past.jpg"]["sha256"]
    assert after["future.jpg"]["sha256"] == hashlib.sha256(later).hexdigest()


def test_upgrade_without_changes_stores_nothing_stale(tmp_path: Path) -> None:
    """Unchanged files after the upgrade: refreshed or unchanged, never refused."""
    root = old_bucket(tmp_path)
    before = rows(root)
    log = run_once(root)
    assert STALE not in log, log
    after = rows(root)
    for key in ("future.jpg", "past.jpg", "replaced.jpg", "deleted.jpg"):
        assert after[key]["sha256"] == before[key]["sha256"], key
        assert after[key]["deleted_at"] is None, key
    assert (root / PREFIX / "future.jpg").stat().st_mtime_ns == FUTURE_NS  # still dated 2100


def test_a_dead_letter_from_before_the_upgrade_cannot_pin_its_file(tmp_path: Path) -> None:
    """A dead letter of the old code carries the file's 2100 mtime: retried after the upgrade
    it must not rank above the events that follow it."""
    root = old_bucket(tmp_path)
    run_once(root)  # the upgrade; dead.jpg is found by the reconcile
    retried = eventlens(root, "dlq", "retry")
    assert retried.returncode == 0 and "re-queued 1 event" in retried.stdout, retried.stdout
    run_once(root)
    for key, sequencer in stored_sequencers(root).items():
        assert not sequencer.startswith(("-", "04102444800")), (key, sequencer)

    changed = jpeg((5, 5, 250))
    (root / PREFIX / "dead.jpg").write_bytes(changed)
    log = run_once(root)
    assert STALE not in log, log
    assert rows(root)["dead.jpg"]["sha256"] == hashlib.sha256(changed).hexdigest()
