"""``db.Checkpointer``: the runner's main loop copies the write-ahead log into the database, so
that commits on the latency path need not (SQLite's own checkpoint waits for two fsyncs)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from eventlens.db import Checkpointer, connect


def _write(conn: sqlite3.Connection, rows: int) -> None:
    for i in range(rows):
        conn.execute("INSERT INTO t (x) VALUES (?)", (f"row {i} " * 200,))  # one commit each


def test_the_checkpointer_keeps_the_log_short_without_the_writers_checkpointing(
    tmp_path: Path,
) -> None:
    db = tmp_path / "x.db"
    writer = connect(db)
    writer.execute("PRAGMA wal_autocheckpoint=0")  # only the checkpointer checkpoints
    writer.execute("CREATE TABLE t (x TEXT)")
    checkpoint = Checkpointer(db, every_s=0)
    _write(writer, 100)
    assert checkpoint() >= 100  # the log held every commit's pages; now copied
    _write(writer, 3)  # the log starts afresh: a few pages, not 100 more
    assert checkpoint() <= 10
    reader = sqlite3.connect(db)
    assert reader.execute("SELECT COUNT(*) FROM t").fetchone() == (103,)
    reader.close()
    checkpoint.close()
    writer.close()


def test_a_database_that_cannot_be_opened_raises_for_the_runner_to_report(
    tmp_path: Path,
) -> None:
    checkpoint = Checkpointer(tmp_path / "a-file" / "x.db", every_s=0)
    (tmp_path / "a-file").write_text("not a folder")
    with pytest.raises((sqlite3.Error, OSError)):
        checkpoint()  # the runner makes it a health fault (tests/test_failing_disk.py)
    checkpoint.close()


def test_it_checkpoints_at_most_once_in_every_s(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    writer = connect(db)
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("CREATE TABLE t (x TEXT)")
    checkpoint = Checkpointer(db, every_s=60)
    _write(writer, 10)
    assert checkpoint() >= 10
    _write(writer, 10)
    assert checkpoint() == 0  # too soon: the log keeps its pages until the next one
    assert writer.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1] >= 10
    checkpoint.close()
    writer.close()
