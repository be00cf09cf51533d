"""S3ObjectStore and DynamoDBResultStore against a moto server (real HTTP, real boto3)."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventlens.events.base import sequencer_newer_or_equal
from eventlens.results.base import Query
from eventlens.results.dynamodb import DynamoDBResultStore, sequencer_sort_key
from eventlens.results.record import Record, Status
from eventlens.storage.base import ObjectTooLarge, ObjectUnavailable
from eventlens.storage.s3 import S3ObjectStore, TransientStorageError
from tests.images import jpeg

if TYPE_CHECKING:
    from tests.aws_fixtures import Stack

pytest_plugins = ["tests.aws_fixtures"]

BETA = "rekognition-input/beta/"


def record(key: str, sequencer: str | None = None, **fields: Any) -> Record:
    base: dict[str, Any] = {
        "filename": BETA + key,
        "environment": "beta",
        "labels": [
            {"Name": "Cat", "Confidence": 97.125, "Instances": [], "Parents": [{"Name": "Animal"}],
             "Aliases": [], "Categories": []},
            {"Name": "Animal", "Confidence": 99.0, "Instances": [], "Parents": [], "Aliases": [],
             "Categories": []},
        ],
        "sequencer": sequencer,
        "sha256": "ab" * 32,
        "size": 1234,
        "width": 64,
        "height": 48,
        "duration_ms": 12.5,
        "metadata": {"owner": "ana"},
        "findings": {"faces": {"FaceDetails": [{"Confidence": 88.5}]}},
        "etag": "e1",
    }  # fmt: skip
    base.update(fields)
    return Record(**base)


@pytest.fixture
def store(stack: Stack) -> DynamoDBResultStore:
    return DynamoDBResultStore(stack.tables)


# -- S3 ---------------------------------------------------------------------------------------


def test_s3_store_reads_stats_lists_and_writes_with_metadata(stack: Stack) -> None:
    s3 = S3ObjectStore(stack.bucket)
    data = jpeg()
    info = s3.write(BETA + "my cat.jpg", data, {"owner": "ana", "branch": "feature/x"})
    assert info.size == len(data) and info.etag
    stat = s3.stat(BETA + "my cat.jpg")
    assert stat.metadata == {"owner": "ana", "branch": "feature/x"}
    assert stat.etag == info.etag and stat.size == len(data)
    read, read_info = s3.read(BETA + "my cat.jpg", max_bytes=len(data))
    assert read == data and read_info.metadata["owner"] == "ana"
    head = stack.s3.head_object(Bucket=stack.bucket, Key=BETA + "my cat.jpg")
    assert head["ContentType"] == "image/jpeg"
    assert [i.key for i in s3.list(BETA)] == [BETA + "my cat.jpg"]
    assert list(s3.list("elsewhere/")) == []


def test_s3_store_size_limit_and_missing_objects(stack: Stack) -> None:
    s3 = S3ObjectStore(stack.bucket)
    s3.write(BETA + "big.jpg", b"x" * 100)
    with pytest.raises(ObjectTooLarge):
        s3.read(BETA + "big.jpg", max_bytes=99)
    with pytest.raises(ObjectUnavailable) as missing:
        s3.read(BETA + "nope.jpg", max_bytes=100)
    assert not isinstance(missing.value, ObjectTooLarge)
    with pytest.raises(ObjectUnavailable):
        s3.stat(BETA + "nope.jpg")
    with pytest.raises(ObjectUnavailable):
        S3ObjectStore("no-such-bucket-here").read("k.jpg", max_bytes=10)


class _Throttled:
    """A client whose every call fails the way S3 fails under load (after boto's retries)."""

    def __init__(self, code: str, status: int) -> None:
        from botocore.exceptions import ClientError

        self.error = ClientError(
            {
                "Error": {"Code": code, "Message": "x"},
                "ResponseMetadata": {"HTTPStatusCode": status},
            },
            "GetObject",
        )

    def get_object(self, **kwargs: Any) -> Any:
        raise self.error

    def head_object(self, **kwargs: Any) -> Any:
        raise self.error


@pytest.mark.parametrize(
    ("code", "status"), [("SlowDown", 503), ("InternalError", 500), ("AccessDenied", 403)]
)
def test_s3_store_transient_errors_are_oserrors(code: str, status: int) -> None:
    s3 = S3ObjectStore("b", client=_Throttled(code, status))
    with pytest.raises(TransientStorageError) as caught:
        s3.read("k.jpg", max_bytes=10)
    assert isinstance(caught.value, OSError) and code in str(caught.value)


def test_s3_store_unreachable_endpoint_is_transient() -> None:
    import boto3
    from botocore.config import Config

    from tests.aws_fixtures import free_port

    client = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"max_attempts": 1}, connect_timeout=1),
    )
    with pytest.raises(OSError):
        S3ObjectStore("b", client=client).read("k.jpg", max_bytes=10)


# -- DynamoDB ---------------------------------------------------------------------------------


def test_record_round_trips_with_native_dynamodb_types(
    store: DynamoDBResultStore, stack: Stack
) -> None:
    original = record("cat.jpg", "0055AB", expires_at=1_900_000_000)
    assert store.put(original)
    assert store.get("beta", original.filename) == original
    raw = stack.dynamodb.get_item(
        TableName=stack.tables["beta"], Key={"filename": {"S": original.filename}}
    )["Item"]
    assert raw["labels"]["L"][0]["M"]["Confidence"] == {"N": "97.125"}
    assert raw["labels"]["L"][0]["M"]["Parents"]["L"][0]["M"]["Name"] == {"S": "Animal"}
    assert raw["metadata"] == {"M": {"owner": {"S": "ana"}}}
    assert raw["duration_ms"] == {"N": "12.5"} and raw["size"] == {"N": "1234"}
    assert raw["status"] == {"S": "ok"} and raw["expires_at"] == {"N": "1900000000"}
    assert raw["sequencer_sort"] == {"S": "55AB".rjust(32, "0")}
    assert "error" not in raw  # None fields are left out, not stored as NULL
    import boto3

    table = boto3.resource("dynamodb").Table(stack.tables["beta"])
    item = table.get_item(Key={"filename": original.filename})["Item"]
    assert item["labels"][0]["Confidence"] == Decimal("97.125")


#: What ``to_dynamodb`` hands the serializer: None, bool, int, Decimal, str, maps and lists.
_ITEM_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**30), 10**30)
    | st.decimals(
        allow_nan=False, allow_infinity=False, places=6, min_value=-(10**9), max_value=10**9
    )
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=12,
)


@given(_ITEM_VALUES)
@settings(max_examples=300, deadline=None)
def test_attribute_values_are_boto3s_both_ways(value: Any) -> None:
    """The store's own codec (no boto3 at a cold start) makes what boto3's does, and reads
    back what boto3's reads."""
    from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

    from eventlens.results import dynamodb_values

    expected = TypeSerializer().serialize(value)
    assert dynamodb_values.serialize(value) == expected
    assert dynamodb_values.deserialize(expected) == TypeDeserializer().deserialize(expected)


def test_attribute_values_refuse_what_boto3_refuses() -> None:
    from boto3.dynamodb.types import TypeSerializer

    from eventlens.results import dynamodb_values

    for bad in (1.5, Decimal("NaN"), Decimal("1e200"), Decimal("1." + "1" * 40), object()):
        with pytest.raises(Exception) as boto3s:
            TypeSerializer().serialize(bad)
        with pytest.raises(type(boto3s.value)):
            dynamodb_values.serialize(bad)
    with pytest.raises(TypeError):
        dynamodb_values.deserialize({})
    assert dynamodb_values.deserialize({"NS": ["1", "2.5"]}) == {Decimal(1), Decimal("2.5")}
    assert dynamodb_values.deserialize({"SS": ["a"]}) == {"a"}


@given(st.integers(0, 2**70), st.integers(0, 2**70), st.integers(0, 6), st.integers(0, 6))
def test_sequencer_sort_key_orders_like_the_sqlite_store(a: int, b: int, pa: int, pb: int) -> None:
    sa, sb = "0" * pa + f"{a:X}", "0" * pb + f"{b:x}"
    assert (sequencer_sort_key(sa) <= sequencer_sort_key(sb)) == (a <= b)
    assert (sequencer_sort_key(sb) <= sequencer_sort_key(sa)) == sequencer_newer_or_equal(
        sa.upper(), sb.upper()
    )


def test_out_of_order_and_duplicate_puts_leave_the_newest_record(
    store: DynamoDBResultStore,
) -> None:
    newer = record("x.jpg", "0100", sha256="new")  # longer but larger than "FF"
    older = record("x.jpg", "FF", sha256="old")
    assert store.put(newer)
    assert not store.put(older)
    assert store.put(newer)  # the same version again is accepted (idempotent)
    stored = store.get("beta", BETA + "x.jpg")
    assert stored is not None and stored.sha256 == "new"


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.permutations(["00A1", "A2", "0000A3", "1A0", "19F"]))
def test_any_delivery_order_converges_on_the_largest_sequencer(
    stack: Stack, order: list[str]
) -> None:
    store = DynamoDBResultStore(stack.tables)
    key = "perm-" + "-".join(order) + ".jpg"
    for sequencer in order:
        store.put(record(key, sequencer, sha256=sequencer))
    stored = store.get("beta", BETA + key)
    assert stored is not None and stored.sha256 == "1A0"


def test_query_count_iter_all_and_delete(stack: Stack) -> None:
    store = DynamoDBResultStore(stack.tables, page_size=3)  # force several Scan pages
    for i in range(10):
        store.put(
            record(f"img{i}.jpg", f"{i + 1:02X}", timestamp=f"2026-11-28T00:00:{i:02d}.000000Z")
        )
    store.put(
        record(
            "bad.jpg", "01", status=Status.ERROR, error="corrupt", labels=[],
            timestamp="2026-11-28T00:01:00.000000Z",
        )
    )  # fmt: skip
    store.put(record("dog.jpg", "01", labels=[{"Name": "Dog", "Confidence": 90.0}]))
    assert store.count("beta") == 12
    assert store.count("beta", Status.ERROR) == 1 and store.count("prod") == 0
    newest = store.query(Query("beta", limit=3))
    assert len(newest) == 3 and newest[0].filename == BETA + "dog.jpg"  # "now" is newest
    cats = store.query(Query("beta", label="cAT", limit=100))
    assert len(cats) == 10 and all("Cat" in r.label_names() for r in cats)
    assert [r.filename for r in cats[:2]] == [BETA + "img9.jpg", BETA + "img8.jpg"]
    errors = store.query(Query("beta", status=Status.ERROR))
    assert [r.error for r in errors] == ["corrupt"]
    window = store.query(
        Query("beta", since="2026-11-28T00:00:03", until="2026-11-28T00:00:05", limit=10)
    )
    assert sorted(r.filename for r in window) == [BETA + "img3.jpg", BETA + "img4.jpg"]
    assert [r.filename for r in store.query(Query("beta", prefix=BETA + "img1"))] == [
        BETA + "img1.jpg"
    ]
    everything = sorted(r.filename for r in store.iter_all("beta"))
    assert len(everything) == 12 and len(set(everything)) == 12
    assert store.delete("beta", BETA + "bad.jpg")
    assert not store.delete("beta", BETA + "bad.jpg")
    assert store.get("beta", BETA + "bad.jpg") is None and store.count("beta") == 11


def test_unknown_environment_is_a_clear_error(store: DynamoDBResultStore) -> None:
    with pytest.raises(KeyError, match="unknown environment 'dev'"):
        store.get("dev", "k")


def test_put_many_reports_each_write(store: DynamoDBResultStore) -> None:
    store.put(record("a.jpg", "10"))
    written = store.put_many([record("a.jpg", "0F"), record("b.jpg", "01")])
    assert written == [False, True]
    assert list(itertools.islice(store.iter_all("beta"), 5))


def test_query_reads_the_time_index_and_agrees_with_a_scan(stack: Stack) -> None:
    import boto3

    from eventlens.results.dynamodb import create_table

    client = boto3.client("dynamodb", region_name="us-east-1")
    plain = {"beta": stack.tables["beta"] + "_noindex"}
    create_table(client, plain["beta"], ttl=False, time_index=False)
    indexed = DynamoDBResultStore(stack.tables, client, page_size=7)
    scanning = DynamoDBResultStore(plain, client, page_size=7)
    for i in range(60):  # timestamps tie in threes; every fifth is an error, every fourth a dog
        fields: dict[str, Any] = {"timestamp": f"2026-11-28T00:{i // 3:02d}:00.000000Z"}
        if i % 5 == 0:
            fields.update(status=Status.ERROR, error="corrupt", labels=[])
        elif i % 4 == 0:
            fields["labels"] = [{"Name": "Dog", "Confidence": 90.0}]
        for store in (indexed, scanning):
            store.put(record(f"{'a' if i % 2 else 'b'}{i:02d}.jpg", "01", **fields))
    calls: list[tuple[str, int]] = []
    client.meta.events.register(
        "after-call.dynamodb.*",
        lambda http_response, parsed, model, **_: calls.append(
            (model.name, int(parsed.get("ScannedCount", 0)))
        ),
    )
    queries = [
        Query("beta", limit=1), Query("beta", limit=4), Query("beta", limit=100),
        Query("beta", label="dog", limit=3), Query("beta", status=Status.ERROR, limit=2),
        Query("beta", since="2026-11-28T00:05", until="2026-11-28T00:09:00.000000Z", limit=50),
        Query("beta", since="2026-11-28T00:15", limit=5), Query("beta", until="2026-11-28T00:02"),
        Query("beta", prefix=BETA + "a", label="Cat", limit=6),
    ]  # fmt: skip
    for query in queries:
        calls.clear()
        got = [r.filename for r in indexed.query(query)]
        assert {name for name, _ in calls} == {"Query"}, query
        read = sum(n for _, n in calls)
        assert got == [r.filename for r in scanning.query(query)], query
        if query.limit <= 5 and not query.since:
            assert read < 30, (query, read)  # a few pages of 7, not the 60-item table
    newest = indexed.query(Query("beta", limit=4))
    assert [r.filename.rsplit("/", 1)[1] for r in newest] == [
        "b58.jpg",
        "a59.jpg",
        "a57.jpg",
        "b56.jpg",
    ]
