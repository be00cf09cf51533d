"""A user's mistakes get a one-line error and the right exit code, and reads never write."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from importlib import metadata
from pathlib import Path

import pytest

from tests.images import jpeg, write
from tests.processes import BETA, EVENTLENS, db_of

SAMPLE = Path(__file__).parents[1] / "src" / "eventlens" / "samples" / "beta" / "tabby-cat.jpg"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [EVENTLENS, *args], capture_output=True, text=True, timeout=120,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )  # fmt: skip


def one_line(done: subprocess.CompletedProcess[str], code: int) -> str:
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == code and len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    return lines[0]


def test_a_missing_root_is_refused_unless_asked_to_create_it(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "dir"
    line = one_line(run("run", "--root", str(missing), "--once"), 2)
    assert "does not exist" in line and "--create" in line
    assert not (tmp_path / "no").exists()
    assert run("run", "--root", str(missing), "--once", "--create").returncode == 0
    assert db_of(missing).is_file()


def tables(db: Path) -> list[str]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return sorted(n for (n,) in conn.execute("SELECT name FROM sqlite_master"))


def test_reads_name_the_known_environments_and_never_write(tmp_path: Path) -> None:
    root = tmp_path / "bucket"
    line = one_line(run("results", "list", "--env", "beta", "--root", str(root)), 2)
    assert "no results database" in line and not root.exists()  # nothing created
    line = one_line(run("dlq", "list", "--root", str(root)), 2)
    assert "no database" in line and not root.exists()
    write(root / BETA / "a.jpg", jpeg())
    assert run("run", "--once", "--root", str(root)).returncode == 0
    before = (tables(db_of(root)), db_of(root).stat().st_mtime_ns)
    for command in (
        ("results", "list", "--env", "nosuchenv"),
        ("results", "search", "--env", "nosuchenv", "--label", "Cat"),
        ("results", "get", "--env", "nosuchenv", "x.jpg"),
        ("validate", "--env", "nosuchenv", "--timeout", "0", "x.jpg"),
    ):
        line = one_line(run(*command, "--root", str(root)), 2)
        assert "unknown environment 'nosuchenv'" in line and "beta, prod" in line, command
    listed = run("results", "list", "--env", "beta", "--root", str(root), "--json")
    assert listed.returncode == 0 and BETA + "a.jpg" in listed.stdout
    assert (tables(db_of(root)), db_of(root).stat().st_mtime_ns) == before


def hiding(tmp_path: Path, *modules: str) -> dict[str, str]:
    """An environment where importing ``modules`` fails as if they were not installed."""
    shims = tmp_path / "shims"
    for module in modules:
        write(shims / module / "__init__.py",
              f'raise ModuleNotFoundError("No module named {module!r}")\n'.encode())  # fmt: skip
    return {"PYTHONPATH": str(shims)}


@pytest.mark.parametrize(
    ("analyzer", "env", "hint"),
    [
        ("faces", {"EVENTLENS_MTCNN_WEIGHTS": "/nonexistent"}, "faces analyzer needs"),
        ("text", {"hide": "rapidocr_onnxruntime"}, "pip install --no-deps rapidocr"),
        ("video", {"hide": "av"}, "pip install 'eventlens[video]'"),
    ],
)
def test_an_analyzer_without_its_model_package_is_one_line_and_exit_2(
    tmp_path: Path, analyzer: str, env: dict[str, str], hint: str
) -> None:
    if "hide" in env:
        env = hiding(tmp_path, env["hide"])
    line = one_line(run("analyze", "--analyzer", analyzer, str(SAMPLE), env=env), 2)
    assert hint in line or "MTCNN" in line, line
    root = tmp_path / "bucket"
    root.mkdir()
    line = one_line(run("run", "--once", "--root", str(root), "--analyzers", analyzer, env=env), 2)
    assert hint in line or "MTCNN" in line, line


def _interpreter_start_up_seconds() -> float:
    """How long the executable's interpreter takes, on this machine now, to reach the import of
    eventlens' entry module: the slowest of three runs (the machine may be busy)."""
    python = Path(EVENTLENS).with_name("python")
    times = []
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run([str(python), "-c", "import eventlens.cli.entry"], check=True)
        times.append(time.perf_counter() - started)
    return max(times)


def test_ctrl_c_at_any_moment_of_start_up_prints_no_traceback(tmp_path: Path) -> None:
    # A SIGINT before Python has run any eventlens code (interpreter and site start-up) is
    # Python's own; from there on, through every import and the start of the run, it must be
    # quiet. The delays are counted from the measured start-up so that a busy machine (or the
    # tests' own parallel workers) does not move them all into Python's part.
    root = tmp_path / "bucket"
    root.mkdir()
    start_up = _interpreter_start_up_seconds()
    for delay in (start_up + extra for extra in (0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.6, 1.2)):
        process = subprocess.Popen(
            [EVENTLENS, "run", "--root", str(root)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        time.sleep(delay)
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=60)
        assert "Traceback" not in output and "KeyboardInterrupt" not in output, (delay, output)
        assert process.returncode in (0, 130, -signal.SIGINT), (delay, process.returncode)


def test_the_licence_is_an_spdx_expression_with_its_text_shipped() -> None:
    meta = metadata.metadata("eventlens")
    assert meta["License-Expression"] == "Apache-2.0"
    licence = Path(__file__).parents[1] / "LICENSE"
    assert "Apache License" in licence.read_text() and "Version 2.0" in licence.read_text()
