from __future__ import annotations

import sqlite3
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from eventlens.results.base import Query
from eventlens.results.record import Record, Status
from eventlens.results.sqlite import SQLiteResultStore

TABLES = {"beta": "beta_results", "prod": "prod_results"}


def rec(
    key: str,
    labels: list[str],
    ts: str,
    status: Status = Status.OK,
    env: str = "beta",
    sequencer: str | None = None,
) -> Record:
    return Record(
        f"rekognition-input/{env}/{key}", env, timestamp=ts, status=status,
        labels=[{"Name": n, "Confidence": 90.0 - i, "Parents": [], "Instances": []}
                for i, n in enumerate(labels)],
        error=None if status is Status.OK else "boom", sequencer=sequencer,
    )  # fmt: skip


@pytest.fixture
def store(tmp_path: Path) -> SQLiteResultStore:
    s = SQLiteResultStore(tmp_path / "r.db", TABLES)
    s.put_many([
        rec("a.jpg", ["Dog", "Animal"], "2026-01-01T00:00:00.000000Z"),
        rec("b.jpg", ["Cat", "Animal"], "2026-01-02T00:00:00.000000Z"),
        rec("sub/c.jpg", ["dog"], "2026-01-03T00:00:00.000000Z"),
        rec("d.jpg", [], "2026-01-04T00:00:00.000000Z", status=Status.ERROR),
        rec("p.jpg", ["Dog"], "2026-01-05T00:00:00.000000Z", env="prod"),
    ])  # fmt: skip
    return s


def keys(records: list[Record]) -> list[str]:
    return [r.filename.split("/", 2)[2] for r in records]


def test_round_trip_keeps_every_field(store: SQLiteResultStore) -> None:
    record = Record("rekognition-input/beta/x y+z ☕.jpg", "beta", labels=[
        {"Name": "Cup", "Confidence": 97.25, "Parents": [{"Name": "Container"}], "Instances": []}],
        sha256="ab" * 32, size=123, width=4, height=3, model_version="m/1", duration_ms=1.5,
        metadata={"owner": "ana"}, findings={"text": {"TextDetections": []}}, expires_at=99,
        etag="e", sequencer="01")  # fmt: skip
    assert store.put(record)
    assert store.get("beta", record.filename) == record


def test_queries_by_label_status_time_and_prefix(store: SQLiteResultStore) -> None:
    assert keys(store.query(Query("beta"))) == ["d.jpg", "sub/c.jpg", "b.jpg", "a.jpg"]
    assert keys(store.query(Query("beta", label="DOG"))) == ["sub/c.jpg", "a.jpg"]
    assert keys(store.query(Query("beta", label="Animal", limit=1))) == ["b.jpg"]
    assert keys(store.query(Query("beta", status=Status.ERROR))) == ["d.jpg"]
    assert keys(store.query(Query("beta", since="2026-01-02", until="2026-01-04"))) == [
        "sub/c.jpg",
        "b.jpg",
    ]
    assert keys(store.query(Query("beta", prefix="rekognition-input/beta/sub/"))) == ["sub/c.jpg"]
    assert keys(store.query(Query("prod", label="Dog"))) == ["p.jpg"]
    assert store.count("beta") == 4 and store.count("beta", Status.OK) == 3


def test_records_of_deleted_objects_leave_label_counts_and_covers(
    store: SQLiteResultStore,
) -> None:
    """The labels page and the label count match what a label search lists: records whose
    object was deleted are left out of both unless asked for."""
    b = store.get("beta", "rekognition-input/beta/b.jpg")
    assert b is not None
    store.put(replace(b, deleted_at="2026-02-01T00:00:00.000000Z"))
    summary = {s.name: s for s in store.label_summary("beta")}
    assert "Cat" not in summary  # its only record is deleted
    assert summary["Animal"].records == 1
    assert summary["Animal"].cover == "rekognition-input/beta/a.jpg"  # not the deleted b.jpg
    assert store.count_matching(Query("beta", label="Animal")) == 1
    assert len(store.query(Query("beta", label="Animal"))) == 1
    assert store.count_matching(Query("beta", label="animal", include_deleted=True)) == 2
    assert store.count_matching(Query("beta")) == 3  # a, sub/c, d: not the deleted b
    assert store.count_matching(Query("beta", status=Status.OK)) == 2
    assert store.count_matching(Query("beta", status=Status.OK, include_deleted=True)) == 3
    store.put(replace(b, deleted_at=None, sequencer="2"))  # uploaded again
    assert {s.name: s.records for s in store.label_summary("beta")}["Cat"] == 1


def test_relabelling_replaces_the_label_index(store: SQLiteResultStore) -> None:
    store.put(rec("a.jpg", ["Car"], "2026-02-01T00:00:00.000000Z"))
    assert keys(store.query(Query("beta", label="Dog"))) == ["sub/c.jpg"]
    assert keys(store.query(Query("beta", label="Car"))) == ["a.jpg"]


def test_older_sequencer_is_refused_and_unknown_environment_is_a_clear_error(
    store: SQLiteResultStore,
) -> None:
    assert store.put(rec("s.jpg", ["New"], "2026-03-01T00:00:00Z", sequencer="0B"))
    assert not store.put(rec("s.jpg", ["Old"], "2026-03-02T00:00:00Z", sequencer="0A"))
    stored = store.get("beta", "rekognition-input/beta/s.jpg")
    assert stored is not None and stored.label_names() == ["New"]
    with pytest.raises(KeyError, match="unknown environment 'dev'"):
        store.get("dev", "x")


def test_delete_and_iterate(store: SQLiteResultStore) -> None:
    assert store.delete("beta", "rekognition-input/beta/a.jpg")
    assert not store.delete("beta", "rekognition-input/beta/a.jpg")
    assert keys(store.query(Query("beta", label="Dog"))) == ["sub/c.jpg"]
    assert sorted(keys(list(store.iter_all("beta")))) == ["b.jpg", "d.jpg", "sub/c.jpg"]


def test_invalid_table_names_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="invalid table name"):
        SQLiteResultStore(tmp_path / "x.db", {"beta": 'x"; DROP TABLE y; --'})


def test_concurrent_writers_in_separate_processes_wait_instead_of_failing(tmp_path: Path) -> None:
    db = tmp_path / "busy.db"
    SQLiteResultStore(db, TABLES).close()
    script = """
import sys
from eventlens.results.record import Record
from eventlens.results.sqlite import SQLiteResultStore
store = SQLiteResultStore(sys.argv[1], {"beta": "beta_results"})
for i in range(300):
    store.put(Record(f"rekognition-input/beta/{sys.argv[2]}-{i}.jpg", "beta",
                     labels=[{"Name": "Dog", "Confidence": 90.0}]))
"""
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(db), name]) for name in ("a", "b", "c")
    ]
    assert [p.wait(120) for p in procs] == [0, 0, 0]
    store = SQLiteResultStore(db, TABLES)
    assert store.count("beta") == 900
    assert len(store.query(Query("beta", label="Dog", limit=1000))) == 900


def test_a_results_file_from_before_deleted_at_is_migrated_once_and_read_only_refuses(
    tmp_path: Path,
) -> None:
    """Files written before ``deleted_at`` existed gain the column when opened for writing;
    a read-only open never changes the file and says how to upgrade it."""
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE beta_results (filename TEXT PRIMARY KEY, timestamp TEXT NOT NULL, "
            "branch TEXT, environment TEXT NOT NULL, label_count INTEGER NOT NULL, "
            "analysis_method TEXT, s3_bucket TEXT, sha256 TEXT, size INTEGER, width INTEGER, "
            "height INTEGER, model_version TEXT, duration_ms REAL, status TEXT NOT NULL, "
            "error TEXT, etag TEXT, sequencer TEXT, expires_at INTEGER, labels TEXT NOT NULL, "
            "metadata TEXT NOT NULL, findings TEXT NOT NULL)"
        )
        conn.execute(
            "INSERT INTO beta_results (filename, timestamp, environment, label_count, status, "
            "labels, metadata, findings) VALUES ('k.jpg', '2026-01-01T00:00:00Z', 'beta', 0, "
            "'ok', '[]', '{}', '{}')"
        )
    with pytest.raises(sqlite3.OperationalError, match="older eventlens"):
        SQLiteResultStore(path, {"beta": "beta_results"}, read_only=True)
    with SQLiteResultStore(path, {"beta": "beta_results"}) as store:
        record = store.get("beta", "k.jpg")
        assert record is not None and record.deleted_at is None
        assert [r.filename for r in store.query(Query("beta"))] == ["k.jpg"]
    with SQLiteResultStore(path, {"beta": "beta_results"}, read_only=True) as store:
        assert store.get("beta", "k.jpg") is not None
