"""A file whose bytes changed is always analysed again, however its mtime was set; a file that
was deleted or renamed away leaves a record marked deleted, not a current one."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

from tests.images import encode, solid, write
from tests.polling import wait_until
from tests.processes import BETA, EVENTLENS, Runner, rows


def bmp(colour: tuple[int, int, int]) -> bytes:
    """BMPs of one size have one byte length, whatever their colours."""
    return encode(solid(64, 48, colour), "BMP")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}  # tables unwrapped
    return subprocess.run([EVENTLENS, *args], capture_output=True, text=True, timeout=120, env=env)


def replace_keeping_mtime(path: Path, data: bytes) -> None:
    """Same size, same inode, mtime set back: only ctime tells the bytes changed."""
    before = path.stat()
    with path.open("r+b") as handle:
        handle.write(data)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def replacements(root: Path, spare: Path) -> dict[str, bytes]:
    """Replace three stored files the ways that fooled an mtime sequencer; name → new bytes."""
    folder = root / BETA
    old = write(spare / "old.bmp", bmp((0, 0, 200)))
    os.utime(old, (1_000_000_000, 1_000_000_000))  # 2001: older than anything stored
    subprocess.run(["cp", "-p", str(old), str(folder / "copied.bmp")], check=True)
    moved = spare / "moved.bmp"
    subprocess.run(["cp", "-p", str(old), str(moved)], check=True)
    subprocess.run(["mv", str(moved), str(folder / "moved-over.bmp")], check=True)
    same_size = bmp((0, 200, 0))
    replace_keeping_mtime(folder / "same-size.bmp", same_size)
    return {"copied.bmp": old.read_bytes(), "moved-over.bmp": old.read_bytes(),
            "same-size.bmp": same_size}  # fmt: skip


def originals(root: Path) -> None:
    for name in ("copied.bmp", "moved-over.bmp", "same-size.bmp"):
        write(root / BETA / name, bmp((200, 0, 0)))


def test_replaced_files_are_reanalysed_while_watching_and_after_a_restart(
    tmp_path: Path,
) -> None:
    root, spare = tmp_path / "bucket", tmp_path / "elsewhere"
    originals(root)
    with Runner(root) as runner:
        wait_until(lambda: len(rows(root)) == 3, timeout=60)
        changed = replacements(root, spare)
        wait_until(lambda: all(rows(root)[n]["sha256"] == sha(d) for n, d in changed.items()), 60)
        assert runner.stop() == 0
    # the same while the runner is down: a restart must notice
    originals(root)
    assert cli("run", "--once", "--root", str(root)).returncode == 0
    assert all(rows(root)[n]["sha256"] == sha(bmp((200, 0, 0))) for n in changed)
    changed = replacements(root, spare)
    done = cli("run", "--once", "--root", str(root))
    assert done.returncode == 0, done.stderr
    assert all(rows(root)[n]["sha256"] == sha(d) for n, d in changed.items())


def test_deleted_and_renamed_away_files_leave_records_marked_deleted(tmp_path: Path) -> None:
    root = tmp_path / "bucket"
    folder = root / BETA
    for name in ("deleted.bmp", "renamed.bmp", "moved-out.bmp", "kept.bmp", "while-down.bmp"):
        write(folder / name, bmp((200, 0, 0)))
    with Runner(root) as runner:
        wait_until(lambda: len(rows(root)) == 5, timeout=60)
        (folder / "deleted.bmp").unlink()
        (folder / "renamed.bmp").rename(folder / "new-name.bmp")
        (folder / "moved-out.bmp").rename(tmp_path / "moved-out.bmp")
        gone = {"deleted.bmp", "renamed.bmp", "moved-out.bmp"}
        wait_until(
            lambda: all(rows(root)[n]["deleted_at"] for n in gone) and "new-name.bmp" in rows(root),
            timeout=60,
        )
        assert runner.stop() == 0
    (folder / "while-down.bmp").unlink()
    assert cli("run", "--once", "--root", str(root)).returncode == 0
    gone.add("while-down.bmp")
    assert {n for n, r in rows(root).items() if r["deleted_at"]} == gone

    listed = cli("results", "list", "--env", "beta", "--root", str(root), "--json")
    assert {r["filename"].removeprefix(BETA) for r in json.loads(listed.stdout)} == {
        "kept.bmp",
        "new-name.bmp",
    }
    everything = cli(
        "results", "list", "--env", "beta", "--root", str(root), "--json", "--include-deleted"
    )
    deleted = {
        r["filename"].removeprefix(BETA) for r in json.loads(everything.stdout) if r["deleted_at"]
    }
    assert deleted == gone
    table = cli("results", "list", "--env", "beta", "--root", str(root), "--include-deleted")
    assert table.stdout.count("(deleted)") == len(gone)
    checked = cli("validate", "--env", "beta", "--root", str(root), "--timeout", "0",
                  "deleted.bmp", "kept.bmp")  # fmt: skip
    assert checked.returncode == 1 and f"deleted: {BETA}deleted.bmp" in checked.stderr

    write(folder / "deleted.bmp", bmp((200, 0, 0)))  # the same bytes, uploaded again
    assert cli("run", "--once", "--root", str(root)).returncode == 0
    assert rows(root)["deleted.bmp"]["deleted_at"] is None
