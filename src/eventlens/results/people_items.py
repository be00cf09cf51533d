"""The items of the DynamoDB people table (``people_dynamodb`` says what each holds): their
keys, reading and writing them, and what a face joining or leaving a person changes."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from eventlens.face_people import FaceEntry, Person, person_id, person_number
from eventlens.results.people_centroids import F32, REPRESENTATIVES, PersonVectors

PEOPLE_PK = "person"
META = {"pk": {"S": "meta"}, "sk": {"S": "meta"}}
SEQ_INDEX = "by_seq"
PERSON_INDEX = "by_person"
#: what ``people list`` reads of a person item (not the descriptors)
LISTED = "pk, sk, #n, faces, photos, cover_key, cover_box, cover_conf, merged_into, version"


@dataclass(slots=True)
class StoredPerson:
    """A person item as read (or about to be written)."""

    number: int
    version: int = 0
    name: str | None = None
    faces: int = 0
    photos: int = 0
    total: F32 = field(default_factory=lambda: np.zeros(128, np.float32))
    reps: dict[str, F32] = field(default_factory=dict)
    cover_key: str | None = None
    cover_box: dict[str, float] | None = None
    cover_conf: float = -1.0
    merged_into: int | None = None
    absorbed: set[int] = field(default_factory=set)
    exists: bool = True

    def vectors(self) -> PersonVectors:
        return PersonVectors(self.number, self.total, self.faces, self.reps)

    def person(self) -> Person:
        return Person(
            person_id(self.number), self.name, self.faces, self.photos, self.cover_key,
            self.cover_box,
        )  # fmt: skip


def person_key(number: int) -> dict[str, Any]:
    return {"pk": {"S": PEOPLE_PK}, "sk": {"S": person_id(number)}}


def photo_key(key: str) -> dict[str, Any]:
    return {"pk": {"S": f"photo#{key}"}, "sk": {"S": "photo"}}


def face_key(key: str, face: int) -> dict[str, Any]:
    return {"pk": {"S": f"photo#{key}"}, "sk": {"S": f"face#{face:04d}"}}


def name_key(name: str) -> dict[str, Any]:
    return {"pk": {"S": f"name#{name.casefold()}"}, "sk": {"S": "name"}}


def keys_of(item: dict[str, Any]) -> dict[str, Any]:
    return {"pk": item["pk"], "sk": item["sk"]}


def face_id_key(face_id: str) -> dict[str, Any]:
    """The item that maps a face collection's face id to its face item (``key``, ``face``)."""
    return {"pk": {"S": f"faceid#{face_id}"}, "sk": {"S": "faceid"}}


def face_number(sk: str) -> int:
    return int(sk.removeprefix("face#"))


def face_ref(item: dict[str, Any]) -> str:
    return f"{item['key']['S']}#{face_number(item['sk']['S'])}"


def descriptor_of(item: dict[str, Any]) -> F32:
    if "descriptor" not in item:  # a face collection keeps it (``face_id``)
        return np.zeros(128, np.float32)
    return np.frombuffer(item["descriptor"]["B"], dtype="<f4").astype(np.float32)


def face_item(key: str, face: FaceEntry, person: int) -> dict[str, Any]:
    vector = np.asarray(face.descriptor, np.float32)
    item = face_key(key, face.index) | {
        "key": {"S": key},
        "person": {"N": str(person)},
        "confidence": {"N": repr(float(face.confidence))},
    }
    if face.face_id is None:
        item["descriptor"] = {"B": vector.astype("<f4").tobytes()}
    else:
        item["face_id"] = {"S": face.face_id}
    if face.box:
        item["box"] = {"S": json.dumps(face.box)}
    return item


def take_face(person: StoredPerson, item: dict[str, Any], vector: F32) -> None:
    """A face leaves ``person`` (its photo re-analysed or deleted, or split off)."""
    person.total = person.total - vector
    person.faces -= 1
    person.reps.pop(face_ref(item), None)
    if person.cover_key == item["key"]["S"]:
        person.cover_key, person.cover_box, person.cover_conf = None, None, -1.0


def give_face(person: StoredPerson, item: dict[str, Any], vector: F32) -> None:
    person.total = person.total + vector
    person.faces += 1
    if len(person.reps) < REPRESENTATIVES:
        person.reps[face_ref(item)] = vector
    confidence = float(item["confidence"]["N"])
    if person.cover_key is None or confidence > person.cover_conf:
        box = json.loads(item["box"]["S"]) if "box" in item else None
        person.cover_key, person.cover_box, person.cover_conf = item["key"]["S"], box, confidence


def read_person(item: dict[str, Any]) -> StoredPerson:
    number = person_number(item["sk"]["S"])
    assert number is not None  # person items' sk is an id
    stored = StoredPerson(number, version=int(item.get("version", {"N": "0"})["N"]))
    stored.name = item["name"]["S"] if "name" in item else None
    stored.faces = int(item.get("faces", {"N": "0"})["N"])
    stored.photos = int(item.get("photos", {"N": "0"})["N"])
    if "total" in item:
        stored.total = np.frombuffer(item["total"]["B"], dtype="<f4").astype(np.float32)
    stored.reps = {
        ref: np.frombuffer(value["B"], dtype="<f2").astype(np.float32)
        for ref, value in item.get("reps", {}).get("M", {}).items()
    }
    stored.cover_key = item["cover_key"]["S"] if "cover_key" in item else None
    stored.cover_box = json.loads(item["cover_box"]["S"]) if "cover_box" in item else None
    stored.cover_conf = float(item["cover_conf"]["N"]) if "cover_conf" in item else -1.0
    stored.merged_into = int(item["merged_into"]["N"]) if "merged_into" in item else None
    stored.absorbed = {int(n) for n in item.get("absorbed", {}).get("NS", [])}
    return stored


def person_item(stored: StoredPerson, version: int) -> dict[str, Any]:
    item: dict[str, Any] = person_key(stored.number) | {
        "version": {"N": str(version)},
        "seq": {"N": str(time.time_ns() // 1000)},
        "faces": {"N": str(stored.faces)},
        "photos": {"N": str(stored.photos)},
    }
    if stored.faces > 0 and stored.total.any():  # zeros: a face collection keeps them
        item["total"] = {"B": stored.total.astype("<f4").tobytes()}
        # float16: a representative only decides "near or not", to about 1e-3
        item["reps"] = {"M": {r: {"B": v.astype("<f2").tobytes()} for r, v in stored.reps.items()}}
    if stored.name:
        item["name"] = {"S": stored.name}
    if stored.cover_key is not None:
        item["cover_key"] = {"S": stored.cover_key}
        item["cover_conf"] = {"N": repr(stored.cover_conf)}
        if stored.cover_box is not None:
            item["cover_box"] = {"S": json.dumps(stored.cover_box)}
    if stored.merged_into is not None:
        item["merged_into"] = {"N": str(stored.merged_into)}
    if stored.absorbed:
        item["absorbed"] = {"NS": [str(n) for n in sorted(stored.absorbed)]}
    return item


def create_people_table(client: Any, table: str) -> None:
    """Create a people table (on-demand, with ``by_seq`` and ``by_person``): for tests,
    benches and emulators; production tables come from ``infra/terraform``."""
    keys = [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]
    client.create_table(
        TableName=table,
        KeySchema=keys,
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "seq", "AttributeType": "N"},
            {"AttributeName": "person", "AttributeType": "N"},
        ],
        LocalSecondaryIndexes=[{
            "IndexName": SEQ_INDEX,
            "KeySchema": [keys[0], {"AttributeName": "seq", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "ALL"},
        }],
        GlobalSecondaryIndexes=[{
            "IndexName": PERSON_INDEX,
            "KeySchema": [
                {"AttributeName": "person", "KeyType": "HASH"},
                {"AttributeName": "pk", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "KEYS_ONLY"},
        }],
        BillingMode="PAY_PER_REQUEST",
    )  # fmt: skip
    client.get_waiter("table_exists").wait(TableName=table)
