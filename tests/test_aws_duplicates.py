"""Near-duplicates on AWS: the DynamoDB hash index (moto over HTTP) answers as the SQLite one
does, in a few reads per image, and the handler writes ``findings.duplicates``."""

from __future__ import annotations

import random
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from eventlens.analyzers import registry
from eventlens.aws import handler as lambda_handler
from eventlens.image_hashes import HashEntry
from eventlens.results.dynamodb import DynamoDBResultStore
from eventlens.results.dynamodb_hashes import BANDS, DynamoDBHashIndex, bands, create_hash_table
from eventlens.results.hash_index import SQLiteHashIndex
from tests.conftest import DominantColourAnalyzer
from tests.images import encode

if TYPE_CHECKING:
    from tests.aws_fixtures import Stack

pytest_plugins = ["tests.aws_fixtures"]

BETA = "rekognition-input/beta/"


class CountingClient:
    """A boto3 DynamoDB client that counts requests and the items that queries return."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.calls: Counter[str] = Counter()
        self.items_read = 0

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)
        if name == "get_paginator":
            return lambda op: _CountingPaginator(self, method(op), op)

        def call(**kwargs: Any) -> Any:
            self.calls[name] += 1
            return method(**kwargs)

        return call


class _CountingPaginator:
    def __init__(self, owner: CountingClient, paginator: Any, operation: str) -> None:
        self.owner, self.paginator, self.operation = owner, paginator, operation

    def paginate(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        for page in self.paginator.paginate(**kwargs):
            self.owner.calls[self.operation] += 1
            self.owner.items_read += len(page.get("Items", []))
            yield page


@pytest.fixture
def hash_table(stack: Stack) -> str:
    table = f"beta_image_hashes_{uuid.uuid4().hex[:8]}"
    create_hash_table(stack.dynamodb, table)
    return table


def flip(value: int, bits: list[int]) -> int:
    for bit in bits:
        value ^= 1 << bit
    return value


def test_bands_split_the_hash_so_close_hashes_share_one() -> None:
    value = 0x0123456789ABCDEF
    assert bands(value) == [0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF]
    rng = random.Random(7)
    for _ in range(200):  # any 7 flipped bits leave at least one of the 8 bands equal
        near = flip(value, rng.sample(range(64), 7))
        assert any(a == b for a, b in zip(bands(value), bands(near), strict=True))
    with pytest.raises(ValueError, match="up to 7 pHash bits"):
        DynamoDBHashIndex.check_distance(BANDS)


def test_answers_like_the_sqlite_index_in_a_few_reads(
    stack: Stack, hash_table: str, tmp_path: Path
) -> None:
    """The same sequence of images into both indexes: every look-up agrees, and a new image's
    look-up reads its own item, one sha256 query and 8 band partitions, not the table."""
    rng = random.Random(12)
    sqlite = SQLiteHashIndex(tmp_path / "hashes.db")
    counting = CountingClient(stack.dynamodb)
    dynamo = DynamoDBHashIndex({"beta": hash_table}, client=counting)
    originals: list[HashEntry] = []
    indexed: list[HashEntry] = []
    read = table = 0  # items the look-ups read; items in the table at the time
    try:
        for n in range(120):
            kind = rng.random()
            if originals and kind < 0.25:  # a near copy of an earlier image: 1-7 bits off
                base = rng.choice(originals)
                flips = rng.sample(range(64), rng.randint(1, 7))
                entry = HashEntry(f"k{n}", f"sha{n}", flip(base.phash, flips),
                                  flip(base.dhash, flips[:3]))  # fmt: skip
            elif originals and kind < 0.35:  # an exact copy under another key
                base = rng.choice(originals)
                entry = HashEntry(f"k{n}", base.sha256, base.phash, base.dhash)
            else:
                entry = HashEntry(f"k{n}", f"sha{n}", rng.getrandbits(64), rng.getrandbits(64))
                originals.append(entry)
            before = counting.items_read
            counting.calls.clear()
            for index in (sqlite, dynamo):
                index_name = type(index).__name__
                exact = index.find_exact("beta", entry.sha256, entry.key)
                near = index.find_similar("beta", entry.phash, entry.dhash, 6, entry.key)
                answers = (exact, (near.key, near.distance) if near else None)
                if index is sqlite:
                    expected = answers
                else:
                    assert answers == expected, f"{entry.key}: {index_name} {answers} {expected}"
                index.add("beta", entry)
            assert counting.calls["scan"] == 0
            assert counting.calls["query"] <= 1 + BANDS  # sha256 + one page per band
            assert counting.calls["get_item"] <= 3 and counting.calls["batch_write_item"] == 1
            # the look-ups read exactly the earlier images sharing a band or the sha256
            sharing = sum(
                a == b
                for e in indexed
                for a, b in zip(bands(e.phash), bands(entry.phash), strict=True)
            ) + sum(e.sha256 == entry.sha256 for e in indexed)
            assert counting.items_read - before == sharing
            read += sharing
            table += len(indexed) * (1 + BANDS)
            indexed.append(entry)
        assert read < table / 20, (read, table)  # a scan would have read all of `table`
    finally:
        sqlite.close()


def original_and_near_copy(index: DynamoDBHashIndex) -> tuple[HashEntry, HashEntry]:
    """a.jpg, then b.jpg two pHash bits away from it, indexed in that order in beta."""
    original = HashEntry("a.jpg", "sha-a", 0x00FF00FF00FF00FF, 0x1111)
    copy = HashEntry("b.jpg", "sha-b", flip(original.phash, [0, 9]), 0x1111)
    index.add("beta", original)
    index.add("beta", copy)
    return original, copy


def test_reanalysis_keeps_the_original_first_and_a_changed_image_moves_its_bands(
    stack: Stack, hash_table: str
) -> None:
    index = DynamoDBHashIndex({"beta": hash_table})
    original, copy = original_and_near_copy(index)
    # re-analysing the original (same bytes) must not call its later copy the original
    index.add("beta", original)
    assert index.find_similar("beta", original.phash, original.dhash, 6, "a.jpg") is None
    match = index.find_similar("beta", copy.phash, copy.dhash, 6, "b.jpg")
    assert match is not None and (match.key, match.distance, match.exact) == ("a.jpg", 2, False)
    # a.jpg replaced by different bytes: its old band items go, and it is new now
    index.add("beta", HashEntry("a.jpg", "sha-a2", 0x123456789ABCDEF0, 0x2222))
    items = stack.dynamodb.scan(TableName=hash_table)["Items"]
    band_items = Counter(i["filename"]["S"] for i in items if i["pk"]["S"].startswith("band#"))
    assert band_items == {"a.jpg": BANDS, "b.jpg": BANDS}
    assert index.find_similar("beta", copy.phash, copy.dhash, 6, "b.jpg") is None
    assert index.find_exact("beta", "sha-a", "x.jpg") is None


def test_a_removed_image_leaves_no_items_and_is_no_ones_original(
    stack: Stack, hash_table: str
) -> None:
    index = DynamoDBHashIndex({"beta": hash_table})
    original, copy = original_and_near_copy(index)
    index.remove("beta", "a.jpg")
    index.remove("beta", "a.jpg")  # a repeated removal event: nothing left to delete
    items = stack.dynamodb.scan(TableName=hash_table)["Items"]
    assert {i["filename"]["S"] for i in items} == {"b.jpg"} and len(items) == 1 + BANDS
    assert index.find_similar("beta", copy.phash, copy.dhash, 6, "b.jpg") is None
    assert index.find_exact("beta", "sha-a", "x.jpg") is None
    match = index.find_similar("beta", original.phash, original.dhash, 6, "x.jpg")
    assert match is not None and match.key == "b.jpg"


@pytest.fixture
def duplicates_env(
    stack: Stack, hash_table: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Stack]:
    registry.register("test-colour", lambda settings: DominantColourAnalyzer())
    for name, value in {
        "EVENTLENS_ENVIRONMENT": "beta",
        "EVENTLENS_RESULTS_TABLE": stack.tables["beta"],
        "EVENTLENS_ANALYZERS": "test-colour,duplicates",
        "EVENTLENS_HASHES_TABLE": hash_table,
        "EVENTLENS_FAILURE_TOPIC_ARN": stack.topic_arn,
    }.items():
        monkeypatch.setenv(name, value)
    lambda_handler.reset()
    yield stack
    lambda_handler.reset()
    registry.FACTORIES.pop("test-colour", None)


def test_the_handler_names_exact_and_near_copies(duplicates_env: Stack) -> None:
    stack = duplicates_env
    from tests.analyzers.test_duplicates import astronaut, coffee, degraded

    uploads = {
        BETA + "original.jpg": encode(astronaut(), quality=90),
        BETA + "same-bytes.jpg": encode(astronaut(), quality=90),
        BETA + "smaller.jpg": degraded(astronaut()),
        BETA + "other.jpg": encode(coffee(), quality=90),
    }
    for key, data in uploads.items():  # one at a time: each is "first seen" before the next
        stack.put_image(key, data)
        assert stack.handle_queued(1) == {"batchItemFailures": []}
    store = DynamoDBResultStore({"beta": stack.tables["beta"]})
    found = {}
    for key in uploads:
        record = store.get("beta", key)
        assert record is not None and record.ok, record
        found[key.removeprefix(BETA)] = record.findings["duplicates"]
    assert found["original.jpg"]["DuplicateOf"] is None
    assert found["same-bytes.jpg"]["DuplicateOf"] == BETA + "original.jpg"
    assert found["same-bytes.jpg"]["Exact"] is True
    assert found["smaller.jpg"]["DuplicateOf"] == BETA + "original.jpg"
    assert found["smaller.jpg"]["Exact"] is False and found["smaller.jpg"]["Distance"] <= 6
    assert found["other.jpg"]["DuplicateOf"] is None
