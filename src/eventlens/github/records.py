"""Read result records for the report.

TODO(rewire): once ``eventlens.results`` exists, use its reader here instead of this minimal
DynamoDB ``GetItem`` (kept deliberately small: one key, strongly consistent, Decimals kept).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

RecordReader = Callable[[str], Mapping[str, Any] | None]


def dynamodb_reader(
    table: str, *, region: str | None = None, endpoint_url: str | None = None
) -> RecordReader:
    """A reader that fetches ``{"filename": key}`` from ``table`` (None when absent)."""
    try:
        import boto3
    except ImportError as exc:  # pragma: no cover - depends on the install
        msg = "the dynamodb backend needs boto3: pip install 'eventlens[aws]'"
        raise RuntimeError(msg) from exc

    resource = boto3.resource("dynamodb", region_name=region, endpoint_url=endpoint_url)
    ddb_table = resource.Table(table)

    def read(key: str) -> Mapping[str, Any] | None:
        item = ddb_table.get_item(Key={"filename": key}, ConsistentRead=True).get("Item")
        return dict(item) if item is not None else None

    return read


def read_all(reader: RecordReader, keys: list[str]) -> list[tuple[str, Mapping[str, Any] | None]]:
    return [(key, reader(key)) for key in keys]
