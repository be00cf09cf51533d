"""A results database with a damaged page (its schema intact, a table's page overwritten): every
command that reads it says so in one line naming the file and exits 1, as `run` does."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.images import jpeg, write
from tests.processes import BETA, EVENTLENS, db_of


def eventlens(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [EVENTLENS, *args], capture_output=True, text=True, timeout=300,
        env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip


def damage_page(db: Path, table: str) -> None:
    """Overwrite the root page of ``table`` past its header with garbage."""
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        (page,) = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,))
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    with db.open("r+b") as f:
        f.seek((page[0] - 1) * page_size + 8)
        f.write(b"\xde\xad\xbe\xef" * (page_size // 8))


@pytest.fixture(scope="module")
def damaged(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The bucket, and a label its records have (so a search reaches the damaged page)."""
    root = tmp_path_factory.mktemp("damaged") / "bucket"
    for i in range(6):
        write(root / BETA / f"img-{i}.jpg", jpeg((40 * i, 90, 200 - 30 * i)))
    done = eventlens("run", "--once", "--root", str(root))
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(db_of(root)) as conn:
        labels = {name for (name,) in conn.execute("SELECT name FROM beta_results_labels")}
    conn.close()
    assert labels, "the images got no labels"
    damage_page(db_of(root), "beta_results")
    return root, min(labels)


READS = [
    ("results", "list", "--env", "beta"),
    ("results", "list", "--env", "beta", "--json"),
    ("results", "search", "--env", "beta", "--label", "{label}"),
    ("results", "get", "--env", "beta", BETA + "img-1.jpg"),
    ("validate", "-e", "beta", "img-1.jpg", "--timeout", "0"),
]


@pytest.mark.parametrize("command", READS, ids=" ".join)
def test_a_read_of_a_damaged_database_is_one_line(
    damaged: tuple[Path, str], command: tuple[str, ...]
) -> None:
    root, label = damaged
    done = eventlens(*(arg.format(label=label) for arg in command), "--root", str(root))
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert len(lines) == 1, done.stderr
    assert str(db_of(root)) in lines[0] and "malformed" in lines[0], lines[0]


def test_run_on_a_damaged_database_is_one_line_too(damaged: tuple[Path, str]) -> None:
    root, _ = damaged
    write(root / BETA / "new.jpg", jpeg((1, 2, 3)))
    done = eventlens("run", "--once", "--root", str(root))
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert done.returncode == 1 and "Traceback" not in done.stdout + done.stderr
    assert len(errors) == 1 and "malformed" in errors[0], done.stderr
