"""Archive old records to Parquet (a folder or S3) and bring them back (extra ``archive``).

Layout: ``<target>/environment=<env>/date=<YYYY-MM-DD>/part-<uuid>.parquet``, one file per
(batch, day), Hive-style so Athena, DuckDB or pyarrow.dataset read it as a partitioned table.

Safety: a batch is deleted from the live store only after every file written for it was read
back from the target and found to hold exactly the batch's records; the delete is one
transaction on SQLite and skips any record that changed since it was read (new timestamp).
"""

from __future__ import annotations

import io
import json
import os
import re
import uuid
from abc import ABC, abstractmethod
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from eventlens.errors import Permanent
from eventlens.events.base import sequencer_newer_or_equal
from eventlens.results.base import Query, ResultStore
from eventlens.results.record import Record

FORMAT_VERSION = "1"
JSON_COLUMNS = ("labels", "metadata", "findings")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PARTITION = re.compile(r"environment=([^/]+)/date=(\d{4}-\d{2}-\d{2})/[^/]+\.parquet$")


class ArchiveError(Permanent, RuntimeError):
    """Written data did not read back as expected; nothing was deleted for that batch."""


# -- time ---------------------------------------------------------------------------------------


def parse_older_than(text: str, now: datetime | None = None) -> datetime:
    """``90d``, ``12h``, ``30m``, ``2w``, ``45s`` before ``now``, or an ISO date/time (UTC)."""
    now = now or datetime.now(UTC)
    if match := _DURATION.match(text):
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()]
        return now - timedelta(seconds=seconds)
    try:
        if len(text.strip()) == 10:
            day = date.fromisoformat(text.strip())
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"--older-than {text!r}: use a duration like 90d, 12h, 30m, 2w or an ISO date"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def iso_z(moment: datetime) -> str:
    """The records' timestamp format, so string comparison orders correctly."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# -- targets ------------------------------------------------------------------------------------


class ArchiveTarget(ABC):
    @abstractmethod
    def write(self, path: str, data: bytes) -> None: ...

    @abstractmethod
    def read(self, path: str) -> bytes: ...

    @abstractmethod
    def list(self, prefix: str) -> list[str]:
        """Relative paths below ``prefix``, sorted."""

    @abstractmethod
    def describe(self, path: str) -> str: ...


class FolderTarget(ArchiveTarget):
    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def write(self, path: str, data: bytes) -> None:
        final = self.root / path
        final.parent.mkdir(parents=True, exist_ok=True)
        partial = final.with_name(final.name + ".partial")
        with partial.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        partial.replace(final)

    def read(self, path: str) -> bytes:
        return (self.root / path).read_bytes()

    def list(self, prefix: str) -> list[str]:
        base = self.root / prefix
        if not base.is_dir():
            return []
        return sorted(p.relative_to(self.root).as_posix() for p in base.rglob("*.parquet"))

    def describe(self, path: str) -> str:
        return str(self.root / path)


class S3Target(ArchiveTarget):
    """``s3://bucket/prefix``; the endpoint follows AWS_ENDPOINT_URL (e.g. an emulator)."""

    def __init__(self, bucket: str, prefix: str = "", client: Any = None) -> None:
        if client is None:
            import boto3

            client = boto3.client("s3")
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")

    def _key(self, path: str) -> str:
        return f"{self.prefix}/{path}" if self.prefix else path

    def write(self, path: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(path), Body=data)

    def read(self, path: str) -> bytes:
        body = self.client.get_object(Bucket=self.bucket, Key=self._key(path))["Body"]
        return bytes(body.read())

    def list(self, prefix: str) -> list[str]:
        start = self._key(prefix)
        strip = len(self.prefix) + 1 if self.prefix else 0
        paths: list[str] = []
        for page in self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=start
        ):
            paths.extend(
                str(item["Key"])[strip:]
                for item in page.get("Contents", [])
                if str(item["Key"]).endswith(".parquet")
            )
        return sorted(paths)

    def describe(self, path: str) -> str:
        return f"s3://{self.bucket}/{self._key(path)}"


def open_target(spec: str, *, s3_client: Any = None) -> ArchiveTarget:
    if spec.startswith("s3://"):
        bucket, _, prefix = spec[5:].partition("/")
        if not bucket:
            raise ValueError(f"no bucket in {spec!r}")
        return S3Target(bucket, prefix, s3_client)
    return FolderTarget(spec)


# -- Parquet ------------------------------------------------------------------------------------


def _schema() -> Any:
    import pyarrow as pa

    types = {
        "label_count": pa.int64(), "size": pa.int64(), "width": pa.int64(),
        "height": pa.int64(), "expires_at": pa.int64(), "duration_ms": pa.float64(),
    }  # fmt: skip
    fields = [pa.field(name, types.get(name, pa.string())) for name in Record.__dataclass_fields__]
    return pa.schema(
        fields,
        metadata={"eventlens.format": FORMAT_VERSION, "eventlens.json": ",".join(JSON_COLUMNS)},
    )


def records_to_parquet(records: list[Record]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = _schema()
    names = list(Record.__dataclass_fields__)
    rows = []
    for record in records:  # getattr, not asdict(): no deep copy of the label lists
        row = {name: getattr(record, name) for name in names}
        row["status"] = record.status.value
        for name in JSON_COLUMNS:
            row[name] = json.dumps(row[name], separators=(",", ":"), ensure_ascii=False)
        rows.append(row)
    table = pa.Table.from_pylist(rows, schema=schema)
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue()


def parquet_to_records(data: bytes) -> list[Record]:
    import pyarrow.parquet as pq

    table = pq.read_table(io.BytesIO(data))
    records = []
    for row in table.to_pylist():
        for name in JSON_COLUMNS:
            row[name] = json.loads(row[name]) if row.get(name) is not None else None
        records.append(Record.from_dict({k: v for k, v in row.items() if v is not None}))
    return records


# -- archive / restore --------------------------------------------------------------------------


@dataclass(slots=True)
class ArchiveReport:
    environment: str
    cutoff: str
    archived: int = 0
    deleted: int = 0
    changed_meanwhile: int = 0  # written but not deleted: updated after it was read
    files: list[str] = field(default_factory=list)


def archive(
    store: ResultStore,
    environment: str,
    cutoff: datetime,
    target: ArchiveTarget,
    *,
    batch_size: int = 500,
) -> ArchiveReport:
    """Move records older than ``cutoff`` to ``target``: write, verify, then delete."""
    report = ArchiveReport(environment, iso_z(cutoff))
    seen: set[str] = set()
    while True:
        batch = store.query(Query(environment, until=report.cutoff, limit=batch_size))
        batch = [r for r in batch if r.filename not in seen]  # changed ones stay live
        if not batch:
            return report
        by_day: dict[str, list[Record]] = defaultdict(list)
        for record in batch:
            by_day[record.timestamp[:10]].append(record)
        for day, records in sorted(by_day.items()):
            path = f"environment={environment}/date={day}/part-{uuid.uuid4().hex}.parquet"
            target.write(path, records_to_parquet(records))
            back = parquet_to_records(target.read(path))
            if back != records:
                raise ArchiveError(
                    f"{target.describe(path)} read back {len(back)} rows that differ from the "
                    f"{len(records)} written; nothing of this batch was deleted"
                )
            report.files.append(target.describe(path))
        keys = [r.filename for r in batch]
        deleted = store.delete_many(environment, keys, timestamps=[r.timestamp for r in batch])
        report.archived += len(batch)
        report.deleted += deleted
        report.changed_meanwhile += len(batch) - deleted
        seen.update(keys)


@dataclass(slots=True)
class RestoreReport:
    environment: str
    files: int = 0
    read: int = 0
    restored: int = 0
    unchanged: int = 0  # already live, identical
    kept_newer: int = 0  # a newer live record exists: not overwritten


def restore(
    store: ResultStore,
    environment: str,
    target: ArchiveTarget,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> RestoreReport:
    """Put archived records back. Idempotent; never replaces a newer live record."""
    report = RestoreReport(environment)
    low = iso_z(since) if since else None
    high = iso_z(until) if until else None
    for path in target.list(f"environment={environment}/"):
        match = _PARTITION.search(path)
        if not match or match.group(1) != environment:
            continue
        day = match.group(2)
        if (low and day < low[:10]) or (high and day > high[:10]):
            continue  # whole partition outside the window
        report.files += 1
        wanted = [
            r
            for r in parquet_to_records(target.read(path))
            if not (low and r.timestamp < low) and not (high and r.timestamp >= high)
        ]
        report.read += len(wanted)
        _restore_batch(store, wanted, report)
    return report


def _restore_batch(store: ResultStore, records: list[Record], report: RestoreReport) -> None:
    todo: dict[str, Record] = {}
    for record in records:  # a key twice (an interrupted run archived it again): newest wins
        seen = todo.get(record.filename)
        if seen is None or seen.timestamp <= record.timestamp:
            todo[record.filename] = record
    report.unchanged += len(records) - len(todo)  # duplicates within one file
    writes: list[Record] = []
    for record in todo.values():
        live = store.get(record.environment, record.filename)
        if live is not None:
            if live == record:
                report.unchanged += 1
                continue
            if live.timestamp > record.timestamp or not sequencer_newer_or_equal(
                record.sequencer, live.sequencer
            ):
                report.kept_newer += 1
                continue
        writes.append(record)
    written = store.put_many(writes)  # one transaction per file where the store can
    report.restored += sum(written)
    report.kept_newer += len(written) - sum(written)  # refused by put's sequencer rule
