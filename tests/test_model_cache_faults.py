"""A broken model cache: on a read-only or full filesystem `run` says which file it cannot
write and why, in one line, and exits 2; a cached model that is truncated, fails to load, or
was cached without its digest file is converted again and the run goes on."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

from tests.disks import small_tmpfs
from tests.images import jpeg, write
from tests.processes import BETA, EVENTLENS, rows


def run_once(root: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        # the classifier alone: its detectors' sources are not in a fresh cache
        [EVENTLENS, "run", "--once", "--root", str(root), "--label-model", "lite0"],
        env={**os.environ, "EVENTLENS_CACHE_DIR": str(cache)},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def bucket(tmp_path: Path) -> Path:
    root = tmp_path / "bucket"
    write(root / BETA / "red.jpg", jpeg((200, 30, 30)))
    write(root / BETA / "blue.jpg", jpeg((30, 30, 200)))
    return root


def label_model(cache: Path) -> Path:
    (model,) = cache.glob("efficientnet-lite0-*.onnx")
    return model


def assert_one_line_error(done: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def assert_analysed(root: Path, done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 0, done.stdout + done.stderr
    stored = rows(root)
    assert set(stored) == {"red.jpg", "blue.jpg"}, stored
    assert {r["status"] for r in stored.values()} == {"ok"}, stored


def assert_intact(model: Path) -> None:
    digest = json.loads(model.with_name(model.name + ".digest.json").read_text())
    data = model.read_bytes()
    assert digest == {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def test_read_only_cache_is_one_line_naming_the_file(tmp_path: Path) -> None:
    root = bucket(tmp_path)
    with small_tmpfs(tmp_path / "cache", "5m", read_only=True) as cache:
        done = run_once(root, cache)
    assert_one_line_error(done, str(cache), "efficientnet-lite0", "Read-only file system")
    assert "EVENTLENS_CACHE_DIR" in done.stderr


def test_full_cache_is_one_line_naming_the_file(tmp_path: Path) -> None:
    root = bucket(tmp_path)
    with small_tmpfs(tmp_path / "cache", "2m") as cache:
        done = run_once(root, cache)
        leftovers = list(cache.iterdir())
    assert_one_line_error(done, str(cache), "No space left on device")
    assert leftovers == []  # the partial temporary file is removed


def test_truncated_cached_model_is_converted_again(tmp_path: Path) -> None:
    root, cache = bucket(tmp_path), tmp_path / "cache"
    built = subprocess.run(
        [EVENTLENS, "models", "build", "--label-model", "lite0"],
        env={**os.environ, "EVENTLENS_CACHE_DIR": str(cache)},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    model = label_model(cache)
    whole = model.read_bytes()
    assert_intact(model)
    with model.open("r+b") as f:
        f.truncate(len(whole) // 3)

    done = run_once(root, cache)
    assert_analysed(root, done)
    assert "does not match its digest file: converting again" in done.stderr
    assert model.read_bytes() == whole
    assert_intact(model)


def test_cached_model_that_does_not_load_is_converted_again_once(tmp_path: Path) -> None:
    """Bytes that match their digest file but are no model (written by a broken converter,
    say): the load fails, the model is converted once more and loads."""
    root, cache = bucket(tmp_path), tmp_path / "cache"
    assert_analysed(root, run_once(root, cache))
    model = label_model(cache)
    whole = model.read_bytes()
    garbage = os.urandom(5000)
    model.write_bytes(garbage)
    fingerprint = {"size": len(garbage), "sha256": hashlib.sha256(garbage).hexdigest()}
    model.with_name(model.name + ".digest.json").write_text(json.dumps(fingerprint))
    (root / ".eventlens").rename(tmp_path / "first-db")

    done = run_once(root, cache)
    assert_analysed(root, done)
    assert done.stderr.count("does not load: converting it again") == 1, done.stderr
    assert model.read_bytes() == whole
    assert_intact(model)


def test_model_cached_without_a_digest_file_is_converted_again(tmp_path: Path) -> None:
    """A cache written by a version before digest files: verified by converting once."""
    root, cache = bucket(tmp_path), tmp_path / "cache"
    assert_analysed(root, run_once(root, cache))
    model = label_model(cache)
    model.with_name(model.name + ".digest.json").unlink()
    with model.open("r+b") as f:
        f.truncate(1000)
    (root / ".eventlens").rename(tmp_path / "first-db")

    done = run_once(root, cache)
    assert_analysed(root, done)
    assert_intact(model)


def test_read_only_cache_from_before_digest_files_is_used_as_it_is(tmp_path: Path) -> None:
    """A read-only cache filled by an older version (no digest files): it cannot be verified
    by converting again, so its models are used as they are, as before."""
    root = bucket(tmp_path)
    with small_tmpfs(tmp_path / "cache", "40m") as cache:
        assert_analysed(root, run_once(root, cache))
        for digest in cache.glob("*.onnx.digest.json"):
            digest.unlink()
        remounted = subprocess.run(["mount", "-o", "remount,ro", str(cache)], capture_output=True)
        assert remounted.returncode == 0, remounted.stderr
        (root / ".eventlens").rename(tmp_path / "first-db")
        done = run_once(root, cache)
        assert not list(cache.glob("*.onnx.digest.json"))
    assert_analysed(root, done)
    assert "using" in done.stderr and "unverified" in done.stderr, done.stderr
