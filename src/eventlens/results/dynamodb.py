"""DynamoDB results store: one table per environment, hash key ``filename``.

Items hold the same fields as the SQLite store, as native DynamoDB types: numbers (``N``, read
back as ``Decimal`` by boto3's resource API), ``labels``/``findings`` as lists and maps,
``metadata`` as a map of strings. Two derived attributes support ordering and expiry:

* ``sequencer_sort`` — the S3 sequencer without leading zeros, upper-cased and left-padded with
  ``0`` to 32 characters, so that a plain string comparison orders sequencers of different
  lengths correctly. Every put is conditional on it (``attribute_not_exists(filename) OR
  attribute_not_exists(sequencer_sort) OR sequencer_sort <= :new``): duplicate and out-of-order
  deliveries leave the record of the newest object version, whatever order they arrive in.
* ``expires_at`` — epoch seconds, only when a TTL is configured; enable TTL on that attribute.

``query`` (newest first, with label, status, time and prefix filters) reads the
``by_time`` global secondary index (hash ``environment``, range ``timestamp``, all attributes
projected) newest first and stops once it has ``limit`` matches: a dashboard page or a recent
search reads a few pages, not the table. A table without that index (one made before it
existed, or by hand) falls back to a Scan. ``count`` and ``iter_all`` are Scans: they read the
whole table (about one read unit per 8 KB, eventually consistent), paginated.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import Any, TypeVar

from eventlens.aws_clients import client as make_client
from eventlens.aws_clients import error_code
from eventlens.results.base import Order, Query, ResultStore, sort_value, table_for
from eventlens.results.dynamodb_values import deserialize, serialize
from eventlens.results.record import Record, Status
from eventlens.results.stats import Granularity, Stats, stats_from_records

SEQUENCER_WIDTH = 32
TIME_INDEX = "by_time"
T = TypeVar("T")
_INT_FIELDS = ("label_count", "size", "width", "height", "expires_at")
_FLOAT_FIELDS = ("duration_ms",)
_DERIVED = ("sequencer_sort",)


def sequencer_sort_key(sequencer: str) -> str:
    """A fixed-width, string-comparable form of an S3 (hex) or local (decimal) sequencer."""
    digits = sequencer.strip().upper().lstrip("0") or "0"
    if len(digits) > SEQUENCER_WIDTH:
        raise ValueError(f"sequencer {sequencer!r} is longer than {SEQUENCER_WIDTH} characters")
    return digits.rjust(SEQUENCER_WIDTH, "0")


def to_dynamodb(value: Any) -> Any:
    """Python → what ``dynamodb_values.serialize`` (as boto3's TypeSerializer) accepts: floats
    become Decimal (non-finite: None)."""
    if isinstance(value, bool) or value is None or isinstance(value, str | int | Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value)) if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): to_dynamodb(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_dynamodb(v) for v in value]
    return str(value)


def from_dynamodb(value: Any) -> Any:
    """Decimal → int when integral, else float; recursively."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Mapping):
        return {k: from_dynamodb(v) for k, v in value.items()}
    if isinstance(value, list | set | tuple):
        return [from_dynamodb(v) for v in value]
    return value


def record_to_item(record: Record) -> dict[str, Any]:
    """A record as a DynamoDB item (Python values; ``None`` fields are left out)."""
    item = {k: to_dynamodb(v) for k, v in record.to_dict().items() if v is not None}
    if record.sequencer:
        item["sequencer_sort"] = sequencer_sort_key(record.sequencer)
    return item


def item_to_record(item: Mapping[str, Any]) -> Record:
    data = {k: from_dynamodb(v) for k, v in item.items() if k not in _DERIVED}
    for name in _FLOAT_FIELDS:
        if name in data:
            data[name] = float(data[name])
    for name in _INT_FIELDS:
        if data.get(name) is not None:
            data[name] = int(data[name])
    for label in data.get("labels", []):
        if isinstance(label, dict) and "Confidence" in label:
            label["Confidence"] = float(label["Confidence"])
    return Record.from_dict(data)


class DynamoDBResultStore(ResultStore):
    def __init__(
        self,
        tables: Mapping[str, str],
        client: Any | None = None,
        *,
        page_size: int | None = None,
        time_index: str | None = TIME_INDEX,
    ) -> None:
        """``tables`` maps environment → table name (e.g. beta → beta_results); ``page_size``
        caps the items per page (default: DynamoDB's 1 MB pages); ``time_index`` names the
        environment + timestamp index that ``query`` reads (None: always Scan)."""
        if not tables:
            raise ValueError("at least one environment → table mapping is required")
        self.tables = dict(tables)
        self._client = client
        self.page_size = page_size
        self.time_index = time_index
        self._tables_without_index: set[str] = set()

    @property
    def client(self) -> Any:
        self.connect()
        return self._client

    def connect(self) -> None:
        if self._client is None:
            self._client = make_client("dynamodb")

    def _table(self, environment: str) -> str:
        return table_for(self.tables, environment)

    def _dump(self, item: Mapping[str, Any]) -> dict[str, Any]:
        return {k: serialize(v) for k, v in item.items()}

    def _load(self, item: Mapping[str, Any]) -> Record:
        return item_to_record({k: deserialize(v) for k, v in item.items()})

    def get(self, environment: str, key: str) -> Record | None:
        response = self.client.get_item(
            TableName=self._table(environment), Key={"filename": {"S": key}}, ConsistentRead=True
        )
        item = response.get("Item")
        return self._load(item) if item else None

    def put(self, record: Record) -> bool:
        """Conditional put; False when a newer object version's record is already stored.
        (``put_many`` stays one put each: BatchWriteItem cannot carry conditions.)"""
        item = record_to_item(record)
        request: dict[str, Any] = {
            "TableName": self._table(record.environment),
            "Item": self._dump(item),
        }
        if "sequencer_sort" in item:
            request["ConditionExpression"] = (
                "attribute_not_exists(filename) OR attribute_not_exists(sequencer_sort) "
                "OR sequencer_sort <= :new"
            )
            request["ExpressionAttributeValues"] = {":new": {"S": item["sequencer_sort"]}}
        try:
            self.client.put_item(**request)
        except Exception as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def delete(self, environment: str, key: str) -> bool:
        response = self.client.delete_item(
            TableName=self._table(environment),
            Key={"filename": {"S": key}},
            ReturnValues="ALL_OLD",
        )
        return bool(response.get("Attributes"))

    def _scan(
        self, environment: str, query: Query | None = None, *, select_count: bool = False
    ) -> Iterator[dict[str, Any]]:
        request: dict[str, Any] = {"TableName": self._table(environment)}
        filters, names, values = _filters(query)
        if filters:
            request["FilterExpression"] = " AND ".join(filters)
            request["ExpressionAttributeNames"] = names
            if values:  # DynamoDB refuses an empty map
                request["ExpressionAttributeValues"] = values
        if select_count:
            request["Select"] = "COUNT"
        if self.page_size:
            request["Limit"] = self.page_size
        paginator = self.client.get_paginator("scan")
        yield from paginator.paginate(**request)

    def query(self, query: Query) -> list[Record]:
        """Newest first (ties: the larger filename first; oldest first when ``ascending``),
        after ``query.after``; labels and findings (``Query.findings``) match
        case-insensitively, as in the SQLite store. Capture-time order has no index: it
        Scans."""
        table = self._table(query.environment)
        if query.order is not Order.PROCESSED:
            return self._query_by_scan(query)
        return self._via_index(
            table, lambda: self._query_by_time(query, table), lambda: self._query_by_scan(query)
        )

    def _via_index(self, table: str, read: Callable[[], T], fallback: Callable[[], T]) -> T:
        """``read()`` through the time index, or ``fallback()`` where the table has none
        (remembered, so such a table costs one failed request, not one per call)."""
        if self.time_index and table not in self._tables_without_index:
            try:
                return read()
            except Exception as exc:
                if not _missing_index(exc):
                    raise
                self._tables_without_index.add(table)
        return fallback()

    def _query_by_scan(self, query: Query) -> list[Record]:
        found = [
            r for page in self._scan(query.environment, query) for r in self._matching(page, query)
        ]
        return _in_order(found, query)

    def _query_by_time(self, query: Query, table: str) -> list[Record]:
        found: list[Record] = []
        for page in self._index_pages(query, table):
            found.extend(self._matching(page, query))
            # later pages lie beyond where this one stopped; read on only while they could
            # still tie with the limit-th match (the index orders by timestamp alone)
            resume = page.get("LastEvaluatedKey", {}).get("timestamp", {}).get("S")
            if len(found) >= query.limit and resume:
                last = _in_order(found, query)[-1].timestamp
                if (resume > last) if query.ascending else (resume < last):
                    break
        return _in_order(found, query)

    def _index_pages(self, query: Query, table: str) -> Iterator[dict[str, Any]]:
        """Pages of the time index, newest first, within the query's window and filters."""
        names = {"#env": "environment"}
        values: dict[str, Any] = {":env": {"S": query.environment}}
        key = "#env = :env"
        low, high = _index_range(query)
        if low or high:  # a Query filter may not name the index's keys
            names["#ts"] = "timestamp"
            values.update({f":{k}": {"S": v} for k, v in (("low", low), ("high", high)) if v})
            if low and high:
                key += " AND #ts BETWEEN :low AND :high"  # inclusive: ends dropped in _matching
            else:
                key += " AND #ts >= :low" if low else " AND #ts <= :high"
        filters, filter_names, filter_values = _filters(query, time=False)
        request: dict[str, Any] = {
            "TableName": table,
            "IndexName": self.time_index,
            "KeyConditionExpression": key,
            "ScanIndexForward": query.ascending,
            "ExpressionAttributeNames": {**names, **filter_names},
            "ExpressionAttributeValues": {**values, **filter_values},
        }
        if filters:
            request["FilterExpression"] = " AND ".join(filters)
        if self.page_size:
            request["Limit"] = self.page_size
        yield from self.client.get_paginator("query").paginate(**request)

    def _matching(self, page: Mapping[str, Any], query: Query) -> Iterator[Record]:
        """The page's records that pass every filter (exclusive ends and the cursor too)."""
        for item in page.get("Items", []):
            record = self._load(item)
            if query.accepts(record):
                yield record

    def stats(
        self,
        environment: str,
        *,
        since: str | None = None,
        until: str | None = None,
        granularity: Granularity = Granularity.AUTO,
        top: int = 10,
    ) -> Stats:
        """Aggregated here from the records: those of the window only, read from the time
        index, when ``since`` or ``until`` is given and the index exists; else all of them."""
        everything = super().stats
        if not (since or until):
            return everything(environment, granularity=granularity, top=top)
        table = self._table(environment)
        window = Query(environment, since=since, until=until, include_deleted=True)

        def from_index() -> Stats:
            records = (r for page in self._index_pages(window, table)
                       for r in self._matching(page, window))  # fmt: skip
            return stats_from_records(
                environment, records, since=since, until=until, granularity=granularity, top=top
            )

        return self._via_index(
            table,
            from_index,
            lambda: everything(
                environment, since=since, until=until, granularity=granularity, top=top
            ),
        )

    def iter_all(self, environment: str) -> Iterator[Record]:
        """Every record, in DynamoDB's (hash) order, one page at a time."""
        for page in self._scan(environment):
            for item in page.get("Items", []):
                yield self._load(item)

    def count(self, environment: str, status: Status | None = None) -> int:
        query = Query(environment, status=status) if status else None
        return sum(
            int(p.get("Count", 0)) for p in self._scan(environment, query, select_count=True)
        )


def _in_order(records: list[Record], query: Query) -> list[Record]:
    """The first ``query.limit`` of ``records`` in the query's order and direction."""
    records.sort(key=lambda r: (sort_value(r, query.order), r.filename))
    if not query.ascending:
        records.reverse()
    return records[: query.limit]


def _index_range(query: Query) -> tuple[str | None, str | None]:
    """Inclusive bounds on the time index from the window and the cursor (``until`` and the
    cursor's own position are excluded when the records are matched)."""
    low, high = query.since, query.until
    if query.after is not None:
        if query.ascending:
            low = max(low or "", query.after.value)
        else:
            high = min(high, query.after.value) if high else query.after.value
    return low or None, high


def _missing_index(exc: Exception) -> bool:
    """DynamoDB answers ValidationException ("The table does not have the specified index"),
    moto ResourceNotFoundException ("Invalid index")."""
    code = error_code(exc)
    return code in ("ValidationException", "ResourceNotFoundException") and "index" in str(exc)


def _filters(
    query: Query | None, *, time: bool = True
) -> tuple[list[str], dict[str, str], dict[str, Any]]:
    filters: list[str] = []
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    if query is None:
        return filters, names, values
    if query.status:
        filters.append("#status = :status")
        names["#status"] = "status"
        values[":status"] = {"S": Status(query.status).value}
    if time and query.since:
        filters.append("#ts >= :since")
        names["#ts"] = "timestamp"
        values[":since"] = {"S": query.since}
    if time and query.until:
        filters.append("#ts < :until")
        names["#ts"] = "timestamp"
        values[":until"] = {"S": query.until}
    if query.prefix:
        filters.append("begins_with(#fn, :prefix)")
        names["#fn"] = "filename"
        values[":prefix"] = {"S": query.prefix}
    if not query.include_deleted:  # records of deleted objects: an S3 ObjectRemoved event
        filters.append("attribute_not_exists(#deleted)")
        names["#deleted"] = "deleted_at"
    return filters, names, values


def create_table(client: Any, table: str, *, ttl: bool = True, time_index: bool = True) -> None:
    """Create a results table (on-demand billing, with the ``by_time`` index unless
    ``time_index`` is False) and enable TTL on ``expires_at``. For tests, local emulators and
    quick starts; production tables belong in infrastructure code (``infra/terraform``)."""
    attributes = [{"AttributeName": "filename", "AttributeType": "S"}]
    extra: dict[str, Any] = {}
    if time_index:
        attributes += [
            {"AttributeName": "environment", "AttributeType": "S"},
            {"AttributeName": "timestamp", "AttributeType": "S"},
        ]
        extra["GlobalSecondaryIndexes"] = [
            {
                "IndexName": TIME_INDEX,
                "KeySchema": [
                    {"AttributeName": "environment", "KeyType": "HASH"},
                    {"AttributeName": "timestamp", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ]
    client.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "filename", "KeyType": "HASH"}],
        AttributeDefinitions=attributes,
        BillingMode="PAY_PER_REQUEST",
        **extra,
    )
    client.get_waiter("table_exists").wait(TableName=table)
    if ttl:
        client.update_time_to_live(
            TableName=table,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"},
        )
