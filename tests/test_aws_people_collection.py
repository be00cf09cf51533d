"""People with ``rekognition-faces`` on AWS: faces in a Rekognition face collection, people in
the DynamoDB people table. boto3 speaks the real wire protocols to the session's moto server
on 127.0.0.1; the collection operations moto lacks come from the test emulator
(``tests/rekognition_collection_emulator.py``: the bundled detector and descriptor behind
them, so the photos are real faces and the matching is real, but not Rekognition's)."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from PIL import Image, ImageOps

from eventlens.aws import handler as lambda_handler
from eventlens.aws_clients import client as make_client
from eventlens.face_people import PeopleError
from eventlens.results.dynamodb import DynamoDBResultStore
from eventlens.results.people_dynamodb import create_people_table
from eventlens.results.people_rekognition import RekognitionPeopleIndex, external_image_id
from tests import rekognition_collection_emulator as emulator
from tests.images import encode
from tests.processes import EVENTLENS

if TYPE_CHECKING:
    from tests.aws_fixtures import Stack

pytest_plugins = ["tests.aws_fixtures"]
pytest.importorskip("dlib")

BETA = "rekognition-input/beta/"
PHOTOS = Path(__file__).resolve().parent.parent / "src" / "eventlens" / "data" / "person-check"


def _photos() -> dict[str, bytes]:
    """Messi twice (the second mirrored, smaller, re-encoded), and the astronaut."""
    messi = Image.open(PHOTOS / "messi.jpg").convert("RGB")
    mirrored = ImageOps.mirror(messi).resize((messi.width * 4 // 5, messi.height * 4 // 5))
    return {
        "messi.jpg": encode(messi, quality=95),
        "again.jpg": encode(mirrored, quality=90),
        "astronaut.jpg": (PHOTOS / "astronaut.jpg").read_bytes(),
    }


PHOTO_BYTES = _photos()


@pytest.fixture
def collection(stack: Stack) -> Iterator[tuple[Stack, str, str, Any]]:
    """A people table and a face collection of one test: (stack, table, collection,
    rekognition client that does not retry, so injected errors surface at once)."""
    emulator.install()
    rekognition = make_client("rekognition", max_attempts=0)
    table, name = f"beta_people_{uuid.uuid4().hex[:8]}", f"beta_people_{uuid.uuid4().hex[:8]}"
    create_people_table(stack.dynamodb, table)
    rekognition.create_collection(CollectionId=name)
    yield stack, table, name, rekognition
    emulator.reset()


def _index(collection: tuple[Stack, str, str, Any]) -> RekognitionPeopleIndex:
    _, table, name, rekognition = collection
    return RekognitionPeopleIndex({"beta": table}, {"beta": name}, rekognition=rekognition)


def _add(index: RekognitionPeopleIndex, key: str, data: bytes | None = None) -> list[str]:
    found = index.assign_image("beta", key, {"Bytes": data or PHOTO_BYTES[key]})
    return [face.person for face in found]


def _faces(rekognition: Any, name: str) -> dict[str, str]:
    """The collection's faces: FaceId → ExternalImageId."""
    faces = rekognition.list_faces(CollectionId=name)["Faces"]
    return {f["FaceId"]: f["ExternalImageId"] for f in faces}


def test_one_person_twice_is_one_id_two_people_two_and_deleting_removes_the_faces(
    collection: tuple[Stack, str, str, Any],
) -> None:
    stack, table, name, rekognition = collection
    index = _index(collection)
    (messi,) = _add(index, "messi.jpg")
    assert _add(index, "again.jpg") == [messi]
    (astronaut,) = _add(index, "astronaut.jpg")
    assert astronaut != messi
    faces = _faces(rekognition, name)
    assert sorted(faces.values()) == ["again.jpg", "astronaut.jpg", "messi.jpg"]
    assert index.find("beta", messi).faces == 2
    assert index.photos_of("beta", messi) == ["again.jpg", "messi.jpg"]
    face_items = stack.dynamodb.scan(TableName=table)["Items"]
    assert all("descriptor" not in i for i in face_items)  # the collection keeps them

    index.remove("beta", "again.jpg")
    assert sorted(_faces(rekognition, name).values()) == ["astronaut.jpg", "messi.jpg"]
    assert index.photos_of("beta", messi) == ["messi.jpg"]
    assert index.face_count("beta") == 2


def test_re_analysis_keeps_the_name_and_replaces_the_photos_face_in_the_collection(
    collection: tuple[Stack, str, str, Any],
) -> None:
    _, _, name, rekognition = collection
    index = _index(collection)
    (messi,) = _add(index, "messi.jpg")
    _add(index, "astronaut.jpg")
    index.name("beta", messi, "Lionel Messi")
    before = _faces(rekognition, name)
    again = Image.open(PHOTOS / "messi.jpg").convert("RGB")
    assert _add(index, "messi.jpg", encode(again, quality=70)) == [messi]
    after = _faces(rekognition, name)
    assert sorted(after.values()) == sorted(before.values())  # one face per photo still
    assert set(after) != set(before)  # the photo's face was indexed anew, the old one deleted
    assert index.find("beta", "Lionel Messi").id == messi


def test_a_face_matching_two_people_merges_them(collection: tuple[Stack, str, str, Any]) -> None:
    index = _index(collection)
    (messi,) = _add(index, "messi.jpg")
    _add(index, "again.jpg")
    split = index.split("beta", messi, ["again.jpg"]).id  # two people of one face
    assert split != messi
    third = Image.open(PHOTOS / "messi.jpg").convert("RGB").resize((240, 240))
    (joined,) = _add(index, "third.jpg", encode(third, quality=85))
    assert joined in {messi, split}
    assert index.find("beta", messi).id == index.find("beta", split).id == joined
    assert index.find("beta", joined).faces == 3


def test_forget_empties_the_collection_and_the_table(
    collection: tuple[Stack, str, str, Any],
) -> None:
    stack, table, name, rekognition = collection
    index = _index(collection)
    for key in PHOTO_BYTES:
        _add(index, key)
    assert index.forget_all() == (3, 2)
    assert _faces(rekognition, name) == {}
    left = stack.dynamodb.scan(TableName=table, ConsistentRead=True)["Items"]
    assert [item["pk"]["S"] for item in left] == ["meta"]
    with pytest.raises(PeopleError):
        index.find("beta", "P1")


def test_service_errors_leave_the_table_and_the_collection_as_they_were(
    collection: tuple[Stack, str, str, Any],
) -> None:
    _, table, name, rekognition = collection
    index = _index(collection)
    (messi,) = _add(index, "messi.jpg")
    before = _faces(rekognition, name)

    emulator.fail("SearchFaces", "ThrottlingException")
    with pytest.raises(rekognition.exceptions.ThrottlingException):
        _add(index, "again.jpg")
    assert _faces(rekognition, name) == before  # the face just indexed was deleted again
    assert index.photos_of("beta", messi) == ["messi.jpg"]
    assert _add(index, "again.jpg") == [messi]  # the retry

    missing = RekognitionPeopleIndex(
        {"beta": table}, {"beta": "no_such_collection"}, rekognition=rekognition
    )
    with pytest.raises(rekognition.exceptions.ResourceNotFoundException):
        _add(missing, "astronaut.jpg")
    assert index.photos_of("beta", messi) == ["again.jpg", "messi.jpg"]
    assert index.face_count("beta") == 2


def test_external_image_ids_are_safe() -> None:
    assert (
        external_image_id("rekognition-input/beta/a b/é.jpg") == "rekognition-input_beta_a_b__.jpg"
    )
    assert len(external_image_id("x/" * 300 + "end.jpg")) == 255
    assert external_image_id("x/" * 300 + "end.jpg").endswith("end.jpg")


# -- the Lambda handler: rekognition-faces + people, wired from the settings ---------------


@pytest.fixture
def handler_env(
    collection: tuple[Stack, str, str, Any], monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Stack, str, str, Any]]:
    stack, table, name, _ = collection
    for key, value in {
        "EVENTLENS_ENVIRONMENT": "beta",
        "EVENTLENS_RESULTS_TABLE": stack.tables["beta"],
        "EVENTLENS_ANALYZERS": "image_properties,rekognition-faces",
        "EVENTLENS_PEOPLE": "on",
        "EVENTLENS_PEOPLE_TABLE": table,
        "EVENTLENS_PEOPLE_COLLECTION": name,
        "EVENTLENS_FAILURE_TOPIC_ARN": stack.topic_arn,
    }.items():
        monkeypatch.setenv(key, value)
    lambda_handler.reset()
    yield collection
    lambda_handler.reset()


def test_the_handler_keeps_faces_in_the_collection_and_people_in_the_records(
    handler_env: tuple[Stack, str, str, Any],
) -> None:
    stack, table, name, rekognition = handler_env
    for key, data in PHOTO_BYTES.items():
        stack.put_image(BETA + key, data)
        assert stack.handle_queued(1) == {"batchItemFailures": []}
    results = DynamoDBResultStore({"beta": stack.tables["beta"]})

    def people_of(key: str) -> list[str]:
        record = results.get("beta", BETA + key)
        assert record is not None and record.ok, record
        assert record.findings["faces"]["FaceDetails"]  # rekognition-faces (DetectFaces)
        return [face["PersonId"] for face in record.findings["people"]["Faces"]]

    (messi,) = people_of("messi.jpg")
    assert people_of("again.jpg") == [messi]
    assert people_of("astronaut.jpg") != [messi]
    assert sorted(_faces(rekognition, name).values()) == sorted(
        external_image_id(BETA + key) for key in PHOTO_BYTES
    )

    # the collection missing: the event is retried, the photo's record stays as it was
    emulator.fail("IndexFaces", "ResourceNotFoundException")
    stack.put_image(BETA + "messi.jpg", PHOTO_BYTES["messi.jpg"] + b"\0")
    assert stack.handle_queued(1)["batchItemFailures"]
    assert people_of("messi.jpg") == [messi]

    stack.s3.delete_object(Bucket=stack.bucket, Key=BETA + "again.jpg")
    assert stack.handle_queued(1) == {"batchItemFailures": []}
    assert external_image_id(BETA + "again.jpg") not in _faces(rekognition, name).values()

    # the CLI's forget empties the collection too
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVENTLENS_")}
    forgot = subprocess.run(
        [EVENTLENS, "people", "forget", "--yes", "--json", "--env", "beta", "--backend",
         "dynamodb", "--table", table, "--collection", name],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert forgot.returncode == 0, forgot.stderr
    assert json.loads(forgot.stdout) == {"faces": 2, "people": 2}
    assert _faces(rekognition, name) == {}
