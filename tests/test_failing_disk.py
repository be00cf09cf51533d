"""A full disk or a read-only database: the runner says so (log, /healthz, eventlens_up),
keeps retrying, resumes by itself with nothing lost, or exits non-zero when told to give up.
Starting on a read-only database is a one-line error."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.disks import small_tmpfs
from tests.images import jpeg, write
from tests.polling import wait_until
from tests.processes import BETA, EVENTLENS, Runner, Server, db_of, rows

pytest.importorskip("uvicorn", reason="the web extra is not installed")


def chattr(flag: str, *paths: Path) -> None:
    done = subprocess.run(["chattr", flag, *map(str, paths)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"chattr {flag} does not work here (root, ext4): {done.stderr.strip()}")


def fill(folder: Path) -> Path:
    filler = folder / "filler"
    with filler.open("wb") as handle, contextlib.suppress(OSError):
        while True:
            handle.write(b"\0" * (1 << 20))
            handle.flush()
    return filler


def metric(server: Server, name: str) -> str:
    _, body = server.get("/metrics")
    return next(line for line in body.decode().splitlines() if line.startswith(name))


def test_full_disk_is_reported_retried_and_recovered_from(tmp_path: Path) -> None:
    root = tmp_path / "bucket"
    write(root / BETA / "before.jpg", jpeg())
    with small_tmpfs(tmp_path / "small") as small:
        db = small / "eventlens.db"
        with Runner(root, "--db", str(db)) as runner, Server(root, "--db", str(db)) as server:
            wait_until(lambda: server.health()[0] == 200 and server.health()[1]["runners"], 60)
            assert metric(server, "eventlens_up ") == "eventlens_up 1.0"
            filler = fill(small)
            # uploads go on until the database needs space it cannot get: commits that fit in
            # the write-ahead log's space, and checkpoints into the file's free pages, still
            # succeed on a full disk (nothing is wrong yet)
            written = 0
            while "database or disk is full" not in runner.text():
                assert written < 400, runner.text()[-2000:]
                for _ in range(10):
                    write(root / BETA / f"during-{written}.jpg", jpeg((written % 250, 100, 0)))
                    written += 1
                time.sleep(1)
            wait_until(lambda: server.health()[0] == 503, timeout=60)
            # the heartbeat still gets through (in place) and says why, rather than going stale
            _, report = server.health()
            (status,) = report["runners"]
            assert status["state"] == "degraded", report
            assert any("full" in f["error"] for f in status["faults"].values()), report
            assert metric(server, "eventlens_up ") == "eventlens_up 0.0"
            assert runner.proc.poll() is None  # still up, retrying

            filler.unlink()
            runner.wait_for_log("recovered after")
            wait_until(lambda: len(rows(root, db=db)) == 1 + written, timeout=120)  # none lost
            wait_until(lambda: server.health()[0] == 200, 60, server.health)
            assert runner.stop() == 0


def test_read_only_database_while_running_degrades_then_recovers(tmp_path: Path) -> None:
    root = tmp_path / "bucket"
    write(root / BETA / "before.jpg", jpeg())
    db = db_of(root)
    with Runner(root) as runner, Server(root) as server:
        wait_until(lambda: "before.jpg" in rows(root), timeout=60)
        chattr("+i", db, db.with_name(db.name + "-wal"))
        try:
            write(root / BETA / "during.jpg", jpeg((0, 0, 200)))
            runner.wait_for_log("failing, will retry until it works")
            wait_until(lambda: server.health()[0] == 503, timeout=60)
            _, report = server.health()
            (faults,) = [r["faults"] for r in report["runners"]]
            assert any("OperationalError" in f["error"] for f in faults.values()), report
            assert runner.proc.poll() is None
        finally:
            chattr("-i", db, db.with_name(db.name + "-wal"))
        wait_until(lambda: "during.jpg" in rows(root), timeout=60)
        wait_until(lambda: server.health()[0] == 200, 60, server.health)
        assert runner.stop() == 0


def test_a_fault_that_outlasts_give_up_after_exits_non_zero_with_one_line(
    tmp_path: Path,
) -> None:
    root = tmp_path / "bucket"
    write(root / BETA / "before.jpg", jpeg())
    db = db_of(root)
    with Runner(root, env={"EVENTLENS_GIVE_UP_AFTER": "2"}) as runner:
        wait_until(lambda: "before.jpg" in rows(root), timeout=60)
        chattr("+i", db, db.with_name(db.name + "-wal"))
        try:
            write(root / BETA / "during.jpg", jpeg((0, 0, 200)))
            assert runner.proc.wait(60) == 1
        finally:
            chattr("-i", db, db.with_name(db.name + "-wal"))
    assert "error: stopped: " in runner.text() and "Traceback" not in runner.text()


def one_line_error(command: list[str], **kwargs: object) -> str:
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, **kwargs)  # type: ignore[call-overload]
    assert done.returncode != 0, done.stdout
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    return str(lines[0])


def test_starting_on_a_read_only_database_is_a_one_line_error(tmp_path: Path) -> None:
    root = tmp_path / "bucket"
    write(root / BETA / "a.jpg", jpeg())
    assert subprocess.run([EVENTLENS, "run", "--once", "--root", str(root)]).returncode == 0
    db = db_of(root)
    chattr("+i", db)
    try:
        line = one_line_error([EVENTLENS, "run", "--once", "--root", str(root)])
    finally:
        chattr("-i", db)
    assert line.startswith("error: cannot write the database") and "readonly" in line


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="setpriv (util-linux) is missing")
def test_a_database_the_user_may_not_write_is_a_one_line_error(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to run eventlens as another user (setpriv)")
    # pytest's tmp_path is private to root: a folder of its own that others may read
    shared = Path(tempfile.mkdtemp(prefix="eventlens-ro-"))
    try:
        shared.chmod(0o755)
        root = shared / "bucket"
        write(root / BETA / "a.jpg", jpeg())
        assert subprocess.run([EVENTLENS, "run", "--once", "--root", str(root)]).returncode == 0
        for path in [root, *root.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)  # readable by all, writable by root
        _run_as_nobody(root, shared)
    finally:
        shutil.rmtree(shared, ignore_errors=True)


def _run_as_nobody(root: Path, home: Path) -> None:
    as_nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"]
    line = one_line_error(
        [*as_nobody, EVENTLENS, "run", "--once", "--root", str(root)],
        env={**os.environ, "HOME": str(home)},
    )
    assert line.startswith("error: cannot ") and "readonly" in line
