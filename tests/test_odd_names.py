"""File names that are not valid UTF-8: analysed under a lossless escaped key (``caf\\xe9.png``
-> ``caf%E9.png``) by ``run --once`` and by a running watcher, the key leading back to the same
file for deletion and ``/thumb``; nothing else is held up."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path
from urllib.parse import quote

from tests.images import jpeg, write
from tests.polling import wait_until
from tests.processes import BETA, EVENTLENS, Runner, Server, rows


def odd(folder: Path, name: bytes) -> Path:
    """A file whose name is the bytes ``name`` (not valid UTF-8)."""
    path = Path(os.fsdecode(os.path.join(os.fsencode(folder), name)))
    return write(path, jpeg((20, 200, 40)))


def run_once(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [EVENTLENS, "-v", "run", "--once", "--root", str(root), *args],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip


def test_run_once_analyses_undecodable_names_under_escaped_keys(tmp_path: Path) -> None:
    root, audit = tmp_path / "bucket", tmp_path / "audit.jsonl"
    folder = root / BETA
    write(folder / "good.jpg", jpeg())
    odd(folder, b"caf\xe9.jpg")
    odd(folder, b"100% \xff\xfe.jpg")  # a literal % is escaped too, so the key is lossless
    odd(folder, b"dir-\xe9/inside.jpg")
    blue = write(folder / "x%E9.jpg", jpeg((0, 0, 200)))  # valid UTF-8, named like an escaped key
    odd(folder, b"x\xe9.jpg")  # ... which it would collide with: skipped, logged
    done = run_once(root, "--audit-log", str(audit))
    assert done.returncode == 0, done.stderr[-3000:]
    found = rows(root)
    assert set(found) == {
        "good.jpg", "caf%E9.jpg", "100%25 %FF%FE.jpg", "dir-%E9/inside.jpg", "x%E9.jpg",
    }  # fmt: skip
    assert all(r["status"] == "ok" for r in found.values()), found
    assert found["x%E9.jpg"]["sha256"] == hashlib.sha256(blue.read_bytes()).hexdigest()
    assert f"skipped {BETA}x%E9.jpg: its name is not UTF-8" in done.stderr
    logged = {json.loads(line)["key"] for line in audit.read_text(encoding="utf-8").splitlines()}
    assert BETA + "caf%E9.jpg" in logged

    listed = subprocess.run(
        [EVENTLENS, "results", "list", "--root", str(root), "--env", "beta", "--json"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    assert BETA + "caf%E9.jpg" in {r["filename"] for r in json.loads(listed.stdout)}

    again = run_once(root)  # every key maps back to its file: nothing to redo
    assert again.returncode == 0 and "nothing to do" in again.stdout + again.stderr, again.stderr
    os.unlink(os.path.join(os.fsencode(folder), b"caf\xe9.jpg"))
    assert run_once(root).returncode == 0
    after = rows(root)
    assert after["caf%E9.jpg"]["deleted_at"] is not None
    assert after["100%25 %FF%FE.jpg"]["deleted_at"] is None


def test_a_running_watcher_analyses_an_undecodable_name_and_goes_on(tmp_path: Path) -> None:
    root = tmp_path / "bucket"
    write(root / BETA / "before.jpg", jpeg())
    with Runner(root) as runner:
        wait_until(lambda: "before.jpg" in rows(root), timeout=60)
        odd(root / BETA, b"caf\xe9.jpg")
        wait_until(lambda: "caf%E9.jpg" in rows(root), timeout=60, explain=runner.text)
        write(root / BETA / "after.jpg", jpeg())
        wait_until(lambda: "after.jpg" in rows(root), timeout=60, explain=runner.text)
        assert runner.proc.poll() is None
        with Server(root) as server:
            status, body = server.get(f"/thumb?key={quote(BETA + 'caf%E9.jpg', safe='')}")
            assert status == 200 and body[:2] == b"\xff\xd8", status
            health_status, health = server.health()
            assert health_status == 200 and health["status"] == "ok", health
        assert runner.stop() == 0
    assert {r["status"] for r in rows(root).values()} == {"ok"}


def test_a_bucket_folder_whose_own_path_is_not_utf8_works(tmp_path: Path) -> None:
    root = Path(os.fsdecode(os.path.join(os.fsencode(tmp_path), b"bucket-\xe9")))
    write(root / BETA / "good.jpg", jpeg())
    odd(root / BETA, b"caf\xe9.jpg")
    done = run_once(root)
    assert done.returncode == 0, done.stderr[-3000:]
    assert {name: r["status"] for name, r in rows(root).items()} == {
        "good.jpg": "ok", "caf%E9.jpg": "ok",
    }  # fmt: skip
    with Server(root) as server:
        assert server.get("/")[0] == 200
        status, body = server.get(f"/thumb?key={quote(BETA + 'caf%E9.jpg', safe='')}")
        assert status == 200 and body[:2] == b"\xff\xd8", status
