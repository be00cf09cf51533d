"""People whose faces' descriptors live in an Amazon Rekognition face collection (AWS mode,
``rekognition-faces`` with people on): one collection per environment, next to the
environment's DynamoDB people table, which keeps everything else exactly as
``people_dynamodb`` does (face, person, name items; ids, names, merges, splits, forget).

A photo: ``IndexFaces`` adds its faces to the collection (``ExternalImageId``: the key made
safe); each new face's ``SearchFaces`` (by its ``FaceId``, at ``FaceMatchThreshold``) lists
the collection's faces at least that similar, nearest first. Their face items (found through
a small ``faceid#<FaceId>`` item) name their people: this photo's earlier face (re-analysis)
keeps its person, else the nearest person is joined and the others matched are merged into
them (``DynamoDBPeopleIndex``'s rules: two people named differently stay apart), else a new
person starts. The face items keep the ``FaceId`` instead of a descriptor. After the table's
transaction the photo's replaced faces leave the collection (``DeleteFaces``); if it fails, the
faces just indexed leave it, so a retried event starts clean. Deleting a photo deletes its
faces from both; ``forget_all`` empties the collections as well as the tables.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from eventlens.aws_clients import client as make_client
from eventlens.aws_clients import error_code
from eventlens.face_people import CollectedFace, FaceEntry
from eventlens.results.base import table_for
from eventlens.results.people_centroids import F32
from eventlens.results.people_dynamodb import DynamoDBPeopleIndex, _Cache
from eventlens.results.people_items import StoredPerson, face_id_key, face_key, face_number

__all__ = ["DEFAULT_SIMILARITY", "RekognitionPeopleIndex", "external_image_id"]

#: SearchFaces' FaceMatchThreshold (similarity, 0-100) at which a face joins a person: above
#: the API's own default of 80 for the reason the bundled model's 0.46 is below dlib's 0.6 (a
#: face close to two people merges them, so a loose threshold chains people together). Not
#: measured on Rekognition here (no access from the tests); lower it for fewer people to merge
#: by hand, raise it for fewer wrong merges
DEFAULT_SIMILARITY = 90.0
#: matches read per face (nearest first)
MAX_MATCHES = 20
_DELETE_BATCH = 4096  # DeleteFaces' limit
_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-:]")


def external_image_id(key: str) -> str:
    """``key`` as an ExternalImageId (``[a-zA-Z0-9_.\\-:]+``, at most 255): other characters
    become ``_``, a long key keeps its end (the file name)."""
    return _UNSAFE.sub("_", key)[-255:] or "_"


class RekognitionPeopleIndex(DynamoDBPeopleIndex):
    def __init__(
        self,
        tables: Mapping[str, str],
        collections: Mapping[str, str],
        *,
        threshold: float = DEFAULT_SIMILARITY,
        client: Any | None = None,
        rekognition: Any | None = None,
    ) -> None:
        """``tables``/``collections`` map environment → people table / collection id."""
        super().__init__(tables, threshold=threshold, client=client)
        self.collections = dict(collections)
        self._rekognition = rekognition
        #: FaceId → its matches (FaceId, similarity), nearest first, for the photo at hand
        self._matches: dict[str, list[tuple[str, float]]] = {}

    @property
    def rekognition(self) -> Any:
        if self._rekognition is None:
            self._rekognition = make_client("rekognition", max_attempts=8)
        return self._rekognition

    # -- the port ------------------------------------------------------------------------

    def assign_image(
        self, environment: str, key: str, image: dict[str, Any]
    ) -> list[CollectedFace]:
        collection = self._collection(environment)
        answer = self.rekognition.index_faces(
            CollectionId=collection, Image=image, ExternalImageId=external_image_id(key),
            DetectionAttributes=["DEFAULT"], QualityFilter="AUTO",
        )  # fmt: skip
        records = sorted(
            (r["Face"] for r in answer.get("FaceRecords", [])),
            key=lambda face: -float(face.get("Confidence", 0.0)),
        )
        new_ids = [str(face["FaceId"]) for face in records]
        old_ids = self._face_ids(environment, key)
        try:
            for face_id in new_ids:
                self._matches[face_id] = self._search(collection, face_id, set(new_ids))
            entries = [_entry(key, i, face) for i, face in enumerate(records)]
            people = self.assign(environment, key, entries)
        except BaseException:
            self._delete_faces(collection, new_ids, quietly=True)
            raise
        finally:
            for face_id in new_ids:
                self._matches.pop(face_id, None)
        self._delete_faces(collection, [i for i in old_ids if i not in new_ids], quietly=True)
        return [
            CollectedFace(entry.box or {}, entry.confidence, person)
            for entry, person in zip(entries, people, strict=True)
        ]

    def remove(self, environment: str, key: str) -> None:
        old_ids = self._face_ids(environment, key)
        super().remove(environment, key)
        self._delete_faces(self._collection(environment), old_ids)

    def forget_all(self) -> tuple[int, int]:
        counts = super().forget_all()
        for collection in sorted(set(self.collections.values())):
            ids: list[str] = []
            try:
                for page in self.rekognition.get_paginator("list_faces").paginate(
                    CollectionId=collection
                ):
                    ids += [str(face["FaceId"]) for face in page.get("Faces", [])]
            except Exception as exc:
                if error_code(exc) != "ResourceNotFoundException":
                    raise
            self._delete_faces(collection, ids)
        return counts

    # -- matching ------------------------------------------------------------------------

    def _refresh(self, environment: str) -> _Cache:
        return _Cache()  # the collection matches: no descriptors to read

    def _choose(
        self,
        environment: str,
        cache: _Cache,
        face: FaceEntry,
        previous: list[tuple[StoredPerson, dict[str, Any], F32]],
        used: set[int],
        loaded: dict[int, StoredPerson],
    ) -> StoredPerson | None:
        matches = self._matches.get(face.face_id or "", [])
        earlier = {
            item["face_id"]["S"]: stored for stored, item, _ in previous if "face_id" in item
        }
        for face_id, _ in matches:  # re-analysis: the photo's earlier face keeps its person
            stored = earlier.get(face_id)
            if stored is not None and stored.number not in used and stored.faces > 0:
                return stored
        numbers = [
            number
            for face_id, _ in matches
            if face_id not in earlier
            and (number := self._person_of_face(environment, face_id)) is not None
        ]
        return self._join(environment, numbers, used, loaded)

    def _extra_writes(
        self, environment: str, old_items: list[dict[str, Any]], new_items: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        table = self._table(environment)
        new_ids = {i["face_id"]["S"] for i in new_items if "face_id" in i}
        writes: list[dict[str, Any]] = [
            {"Put": {"TableName": table, "Item": _link(i)}} for i in new_items if "face_id" in i
        ]
        writes += [
            {"Delete": {"TableName": table, "Key": face_id_key(i["face_id"]["S"])}}
            for i in old_items
            if "face_id" in i and i["face_id"]["S"] not in new_ids
        ]
        return writes

    def _person_of_face(self, environment: str, face_id: str) -> int | None:
        """The person number of a collection face's face item (None: a face no item has, such
        as one of a photo being analysed at the same time)."""
        link = self._get(environment, face_id_key(face_id))
        if link is None:
            return None
        item = self._get(environment, face_key(link["key"]["S"], int(link["face"]["N"])))
        if item is None or item.get("face_id", {}).get("S") != face_id:
            return None
        return int(item["person"]["N"])

    def _search(self, collection: str, face_id: str, skip: set[str]) -> list[tuple[str, float]]:
        answer = self.rekognition.search_faces(
            CollectionId=collection, FaceId=face_id, MaxFaces=MAX_MATCHES,
            FaceMatchThreshold=self.threshold,
        )  # fmt: skip
        found = [
            (str(m["Face"]["FaceId"]), float(m.get("Similarity", 0.0)))
            for m in answer.get("FaceMatches", [])
            if str(m["Face"]["FaceId"]) not in skip
        ]
        return sorted(found, key=lambda match: -match[1])

    # -- the collection ------------------------------------------------------------------

    def _face_ids(self, environment: str, key: str) -> list[str]:
        return [
            item["face_id"]["S"]
            for item in self._photo_faces(environment, key)
            if "face_id" in item
        ]

    def _delete_faces(self, collection: str, ids: Sequence[str], *, quietly: bool = False) -> None:
        """Delete faces from the collection; ``quietly``: a failure leaves them (a face no item
        names is never matched to anyone, and ``forget`` deletes it)."""
        for start in range(0, len(ids), _DELETE_BATCH):
            try:
                self.rekognition.delete_faces(
                    CollectionId=collection, FaceIds=list(ids[start : start + _DELETE_BATCH])
                )
            except Exception:
                if not quietly:
                    raise

    def _collection(self, environment: str) -> str:
        return table_for(self.collections, environment)


def _entry(key: str, index: int, face: dict[str, Any]) -> FaceEntry:
    box = {k: float(v) for k, v in face.get("BoundingBox", {}).items()}
    confidence = round(float(face.get("Confidence", 0.0)), 4)
    return FaceEntry(
        key, index, np.zeros(128, np.float32), box, confidence, face_id=str(face["FaceId"])
    )


def _link(item: dict[str, Any]) -> dict[str, Any]:
    """The ``faceid#`` item of a face item."""
    number = face_number(item["sk"]["S"])
    return face_id_key(item["face_id"]["S"]) | {"key": item["key"], "face": {"N": str(number)}}
