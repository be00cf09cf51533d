"""FIFOs, sockets, devices, directories and hidden names in the bucket: skipped with a logged
reason, never opened in a way that blocks, whether found by the reconcile scan or the watcher."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest
from bench.hostile import unix_socket

from tests.images import jpeg, write
from tests.polling import wait_until
from tests.processes import BETA, EVENTLENS, Runner, rows


def special_files(folder: Path) -> dict[str, str]:
    """Creates them; name → the reason the log must give."""
    folder.mkdir(parents=True, exist_ok=True)
    expected = {"fifo.jpg": "a FIFO", "socket.jpg": "a socket"}
    os.mkfifo(folder / "fifo.jpg")
    unix_socket(folder / "socket.jpg")
    try:
        os.mknod(folder / "device.jpg", 0o600 | stat.S_IFCHR, os.makedev(1, 3))  # /dev/null
        expected["device.jpg"] = "a character device"
    except PermissionError:
        pass  # not root: FIFOs and sockets still make the point
    for name in (".photo.jpg", "..jpg"):
        write(folder / name, jpeg())
        expected[name] = "hidden file name"
    return expected


def test_scan_skips_what_is_not_a_regular_file_and_never_blocks(tmp_path: Path) -> None:
    root = tmp_path / "bucket"
    folder = root / BETA
    expected = special_files(folder)
    write(folder / "good.jpg", jpeg())
    os.mkfifo(folder / "good.jpg.metadata.json")  # a side-car that would block a plain read
    (folder / "album.jpg").mkdir()  # a directory named like an image is walked into
    write(folder / "album.jpg" / "inside.jpg", jpeg())
    done = subprocess.run(
        [EVENTLENS, "-v", "run", "--once", "--root", str(root)],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    found = rows(root)
    assert set(found) == {"good.jpg", "album.jpg/inside.jpg"}
    assert all(r["status"] == "ok" for r in found.values())
    for name, reason in expected.items():
        assert f"skipped {BETA}{name}: " in done.stderr and reason in done.stderr, name


def test_watcher_skips_special_files_and_stops_promptly_on_sigterm(tmp_path: Path) -> None:
    root = tmp_path / "bucket"
    write(root / BETA / "before.jpg", jpeg())
    with Runner(root) as runner:
        wait_until(lambda: "before.jpg" in rows(root), timeout=60)  # reconciled: now watching
        expected = special_files(root / BETA)
        write(root / BETA / "after.jpg", jpeg())
        wait_until(lambda: "after.jpg" in rows(root), timeout=60)
        for name, reason in expected.items():
            runner.wait_for_log(f"skipped {BETA}{name}: ")
            assert reason in runner.text()
        assert runner.stop() == 0
    assert set(rows(root)) == {"before.jpg", "after.jpg"}


def test_a_fifo_swapped_in_after_the_type_check_is_refused_without_blocking(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The name may change between the type check and the open: the read opens without
    blocking and checks the type of what it opened."""
    from eventlens.storage import local
    from eventlens.storage.base import ObjectUnavailable

    store = local.LocalFolderStore(tmp_path)
    os.mkfifo(tmp_path / "x.jpg")
    (tmp_path / "d.jpg").mkdir()
    monkeypatch.setattr(local, "_regular_stat", lambda key, path: None)  # the race, lost
    with pytest.raises(ObjectUnavailable, match="a FIFO"):
        store.read("x.jpg", max_bytes=1000)
    with pytest.raises(ObjectUnavailable, match="a directory"):
        store.read("d.jpg", max_bytes=1000)
