"""The duplicate analyzer's hash index in DynamoDB: a few reads per image, never a scan.

One table per environment, hash key ``pk``, range key ``sk`` (both strings):

* one **image item** per key (``pk = "image#<key>"``, ``sk = "image"``) with its ``sha256``,
  ``phash``, ``dhash`` (hex) and ``first_seen``, the time its current bytes were first seen
  (kept while a re-upload has the same bytes, renewed when they change);
* exact copies are found through the sparse index ``by_sha256`` (hash ``sha256``, range
  ``first_seen``) over the image items: one query;
* near copies through **bands**: the 64-bit pHash cut into 8 bands of 8 bits, one **band item**
  per band (``pk = "band#<i>#<value>"``, ``sk = "<first_seen>#<key>"``, carrying both hashes).
  Two hashes within 7 bits of each other agree on at least one band (8 bands, at most 7 differ),
  so querying the new image's 8 band partitions finds every candidate within
  ``max_distance`` ≤ 7 bits; the candidates' hashes are then compared exactly. Each partition
  holds about 1/256 of the images (more where real hashes cluster).

Only images first seen before the one being analysed count as its originals (``sk`` and
``first_seen`` are compared to its own ``first_seen``), as in the SQLite index. Two copies
uploaded in the same instant to two concurrent Lambdas may not see each other.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any

from eventlens.aws_clients import client as make_client
from eventlens.image_hashes import HashEntry, HashMatch, hamming
from eventlens.results.base import table_for
from eventlens.results.record import utc_now_iso

BANDS = 8
BAND_BITS = 64 // BANDS
SHA256_INDEX = "by_sha256"
_IMAGE_SK = "image"
_LATEST = "~"  # sorts after every ISO timestamp: "before a key that is not indexed yet"
_BATCH = 25  # BatchWriteItem's limit


def bands(phash: int) -> list[int]:
    """The pHash's 8-bit bands, most significant first."""
    mask = (1 << BAND_BITS) - 1
    return [(phash >> (64 - BAND_BITS * (i + 1))) & mask for i in range(BANDS)]


def _band_pk(index: int, value: int) -> str:
    return f"band#{index}#{value:02x}"


def _image_pk(key: str) -> str:
    return f"image#{key}"


class DynamoDBHashIndex:
    def __init__(self, tables: Mapping[str, str], client: Any | None = None) -> None:
        """``tables`` maps environment → hash table (e.g. beta → beta_image_hashes)."""
        self.tables = dict(tables)
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = make_client("dynamodb")
        return self._client

    @staticmethod
    def check_distance(max_distance: int) -> None:
        if not 0 <= max_distance < BANDS:
            raise ValueError(
                f"the DynamoDB hash index finds near-duplicates up to {BANDS - 1} pHash bits, "
                f"not {max_distance} (EVENTLENS_DUPLICATE_MAX_DISTANCE)"
            )

    def find_exact(self, environment: str, sha256: str, exclude_key: str) -> str | None:
        before = self._first_seen(environment, exclude_key)
        pages = self.client.get_paginator("query").paginate(
            TableName=self._table(environment),
            IndexName=SHA256_INDEX,
            KeyConditionExpression="sha256 = :sha AND first_seen < :before",
            ExpressionAttributeValues={":sha": {"S": sha256}, ":before": {"S": before}},
            ProjectionExpression="filename",
        )
        for page in pages:
            for item in page.get("Items", []):
                if item["filename"]["S"] != exclude_key:
                    return str(item["filename"]["S"])
        return None

    def find_similar(
        self, environment: str, phash: int, dhash: int, max_distance: int, exclude_key: str
    ) -> HashMatch | None:
        self.check_distance(max_distance)
        before = self._first_seen(environment, exclude_key)
        best: tuple[int, str, str] | None = None  # (distance, first seen, key)
        for item in self._band_items(environment, phash, before):
            key = item["filename"]["S"]
            p_distance = hamming(phash, int(item["phash"]["S"], 16))
            if key == exclude_key or p_distance > max_distance:
                continue
            if hamming(dhash, int(item["dhash"]["S"], 16)) > 2 * max_distance:
                continue
            candidate = (p_distance, item["first_seen"]["S"], key)
            if best is None or candidate < best:
                best = candidate
        return HashMatch(best[2], best[0], False) if best else None

    def add(self, environment: str, entry: HashEntry) -> None:
        """Index a key's hashes; its ``first_seen`` is renewed only if its bytes changed."""
        table = self._table(environment)
        old = self._image(environment, entry.key)
        if old is not None and old["sha256"]["S"] == entry.sha256:
            return  # the same bytes: the items are already right
        first_seen = utc_now_iso()
        writes: list[dict[str, Any]] = []
        if old is not None:
            writes += _band_deletes(entry.key, old)
        hashes = {
            "filename": {"S": entry.key},
            "phash": {"S": f"{entry.phash:016x}"},
            "dhash": {"S": f"{entry.dhash:016x}"},
            "first_seen": {"S": first_seen},
        }
        writes.append(
            {"PutRequest": {"Item": {"pk": {"S": _image_pk(entry.key)}, "sk": {"S": _IMAGE_SK},
                                     "sha256": {"S": entry.sha256}, **hashes}}}
        )  # fmt: skip
        writes += [
            {"PutRequest": {"Item": {"pk": {"S": _band_pk(i, v)},
                                     "sk": {"S": f"{first_seen}#{entry.key}"}, **hashes}}}
            for i, v in enumerate(bands(entry.phash))
        ]  # fmt: skip
        self._write(table, writes)

    def remove(self, environment: str, key: str) -> None:
        old = self._image(environment, key)
        if old is None:
            return
        # the image item last: a retry after a partial failure still finds the bands to delete
        image = {"DeleteRequest": {"Key": {"pk": {"S": _image_pk(key)}, "sk": {"S": _IMAGE_SK}}}}
        self._write(self._table(environment), [*_band_deletes(key, old), image])

    def close(self) -> None:
        """Nothing to release (the client is shared)."""

    # -- helpers ------------------------------------------------------------------------------

    def _table(self, environment: str) -> str:
        return table_for(self.tables, environment)

    def _image(self, environment: str, key: str) -> dict[str, Any] | None:
        response = self.client.get_item(
            TableName=self._table(environment),
            Key={"pk": {"S": _image_pk(key)}, "sk": {"S": _IMAGE_SK}},
            ConsistentRead=True,
        )
        item: dict[str, Any] | None = response.get("Item")
        return item

    def _first_seen(self, environment: str, key: str) -> str:
        """Only images seen before ``key`` count as its originals (all of them for a new key)."""
        item = self._image(environment, key)
        return str(item["first_seen"]["S"]) if item else _LATEST

    def _band_items(self, environment: str, phash: int, before: str) -> Iterator[dict[str, Any]]:
        paginator = self.client.get_paginator("query")
        for index, value in enumerate(bands(phash)):
            for page in paginator.paginate(
                TableName=self._table(environment),
                KeyConditionExpression="pk = :pk AND sk < :before",
                ExpressionAttributeValues={
                    ":pk": {"S": _band_pk(index, value)}, ":before": {"S": before},
                },
            ):  # fmt: skip
                yield from page.get("Items", [])

    def _write(self, table: str, requests: list[dict[str, Any]]) -> None:
        for start in range(0, len(requests), _BATCH):
            pending: dict[str, Any] = {table: requests[start : start + _BATCH]}
            for attempt in range(8):
                response = self.client.batch_write_item(RequestItems=pending)
                pending = response.get("UnprocessedItems") or {}
                if not pending:
                    break
                time.sleep(min(2.0, 0.05 * 2**attempt))
            else:
                raise RuntimeError(f"DynamoDB left {len(pending[table])} hash writes unprocessed")


def _band_deletes(key: str, image: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Delete requests for the band items that ``image`` (a key's image item) put there."""
    seen, phash = image["first_seen"]["S"], int(image["phash"]["S"], 16)
    return [
        {"DeleteRequest": {"Key": {"pk": {"S": _band_pk(i, v)}, "sk": {"S": f"{seen}#{key}"}}}}
        for i, v in enumerate(bands(phash))
    ]


def create_hash_table(client: Any, table: str) -> None:
    """Create a hash index table (on-demand, with ``by_sha256``): for tests and emulators;
    production tables come from ``infra/terraform``."""
    client.create_table(
        TableName=table,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": name, "AttributeType": "S"}
            for name in ("pk", "sk", "sha256", "first_seen")
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": SHA256_INDEX,
                "KeySchema": [
                    {"AttributeName": "sha256", "KeyType": "HASH"},
                    {"AttributeName": "first_seen", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["filename"]},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    client.get_waiter("table_exists").wait(TableName=table)
