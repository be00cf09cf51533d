"""The folder watcher at the kernel's limits, with real processes on real files: a lost-events
overflow of the inotify queue, the inotify watch limit (lowered inside a user namespace), a
file rewritten slowly in place, symbolic link loops."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.images import encode, jpeg, photo_like, write
from tests.polling import wait_until
from tests.processes import BETA, EVENTLENS, Runner, Server, rows

#: runs ``eventlens`` in a new user namespace whose inotify watch limit is $LIMIT (ours alone)
LOW_WATCH_LIMIT = [
    "unshare", "--user", "--map-root-user", "sh", "-c",
    'echo "$LIMIT" > /proc/sys/user/max_inotify_watches && exec "$@"', "sh",
]  # fmt: skip


def user_namespaces_lower_the_watch_limit() -> str | None:
    """None when they do here, else why not (the tests needing it are skipped)."""
    if shutil.which("unshare") is None:
        return "no unshare(1)"
    probe = subprocess.run(
        [*LOW_WATCH_LIMIT, "cat", "/proc/sys/user/max_inotify_watches"],
        capture_output=True, text=True, env={**os.environ, "LIMIT": "123"}, timeout=30,
    )  # fmt: skip
    if probe.returncode != 0 or probe.stdout.strip() != "123":
        return f"user namespaces cannot lower the watch limit here: {probe.stderr.strip()}"
    return None


needs_user_namespaces = pytest.mark.skipif(
    (why := user_namespaces_lower_the_watch_limit()) is not None, reason=str(why)
)


def runner_health(server: Server) -> dict[str, object]:
    """The one runner's health; ``state`` "starting" until it has written its first status
    file (a runner that just started is not listed yet)."""
    status, body = server.health()
    runners = body["runners"]
    if not runners:
        return {"http": status, "state": "starting"}
    (runner,) = runners
    return {"http": status, **runner}


def test_lost_inotify_events_trigger_a_reconcile_at_once_and_show_in_health(
    tmp_path: Path,
) -> None:
    """The issue's recipe: runner paused with SIGSTOP, the kernel queue overflowed by many
    writes, 20 JPEGs copied in (their events lost), SIGCONT: all 20 are recorded."""
    root = tmp_path / "bucket"
    write(root / BETA / "before.jpg", jpeg())
    with Runner(root) as runner, Server(root) as server:
        wait_until(lambda: "before.jpg" in rows(root), timeout=60)
        runner.proc.send_signal(signal.SIGSTOP)
        try:
            queue_size = int(Path("/proc/sys/fs/inotify/max_queued_events").read_text())
            # alternating writes to two hidden files: no two queued events alike, so the
            # kernel cannot merge them; hidden names are never analysed
            with (
                (root / BETA / ".noise-a").open("wb") as a,
                (root / BETA / ".noise-b").open("wb") as b,
            ):
                for _ in range(queue_size):
                    a.write(b"x")
                    a.flush()
                    b.write(b"x")
                    b.flush()
            for i in range(20):
                write(root / BETA / f"lost-{i:02d}.jpg", jpeg((i * 10, 90, 90)))
        finally:
            runner.proc.send_signal(signal.SIGCONT)
        resumed = time.monotonic()
        wanted = {f"lost-{i:02d}.jpg" for i in range(20)}
        wait_until(lambda: wanted <= set(rows(root)), timeout=60, explain=runner.text)
        caught_up_s = time.monotonic() - resumed
        runner.wait_for_log("filesystem events lost below")
        assert "Inotify queue overflowed" in runner.text()  # the cause, as watchdog logs it
        wait_until(lambda: runner_health(server).get("notices"), timeout=15)
        health = runner_health(server)
        lost = health["notices"]["events lost"]  # type: ignore[index]
        assert lost["count"] >= 1 and "inotify queue overflowed" in lost["message"]
        wait_until(lambda: runner_health(server)["state"] == "ok", timeout=15)  # caught up
        metrics = server.get("/metrics")[1].decode()
        counted = [line for line in metrics.splitlines()
                   if line.startswith("eventlens_runner_events_lost_total{")]  # fmt: skip
        assert len(counted) == 1 and float(counted[0].split()[-1]) >= 1, counted
        assert runner.stop() == 0
    assert all(rows(root)[name]["status"] == "ok" for name in wanted)
    assert caught_up_s < 30, f"{caught_up_s:.1f} s to catch up"


@needs_user_namespaces
def test_a_watch_limit_too_low_at_start_is_one_line_and_the_runner_scans_instead(
    tmp_path: Path,
) -> None:
    root = tmp_path / "big"
    for i in range(600):
        (root / BETA / f"d{i:03d}").mkdir(parents=True)
    write(root / BETA / "d000" / "before.jpg", jpeg())
    env = {"LIMIT": "500", "EVENTLENS_FALLBACK_SCAN": "1"}
    with Runner(root, env=env, prefix=LOW_WATCH_LIMIT) as runner, Server(root) as server:
        wait_until(lambda: "before.jpg" in {k.rsplit("/")[-1] for k in rows(root)}, timeout=60)
        write(root / BETA / "d599" / "deep.jpg", jpeg((0, 0, 200)))
        write(root / BETA / "new" / "newer.jpg", jpeg((0, 200, 0)))
        wait_until(
            lambda: {"d599/deep.jpg", "new/newer.jpg"} <= set(rows(root)),
            timeout=30, explain=runner.text,
        )  # fmt: skip
        wait_until(lambda: runner_health(server)["state"] == "degraded", timeout=10)
        health = runner_health(server)
        assert health["http"] == 503, health
        assert "fs.inotify.max_user_watches" in str(health["faults"])
        assert runner.proc.poll() is None
        assert runner.stop() == 0
    text = runner.text()
    assert "Traceback" not in text and "OSError" not in text, text[-3000:]
    limit_lines = [line for line in text.splitlines() if "fs.inotify.max_user_watches" in line]
    assert len(limit_lines) == 1, limit_lines
    assert "= 500" in limit_lines[0] and "602 folders to watch" in limit_lines[0]


@needs_user_namespaces
def test_folders_beyond_the_watch_limit_while_running_are_scanned_and_none_is_missed(
    tmp_path: Path,
) -> None:
    root = tmp_path / "big"
    for i in range(470):
        (root / BETA / f"d{i:03d}").mkdir(parents=True)
    env = {"LIMIT": "500", "EVENTLENS_FALLBACK_SCAN": "2"}
    with Runner(root, env=env, prefix=LOW_WATCH_LIMIT) as runner, Server(root) as server:
        wait_until(lambda: runner_health(server)["state"] == "ok", timeout=60)
        for i in range(30):  # 30 new folders, only some of which can be watched
            write(root / BETA / f"new-{i:02d}" / "x.jpg", jpeg((i * 8, 40, 40)))
        wanted = {f"new-{i:02d}/x.jpg" for i in range(30)}
        wait_until(lambda: wanted <= set(rows(root)), timeout=60, explain=runner.text)
        # the status file is rewritten every 2 s
        wait_until(lambda: runner_health(server)["state"] == "degraded", timeout=10)
        health = runner_health(server)
        assert "watching" in health["faults"], health
        assert "scanning every 2 s" in str(health["faults"])
        assert runner.stop() == 0
    text = runner.text()
    assert "Unable to watch" not in text  # watchdog's 20 warnings: said once, in our words
    assert sum("fs.inotify.max_user_watches" in line for line in text.splitlines()) == 1


def test_a_file_rewritten_slowly_in_place_gets_no_transient_error_record(tmp_path: Path) -> None:
    """A writer pausing longer than the settle time between chunks: the watcher waits for it
    to close the file, so the only record is the good one."""
    root, audit = tmp_path / "bucket", tmp_path / "audit.jsonl"
    path = write(root / BETA / "slow.jpg", jpeg())
    with Runner(root, "--audit-log", str(audit)) as runner:
        wait_until(lambda: "slow.jpg" in rows(root), timeout=60)
        data = encode(photo_like(400, 300, seed=5), "JPEG", quality=90)
        with path.open("r+b") as handle:  # in place: same inode, truncated, slowly rewritten
            handle.truncate(0)
            for start in range(0, len(data), len(data) // 4 + 1):
                handle.write(data[start : start + len(data) // 4 + 1])
                handle.flush()
                time.sleep(1.6)  # > the 1 s settle time
        digest = hashlib.sha256(data).hexdigest()
        wait_until(lambda: rows(root)["slow.jpg"]["sha256"] == digest, timeout=60,
                   explain=runner.text)  # fmt: skip
        assert runner.stop() == 0
    assert rows(root)["slow.jpg"]["status"] == "ok"
    lines = [json.loads(line) for line in audit.read_text().splitlines() if line.strip()]
    actions = [line["action"] for line in lines if line["key"] == BETA + "slow.jpg"]
    assert "failed" not in actions and actions.count("stored") == 2, actions


def test_symbolic_link_loops_are_skipped_with_a_log_line(tmp_path: Path) -> None:
    root = tmp_path / "bucket"
    folder = root / BETA
    write(folder / "good.jpg", jpeg())
    os.symlink("loop.jpg", folder / "loop.jpg")  # points at itself
    os.symlink("nowhere.jpg", folder / "dangling.jpg")
    os.symlink("..", folder / "up")  # a folder link back up: never followed
    done = subprocess.run(
        [EVENTLENS, "-v", "run", "--once", "--root", str(root)],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert set(rows(root)) == {"good.jpg"}
    assert f"skipped {BETA}loop.jpg: a symbolic link loop" in done.stderr
    assert f"skipped {BETA}dangling.jpg: a symbolic link to nothing" in done.stderr
    assert f"skipped {BETA}up/: a symbolic link to a folder (not followed)" in done.stderr
    with Runner(root) as runner:
        wait_until(lambda: "good.jpg" in rows(root), timeout=60)
        runner.wait_for_log(f"skipped {BETA}up/: a symbolic link to a folder")  # reconciled
        os.symlink("loop2.jpg", folder / "loop2.jpg")
        write(folder / "after.jpg", jpeg())
        wait_until(lambda: "after.jpg" in rows(root), timeout=60)
        runner.wait_for_log(f"skipped {BETA}loop2.jpg: a symbolic link loop")
        assert runner.stop() == 0
    assert set(rows(root)) == {"good.jpg", "after.jpg"}


def test_a_file_still_being_written_when_the_runner_starts_is_not_analysed_half_written(
    tmp_path: Path,
) -> None:
    """The reconcile at start leaves a file changed within the settle time for later (the
    watcher sees its writer close it), instead of recording half a JPEG as an error."""
    root, audit = tmp_path / "bucket", tmp_path / "audit.jsonl"
    path = root / BETA / "growing.jpg"
    path.parent.mkdir(parents=True)
    data = encode(photo_like(400, 300, seed=6), "JPEG", quality=90)
    chunk = len(data) // 40 + 1
    started, runner_up = threading.Event(), threading.Event()

    def slow_writer() -> None:
        """Keeps the file changing (pauses < the 1 s settle time) until the runner has been
        up for 3 s, so its reconcile at start finds the file half written."""
        with path.open("wb", buffering=0) as handle:
            written = handle.write(data[:chunk])
            started.set()
            for _ in range(240):
                time.sleep(0.25)
                if not runner_up.is_set():
                    os.pwrite(handle.fileno(), data[:chunk], 0)  # same bytes, a new ctime
                    continue
                written += handle.write(data[written : written + chunk])
                if written >= 13 * chunk:
                    break
            handle.write(data[written:])

    writer = threading.Thread(target=slow_writer)
    writer.start()
    started.wait(10)
    with Runner(root, "--audit-log", str(audit)) as runner:
        runner.wait_for_log("watching")
        runner_up.set()
        writer.join(30)
        digest = hashlib.sha256(data).hexdigest()
        wait_until(lambda: rows(root).get("growing.jpg", {}).get("sha256") == digest,
                   timeout=60, explain=runner.text)  # fmt: skip
        assert runner.stop() == 0
    lines = [json.loads(line) for line in audit.read_text().splitlines() if line.strip()]
    assert [line["action"] for line in lines] == ["stored"], lines
