from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

pytest.importorskip("pyarrow", reason="the archive extra is not installed")

from typer.testing import CliRunner

from eventlens.archive import (
    ArchiveError,
    FolderTarget,
    archive,
    iso_z,
    open_target,
    parquet_to_records,
    parse_older_than,
    restore,
)
from eventlens.cli.main import app
from eventlens.results.record import Record, Status
from eventlens.results.sqlite import SQLiteResultStore
from eventlens.routing import DEFAULT_ROUTES

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
TABLES = {r.environment: r.table for r in DEFAULT_ROUTES}


def make_record(i: int, days_old: float, env: str = "beta") -> Record:
    return Record(
        filename=f"rekognition-input/{env}/img-{i:03d}.jpg",
        environment=env,
        labels=[
            {
                "Name": "Dog" if i % 2 else "Cat",
                "Confidence": 91.23456789012345 + i,
                "Parents": [{"Name": "Animal"}, {"Name": "Pet"}],
                "Instances": [
                    {
                        "BoundingBox": {"Width": 0.5, "Height": 1 / 3, "Left": 0.1, "Top": 1e-7},
                        "Confidence": 88.0,
                    }
                ],
            },
            {"Name": "Ünïcødé ✓", "Confidence": 55.5, "Parents": [], "Instances": []},
        ],
        timestamp=iso_z(NOW - timedelta(days=days_old)),
        analysis_method="efficientnet-lite0",
        s3_bucket="bucket",
        sha256=f"{i:064x}",
        size=123_456_789_012 + i,
        width=4000 + i if i % 3 else None,
        height=3000,
        model_version="labels=efficientnet-lite0/1",
        duration_ms=12.345678901234567 * (i + 1),
        status=Status.ERROR if i % 5 == 0 else Status.OK,
        error="decode failed" if i % 5 == 0 else None,
        etag=f'"etag{i}"',
        sequencer=f"{1000 + i:016X}",
        metadata={"camera": "x100", "empty": ""},
        findings={"faces": {"FaceDetails": [{"Confidence": 99.9}]}, "text": []} if i % 4 else {},
        expires_at=1_900_000_000 + i if i % 2 else None,
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteResultStore]:
    s = SQLiteResultStore(tmp_path / "live.db", TABLES)
    yield s
    s.close()


@pytest.fixture
def populated(store: SQLiteResultStore) -> tuple[list[Record], list[Record]]:
    """12 records 100..111 days old (to archive) and 5 recent ones (to keep), plus prod."""
    old = [make_record(i, 100 + i + 0.5 * (i % 2)) for i in range(12)]
    new = [make_record(100 + i, i) for i in range(5)]
    store.put_many(old + new)
    store.put(make_record(500, 200, env="prod"))
    return old, new


def live_keys(store: SQLiteResultStore, env: str = "beta") -> set[str]:
    return {r.filename for r in store.iter_all(env)}


def test_parse_older_than() -> None:
    assert parse_older_than("90d", NOW) == NOW - timedelta(days=90)
    assert parse_older_than("12h", NOW) == NOW - timedelta(hours=12)
    assert parse_older_than("30m", NOW) == NOW - timedelta(minutes=30)
    assert parse_older_than("2w", NOW) == NOW - timedelta(weeks=2)
    assert parse_older_than("1.5d", NOW) == NOW - timedelta(hours=36)
    assert parse_older_than("2026-08-30", NOW) == datetime(2026, 8, 30, tzinfo=UTC)
    assert parse_older_than("2026-08-30T10:00:00Z", NOW) == datetime(2026, 8, 30, 10, tzinfo=UTC)
    assert parse_older_than("2026-08-30T12:00:00+02:00", NOW) == datetime(
        2026, 8, 30, 10, tzinfo=UTC
    )
    for bad in ("90", "ninety days", "90y", "2026-13-01", ""):
        with pytest.raises(ValueError):
            parse_older_than(bad, NOW)


def test_archive_then_restore_round_trips_exactly(
    tmp_path: Path, store: SQLiteResultStore, populated: tuple[list[Record], list[Record]]
) -> None:
    old, new = populated
    target = FolderTarget(tmp_path / "archive")
    report = archive(store, "beta", NOW - timedelta(days=90), target, batch_size=5)
    assert report.archived == report.deleted == 12 and report.changed_meanwhile == 0
    assert live_keys(store) == {r.filename for r in new}
    assert live_keys(store, "prod") == {"rekognition-input/prod/img-500.jpg"}  # other env kept

    files = sorted((tmp_path / "archive").rglob("*"))
    parquet = [f for f in files if f.is_file()]
    assert parquet and all(f.suffix == ".parquet" for f in parquet)  # no .partial left
    for f in parquet:
        rel = f.relative_to(tmp_path / "archive").parts
        assert rel[0] == "environment=beta" and rel[1].startswith("date=")
        assert rel[2].startswith("part-")
        # every row sits in the partition of its own day
        assert {r.timestamp[:10] for r in parquet_to_records(f.read_bytes())} == {rel[1][5:]}
    assert sum(len(parquet_to_records(f.read_bytes())) for f in parquet) == 12

    result = restore(store, "beta", target)
    assert (result.read, result.restored, result.unchanged, result.kept_newer) == (12, 12, 0, 0)
    for original in old:
        back = store.get("beta", original.filename)
        assert back == original
        assert back is not None and json.dumps(back.labels) == json.dumps(original.labels)
        assert back.duration_ms == original.duration_ms and back.size == original.size
    assert live_keys(store) == {r.filename for r in old + new}


def test_restore_is_idempotent_and_keeps_newer_live_records(
    tmp_path: Path, store: SQLiteResultStore, populated: tuple[list[Record], list[Record]]
) -> None:
    target = FolderTarget(tmp_path / "archive")
    archive(store, "beta", NOW - timedelta(days=90), target)
    # the same key was analysed again after archiving: a newer object version is live
    newer = replace(
        make_record(3, 0),
        sequencer=f"{9999:016X}",
        labels=[{"Name": "Fresh", "Confidence": 99.0, "Parents": [], "Instances": []}],
    )
    assert store.put(newer)
    first = restore(store, "beta", target)
    assert (first.restored, first.kept_newer) == (11, 1)
    second = restore(store, "beta", target)
    assert (second.restored, second.unchanged, second.kept_newer) == (0, 11, 1)
    assert store.get("beta", newer.filename) == newer
    assert store.count("beta") == 12 + 5


def test_restore_window(
    tmp_path: Path, store: SQLiteResultStore, populated: tuple[list[Record], list[Record]]
) -> None:
    old, _ = populated
    target = FolderTarget(tmp_path / "archive")
    archive(store, "beta", NOW - timedelta(days=90), target)
    since, until = NOW - timedelta(days=105), NOW - timedelta(days=102)
    result = restore(store, "beta", target, since=since, until=until)
    expected = {r.filename for r in old if iso_z(since) <= r.timestamp < iso_z(until)}
    assert 0 < len(expected) < len(old)
    assert result.restored == len(expected)
    assert {r.filename for r in store.iter_all("beta")} - {
        f"rekognition-input/beta/img-{100 + i:03d}.jpg" for i in range(5)
    } == expected


def test_crash_between_write_and_delete_loses_nothing(
    tmp_path: Path,
    store: SQLiteResultStore,
    populated: tuple[list[Record], list[Record]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, new = populated
    before = {r.filename: r for r in store.iter_all("beta")}

    def crash(*args: object, **kwargs: object) -> int:
        raise RuntimeError("power cut")

    monkeypatch.setattr(store, "delete_many", crash)
    target = FolderTarget(tmp_path / "archive")
    with pytest.raises(RuntimeError, match="power cut"):
        archive(store, "beta", NOW - timedelta(days=90), target, batch_size=5)
    assert {r.filename: r for r in store.iter_all("beta")} == before  # nothing deleted
    written = list((tmp_path / "archive").rglob("*.parquet"))
    assert written  # the first batch's files exist

    monkeypatch.undo()
    report = archive(store, "beta", NOW - timedelta(days=90), target, batch_size=5)
    assert report.deleted == 12 and live_keys(store) == {r.filename for r in new}
    # the files of the crashed run duplicate some rows; restore still leaves one record each
    result = restore(store, "beta", target)
    assert result.read > 12 and result.restored == 12 and result.unchanged == result.read - 12
    assert {r.filename: r for r in store.iter_all("beta")} == before


def test_a_failed_sqlite_batch_delete_is_rolled_back(
    store: SQLiteResultStore, populated: tuple[list[Record], list[Record]]
) -> None:
    old, _ = populated
    keys = [r.filename for r in old[:4]]
    with pytest.raises(ValueError):
        store.delete_many("beta", keys, timestamps=["x"])  # mismatched lengths: refused
    assert store.delete_many("beta", keys, timestamps=[r.timestamp for r in old[:3]] + ["x"]) == 3
    assert store.get("beta", keys[3]) is not None  # changed since read: stays


def test_verification_failure_deletes_nothing(
    tmp_path: Path, store: SQLiteResultStore, populated: tuple[list[Record], list[Record]]
) -> None:
    class LossyTarget(FolderTarget):
        """Reads back a file that lost its last row (a truncated upload, say)."""

        def read(self, path: str) -> bytes:
            from eventlens.archive import records_to_parquet

            records = parquet_to_records(super().read(path))
            return records_to_parquet(records[:-1])

    before = live_keys(store)
    with pytest.raises(ArchiveError, match="nothing of this batch was deleted"):
        archive(store, "beta", NOW - timedelta(days=90), LossyTarget(tmp_path / "a"))
    assert live_keys(store) == before


def test_nothing_to_archive(tmp_path: Path, store: SQLiteResultStore) -> None:
    store.put(make_record(1, 1))
    report = archive(store, "beta", NOW - timedelta(days=90), FolderTarget(tmp_path / "a"))
    assert (report.archived, report.files) == (0, [])
    assert restore(store, "beta", FolderTarget(tmp_path / "a")).read == 0


def test_cli_archive_and_restore(tmp_path: Path) -> None:
    root = tmp_path / "bucket"
    db = root / ".eventlens" / "eventlens.db"
    with SQLiteResultStore(db, TABLES) as s:
        assert isinstance(s, SQLiteResultStore)
        s.put_many([make_record(i, 400 + i) for i in range(3)] + [make_record(9, 0)])
    runner = CliRunner()
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        ["archive", "--env", "beta", "--older-than", "90d", "--to", str(out), "--root", str(root),
         "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["archived"] == body["deleted"] == 3 and len(body["files"]) == 3
    result = runner.invoke(
        app, ["restore", "--env", "beta", "--from", str(out), "--root", str(root), "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["restored"] == 3
    bad = runner.invoke(
        app, ["archive", "--env", "beta", "--older-than", "soon", "--to", str(out),
              "--root", str(root)],
    )  # fmt: skip
    assert bad.exit_code == 2 and "older-than" in bad.output
    assert "Parquet" in runner.invoke(app, ["archive", "--help"]).output


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_s3_target_round_trip(
    tmp_path: Path,
    store: SQLiteResultStore,
    populated: tuple[list[Record], list[Record]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("boto3")
    moto_server = pytest.importorskip("moto.server")
    import boto3

    port = _free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        for name, value in {
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
        }.items():  # fmt: skip
            monkeypatch.setenv(name, value)
        boto3.client("s3").create_bucket(Bucket="archive")
        old, new = populated
        target = open_target("s3://archive/eventlens/v1")
        report = archive(store, "beta", NOW - timedelta(days=90), target, batch_size=4)
        assert report.deleted == 12 and live_keys(store) == {r.filename for r in new}
        keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket="archive")["Contents"]]
        assert keys and all(k.startswith("eventlens/v1/environment=beta/date=") for k in keys)
        assert report.files[0].startswith("s3://archive/eventlens/v1/environment=beta/")
        result = restore(store, "beta", open_target("s3://archive/eventlens/v1"))
        assert result.restored == 12
        assert {r.filename: r for r in store.iter_all("beta")} == {r.filename: r for r in old + new}
    finally:
        server.stop()
