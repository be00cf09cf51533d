"""People on AWS: the DynamoDB people store (boto3 against a moto server over HTTP) behaves as
the SQLite one through the same port, two writers at once keep it consistent, and real photos
go through the Lambda handler to people the CLI names and finds with ``--backend dynamodb``."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
from PIL import Image, ImageOps

from eventlens.aws import handler as lambda_handler
from eventlens.face_people import FaceEntry, PeopleError, PeopleStore
from eventlens.results.dynamodb import DynamoDBResultStore
from eventlens.results.people_dynamodb import (
    DynamoDBPeopleIndex,
    PeopleConflict,
    create_people_table,
)
from eventlens.results.people_sqlite import SQLitePeopleIndex
from tests.images import encode
from tests.processes import EVENTLENS

if TYPE_CHECKING:
    from tests.aws_fixtures import Stack

pytest_plugins = ["tests.aws_fixtures"]

BETA = "rekognition-input/beta/"
PHOTOS = Path(__file__).resolve().parent.parent / "src" / "eventlens" / "data" / "person-check"


def new_table(stack: Stack, env: str = "beta") -> str:
    table = f"{env}_people_{uuid.uuid4().hex[:8]}"
    create_people_table(stack.dynamodb, table)
    return table


@pytest.fixture(params=["sqlite", "dynamodb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[PeopleStore]:
    """The same checks against both stores, through the port alone."""
    index: PeopleStore
    if request.param == "sqlite":
        index = SQLitePeopleIndex(tmp_path / "people.db", threshold=0.6)
    else:
        stack: Stack = request.getfixturevalue("stack")
        tables = {"beta": new_table(stack), "prod": new_table(stack, "prod")}
        index = DynamoDBPeopleIndex(tables, threshold=0.6)
    yield index
    index.close()


def _face(key: str, *values: float, index: int = 0) -> FaceEntry:
    vector = np.zeros(128, np.float32)
    vector[: len(values)] = values
    return FaceEntry(key, index, vector, {"Left": 0.1, "Top": 0.1, "Width": 0.2, "Height": 0.2})


def test_a_later_face_between_two_people_merges_them_unless_named_apart(
    store: PeopleStore,
) -> None:
    (a,) = store.assign("beta", "a.jpg", [_face("a.jpg", 0.0)])
    (b,) = store.assign("beta", "b.jpg", [_face("b.jpg", 1.0)])
    assert a != b
    (bridge,) = store.assign("beta", "c.jpg", [_face("c.jpg", 0.5)])
    assert bridge == a and store.person_of("beta", "b.jpg", 0) == a
    assert store.photos_of("beta", a) == ["a.jpg", "b.jpg", "c.jpg"]

    split = store.split("beta", a, ["b.jpg"])
    assert store.photos_of("beta", split.id) == ["b.jpg"]
    store.name("beta", a, "Ann")
    store.name("beta", split.id, "Bo")
    with pytest.raises(PeopleError):
        store.name("beta", split.id, "ann")
    store.remove("beta", "c.jpg")
    store.assign("beta", "d.jpg", [_face("d.jpg", 0.5)])  # between Ann and Bo: stays apart
    assert {p.name for p in store.people("beta")} == {"Ann", "Bo"}

    merged = store.merge("beta", "Ann", ["Bo"])
    assert merged.name == "Ann" and merged.photos == 3 and merged.faces == 3
    with pytest.raises(PeopleError):
        store.find("beta", "bo")  # the name of the person merged away is gone
    assert [p.id for p in store.people("beta")] == [merged.id]


def test_the_ids_of_people_merged_away_still_find_who_they_are_now(store: PeopleStore) -> None:
    (a,) = store.assign("beta", "a.jpg", [_face("a.jpg", 0.0)])
    (b,) = store.assign("beta", "b.jpg", [_face("b.jpg", 1.0)])
    (c,) = store.assign("beta", "c.jpg", [_face("c.jpg", 3.0)])
    (bridge,) = store.assign("beta", "ab.jpg", [_face("ab.jpg", 0.5)])  # merges b into a
    assert bridge == a and store.find("beta", b).id == a
    store.name("beta", c, "Cy")
    store.merge("beta", "Cy", [a])  # a, and b through it, become Cy
    for old in (a, b, c, b.lower()):
        assert store.find("beta", old).id == c
    assert store.photos_of("beta", b) == ["a.jpg", "ab.jpg", "b.jpg", "c.jpg"]
    cy = store.find("beta", "cy")
    assert (cy.faces, cy.photos) == (4, 4) and cy.cover_key is not None
    with pytest.raises(PeopleError):
        store.find("prod", a)  # ids belong to their environment

    # re-analysis keeps the person (and the name); the last photo gone takes the ids along
    (again,) = store.assign("beta", "c.jpg", [_face("c.jpg", 3.01)])
    assert again == c and store.find("beta", "Cy").faces == 4
    for key in ("a.jpg", "ab.jpg", "b.jpg", "c.jpg"):
        store.remove("beta", key)
    for gone in (a, b, c, "Cy"):
        with pytest.raises(PeopleError):
            store.find("beta", gone)
    assert store.people("beta") == [] and store.face_count("beta") == 0


def test_a_photo_of_several_people_and_forget(store: PeopleStore) -> None:
    faces = [_face("group.jpg", 0.0, index=0), _face("group.jpg", 2.0, index=1)]
    first, second = store.assign("beta", "group.jpg", faces)
    assert first != second  # two faces of one photo are two people, even when close
    (same,) = store.assign("beta", "solo.jpg", [_face("solo.jpg", 2.1)])
    assert same == second and store.find("beta", second).photos == 2
    store.assign("prod", "p.jpg", [_face("p.jpg", 0.0)])
    assert store.face_count() == 4
    assert store.forget_all() == (4, 3)
    assert store.face_count() == 0 and store.people("beta") == [] and store.people("prod") == []
    (fresh,) = store.assign("beta", "new.jpg", [_face("new.jpg", 0.0)])
    assert fresh not in (first, second)  # ids are never reused: old records keep theirs


def _consistent(index: DynamoDBPeopleIndex, table: str) -> dict[str, Counter[str]]:
    """Check every person item against the face items; the photos of each person."""
    items: list[dict[str, Any]] = []
    for page in index.client.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        items += page["Items"]
    faces: dict[str, Counter[str]] = {}
    totals: dict[str, np.ndarray[Any, np.dtype[np.float32]]] = {}
    for item in items:
        if item["sk"]["S"].startswith("face#"):
            owner = index.person_of("beta", item["key"]["S"], int(item["sk"]["S"][5:]))
            faces.setdefault(owner, Counter())[item["key"]["S"]] += 1
            vector = np.frombuffer(item["descriptor"]["B"], "<f4")
            totals[owner] = totals.get(owner, np.zeros(128, np.float32)) + vector
    found = dict(faces)
    for person in index.people("beta"):
        mine = faces.pop(person.id)
        assert (person.faces, person.photos) == (sum(mine.values()), len(mine)), person
        item = index.client.get_item(
            TableName=table, Key={"pk": {"S": "person"}, "sk": {"S": person.id}}
        )["Item"]
        stored = np.frombuffer(item["total"]["B"], "<f4")
        assert float(np.abs(stored - totals[person.id]).max()) < 1e-4, person
    assert faces == {}, "faces of nobody"
    return found


_MOTO = threading.Lock()


def one_request_at_a_time(client: Any) -> Any:
    """Send this client's requests one at a time with the other clients made so. moto's
    DynamoDB is not thread-safe (a cancelled transaction puts back a copy of the whole table,
    undoing writes made meanwhile), unlike DynamoDB; the writers still interleave freely
    between requests, which is where their reads go stale."""
    session = client._endpoint.http_session

    def send(request: Any, **_: Any) -> Any:
        with _MOTO:
            return session.send(request)

    client.meta.events.register("before-send.dynamodb", send)
    return client


def _writer(table: str) -> DynamoDBPeopleIndex:
    import boto3

    return DynamoDBPeopleIndex(
        {"beta": table}, client=one_request_at_a_time(boto3.client("dynamodb"))
    )


def test_two_lambdas_assigning_at_once_keep_the_store_consistent(stack: Stack) -> None:
    """Two writers (each with its own cache and connection, as two warm Lambdas) add photos
    of the same four people at once, re-analyse and delete some: every person's counts and
    descriptor sum still match the face items, and each person is found once."""
    table = new_table(stack)
    rng = np.random.default_rng(7)
    centres = [rng.normal(0, 1, 128).astype(np.float32) for _ in range(4)]
    centres = [c / np.linalg.norm(c) * 2 for c in centres]  # far apart (about 2.8)

    def photo(key: str, who: int) -> list[FaceEntry]:
        jitter = rng.normal(0, 0.01, 128).astype(np.float32)
        return [FaceEntry(key, 0, centres[who] + jitter)]

    # the first photo of each person first, so both writers have people to join
    seed = _writer(table)
    for who in range(4):
        seed.assign("beta", f"seed{who}.jpg", photo(f"seed{who}.jpg", who))
    errors: list[BaseException] = []
    jobs = [(f"p{i}.jpg", i % 4) for i in range(24)]

    def redelivered(work: Any, *args: Any) -> None:
        """``work(*args)``, done again when it raises ``PeopleConflict`` (a ``Transient`` error:
        the event's message comes back, as SQS redelivers it), at most three deliveries."""
        for delivery in range(3):
            try:
                return work(*args)
            except PeopleConflict:  # the other writer kept winning (a busy machine's timing)
                if delivery == 2:
                    raise

    def writer(part: int) -> None:
        index = _writer(table)
        try:
            for key, who in jobs[part::2]:
                redelivered(index.assign, "beta", key, photo(key, who))
                # the same photo from both writers
                redelivered(index.assign, "beta", "shared.jpg", photo("shared.jpg", part))
            for key, _ in jobs[part::2][:3]:
                redelivered(index.remove, "beta", key)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(part,)) for part in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    photos = _consistent(seed, table)
    assert len(photos) == 4  # one person each, none split in two by the race
    for keys in photos.values():  # and nobody's faces in another's person
        owners = {int(k[4]) for k in keys if k.startswith("seed")} | {
            int(k[1:-4]) % 4 for k in keys if k[0] == "p"
        }
        assert len(owners) == 1, keys
    assert sum(len(keys) for keys in photos.values()) == 4 + 24 - 6 + 1


def test_a_warm_cache_sees_other_writers_people(stack: Stack) -> None:
    """A second writer's new person, made after the first writer cached the people, is
    matched by the first (its cache reads what changed since)."""
    table = new_table(stack)
    one, two = _writer(table), _writer(table)
    (a,) = one.assign("beta", "a.jpg", [_face("a.jpg", 0.0)])
    (b,) = two.assign("beta", "b.jpg", [_face("b.jpg", 5.0)])
    assert one.assign("beta", "b2.jpg", [_face("b2.jpg", 5.1)]) == [b]
    two.merge("beta", a, [b])
    assert one.assign("beta", "b3.jpg", [_face("b3.jpg", 5.05)]) == [a]
    assert one.find("beta", b).photos == 4


# -- real photos through the Lambda handler, then the CLI ----------------------------------


@pytest.fixture
def people_env(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Stack, str]]:
    pytest.importorskip("dlib")
    table = new_table(stack)
    for name, value in {
        "EVENTLENS_ENVIRONMENT": "beta",
        "EVENTLENS_RESULTS_TABLE": stack.tables["beta"],
        "EVENTLENS_ANALYZERS": "image_properties",
        "EVENTLENS_PEOPLE": "on",
        "EVENTLENS_PEOPLE_TABLE": table,
        "EVENTLENS_FAILURE_TOPIC_ARN": stack.topic_arn,
    }.items():
        monkeypatch.setenv(name, value)
    lambda_handler.reset()
    yield stack, table
    lambda_handler.reset()


def _deliver(stack: Stack, wanted: int) -> None:
    assert stack.handle_queued(wanted) == {"batchItemFailures": []}


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVENTLENS_")}
    return subprocess.run(
        [EVENTLENS, *args], env=env, capture_output=True, text=True, timeout=120
    )  # fmt: skip


def test_photos_through_the_handler_become_people_the_cli_names_and_finds(
    people_env: tuple[Stack, str],
) -> None:
    stack, table = people_env
    messi = Image.open(PHOTOS / "messi.jpg").convert("RGB")
    mirrored = ImageOps.mirror(messi).resize((messi.width * 4 // 5, messi.height * 4 // 5))
    uploads = {
        BETA + "messi.jpg": encode(messi, quality=95),
        BETA + "again.jpg": encode(mirrored, quality=90),
        BETA + "astronaut.jpg": (PHOTOS / "astronaut.jpg").read_bytes(),
    }
    for key, data in uploads.items():
        stack.put_image(key, data)
        _deliver(stack, 1)
    results = DynamoDBResultStore({"beta": stack.tables["beta"]})

    def people_of(key: str) -> list[str]:
        record = results.get("beta", BETA + key)
        assert record is not None and record.ok, record
        return [face["PersonId"] for face in record.findings["people"]["Faces"]]

    first = people_of("messi.jpg")[0]
    assert first in people_of("again.jpg")
    (astronaut,) = people_of("astronaut.jpg")
    assert astronaut != first

    where = ("--env", "beta", "--backend", "dynamodb", "--table", table)
    named = _cli("people", "name", first, "Lionel Messi", *where)
    assert named.returncode == 0, named.stderr
    found = _cli(
        "results", "search", "--person", "lionel messi", "--json", "--env", "beta",
        "--backend", "dynamodb", "--table", stack.tables["beta"], "--people-table", table,
    )  # fmt: skip
    assert found.returncode == 0, found.stderr
    keys = {r["filename"].removeprefix(BETA) for r in json.loads(found.stdout)}
    assert keys == {"messi.jpg", "again.jpg"}
    listed = json.loads(_cli("people", "list", "--json", *where).stdout)
    assert {p["name"] for p in listed} >= {"Lionel Messi", None}

    # re-analysis (new bytes) keeps the name; deleting a photo removes its faces
    stack.put_image(BETA + "messi.jpg", encode(messi, quality=80))
    stack.s3.delete_object(Bucket=stack.bucket, Key=BETA + "again.jpg")
    _deliver(stack, 2)
    shown = _cli("people", "show", "Lionel Messi", "--json", *where)
    assert shown.returncode == 0, shown.stderr
    assert [k.removeprefix(BETA) for k in json.loads(shown.stdout)["keys"]] == ["messi.jpg"]

    forgot = _cli("people", "forget", "--yes", "--json", *where)
    assert forgot.returncode == 0, forgot.stderr
    assert json.loads(forgot.stdout)["faces"] >= 2
    left = stack.dynamodb.scan(TableName=table, ConsistentRead=True)["Items"]
    assert [item["pk"]["S"] for item in left] == ["meta"]  # the id counter alone
    assert _cli("people", "forget", "--yes", "--backend", "dynamodb").returncode == 2
