"""The people index in DynamoDB (AWS mode): the same port as ``people_sqlite``, one table
per environment (``<env>_people``), hash key ``pk``, range key ``sk`` (strings):

* a **face item** per face (``pk = "photo#<key>"``, ``sk = "face#<n>"``): ``person`` (the
  number it was given or split to), ``descriptor`` (128 float32, little-endian), ``box``,
  ``confidence``; and one **photo item** (``sk = "photo"``) with a ``version`` that makes two
  writers of the same photo take turns;
* a **person item** per person (``pk = "person"``, ``sk = "P<n>"``): ``name``, ``faces``,
  ``photos``, the cover face, and what matching needs: ``total`` (the sum of their
  descriptors) and up to 3 representative faces (``reps``); a ``version`` for conditional
  writes; ``seq`` (microseconds at the write) for the local index ``by_seq``, through which a
  warm Lambda reads only the people changed since its last look (``people_centroids``). A
  person merged into another keeps a small item with ``merged_into`` (the ids that records
  carry keep resolving); the person who stays lists them in ``absorbed``;
* a **name item** per name (``pk = "name#<casefolded name>"``): its ``owner``, so that a name
  belongs to one person (a conditional write);
* the **meta item** (``pk = "meta"``): ``next_person``, the counter new ids come from.

Face items are indexed by person (GSI ``by_person``, keys only) for a person's photos.

Every change of a photo's faces is one transaction: the photo item, its face items and the
person items it changes, each conditional on the version read; a conflict re-reads and tries
again. What can still race is in docs/aws.md ("People on AWS").
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from eventlens.aws_clients import client as make_client
from eventlens.errors import Transient
from eventlens.face_people import (
    DEFAULT_THRESHOLD,
    FaceEntry,
    PeopleError,
    Person,
    person_id,
    person_number,
)
from eventlens.results.base import table_for
from eventlens.results.people_centroids import F32, REPRESENTATIVES, Centroids
from eventlens.results.people_items import (
    LISTED,
    META,
    PEOPLE_PK,
    PERSON_INDEX,
    SEQ_INDEX,
    StoredPerson,
    create_people_table,
    descriptor_of,
    face_item,
    face_key,
    face_number,
    give_face,
    keys_of,
    name_key,
    person_item,
    person_key,
    photo_key,
    read_person,
    take_face,
)

__all__ = ["DynamoDBPeopleIndex", "PeopleConflict", "create_people_table"]

#: a warm cache re-reads the people changed in the last seconds before the newest change it
#: saw (a write that took its ``seq`` earlier but landed later), and everything after this
FULL_RELOAD_SECONDS = 600.0
LOOKBACK_MICROSECONDS = 5_000_000
TRIES = 8
_TRANSACTION = 100  # TransactWriteItems' limit
#: the longest wait between two attempts that lost to another writer (s)
_MAX_BACK_OFF = 0.4


def _back_off(attempt: int) -> None:
    """Full-jitter exponential back-off: two writers that keep losing to each other in lock
    step (a busy machine, the same photo) stop retrying at the same instants."""
    time.sleep(random.uniform(0.0, min(_MAX_BACK_OFF, 0.01 * 2**attempt)))


class PeopleConflict(Transient, RuntimeError):
    """Other writers kept changing the same people; the event is retried."""


class _Again(Transient, RuntimeError):
    """This attempt read people that changed since: start it again."""


@dataclass(slots=True)
class _Cache:
    centroids: Centroids = field(default_factory=Centroids)
    loaded_at: float = -1.0
    newest: int = 0  # the largest seq seen


class DynamoDBPeopleIndex:
    def __init__(
        self,
        tables: Mapping[str, str],
        *,
        threshold: float = DEFAULT_THRESHOLD,
        client: Any | None = None,
    ) -> None:
        """``tables`` maps environment → people table (e.g. beta → beta_people)."""
        self.tables = dict(tables)
        self.threshold = threshold
        self._client = client
        self._caches: dict[str, _Cache] = {}

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = make_client("dynamodb")
        return self._client

    # -- the port ------------------------------------------------------------------------

    def assign(self, environment: str, key: str, faces: Sequence[FaceEntry]) -> list[str]:
        for attempt in range(TRIES):
            try:
                done = self._assign_once(environment, key, faces)
            except _Again:
                done = None
            if done is not None:
                return done
            _back_off(attempt)
        raise PeopleConflict(f"people of {key!r}: other writers kept changing them")

    def remove(self, environment: str, key: str) -> None:
        self.assign(environment, key, [])

    # -- people ----------------------------------------------------------------------------

    def people(self, environment: str) -> list[Person]:
        found = [
            read_person(item).person()
            for item in self._query(environment, PEOPLE_PK, projection=LISTED)
            if int(item.get("faces", {"N": "0"})["N"]) > 0 and "merged_into" not in item
        ]
        return sorted(found, key=lambda p: (-p.photos, p.name is None, p.name or "", p.id))

    def find(self, environment: str, ref: str) -> Person:
        stored = self._find(environment, ref)
        if stored.cover_key is None:  # its cover photo was deleted: any face of theirs
            keys = self._photo_keys(environment, stored, limit=1)
            stored.cover_key = keys[0] if keys else None
        return stored.person()

    def photos_of(self, environment: str, ref: str) -> list[str]:
        return self._photo_keys(environment, self._find(environment, ref))

    def person_of(self, environment: str, key: str, face: int) -> str:
        item = self._get(environment, face_key(key, face))
        if item is None:
            raise PeopleError(f"no face {face} of {key!r}")
        return person_id(self._resolve(environment, int(item["person"]["N"])).number)

    def name(self, environment: str, ref: str, name: str | None) -> Person:
        name = (name or "").strip() or None
        for _ in range(TRIES):
            stored = self._find(environment, ref)
            if name is not None:
                owner = self._get(environment, name_key(name))
                if owner is not None and int(owner["owner"]["N"]) != stored.number:
                    other = person_id(int(owner["owner"]["N"]))
                    raise PeopleError(
                        f"{name!r} is already {other}: merge them instead "
                        f"(eventlens people merge {other} {person_id(stored.number)})"
                    )
            actions = self._rename(environment, stored, name)
            version = stored.version
            stored.name = name
            actions.append(self._put_person(environment, stored, version))
            if self._transact(actions):
                return self.find(environment, person_id(stored.number))
        raise PeopleConflict(f"naming {ref!r}: other writers kept changing them")

    def merge(self, environment: str, into: str, others: Sequence[str]) -> Person:
        target = self._find(environment, into)
        for ref in others:
            source = self._find(environment, ref)
            if source.number != target.number:
                self._merge(environment, target.number, source.number, force=True)
        return self.find(environment, person_id(target.number))

    def split(self, environment: str, ref: str, keys: Sequence[str]) -> Person:
        for _ in range(TRIES):
            person = self._find(environment, ref)
            moving: list[tuple[dict[str, Any], F32]] = []
            for key in dict.fromkeys(keys):
                for item in self._photo_faces(environment, key):
                    number = int(item["person"]["N"])
                    if self._resolve(environment, number).number == person.number:
                        moving.append((item, descriptor_of(item)))
            if not moving:
                raise PeopleError(f"{person_id(person.number)} is in none of those photos")
            if len(moving) >= person.faces:
                raise PeopleError(
                    f"those are all of {person_id(person.number)}'s faces: nothing to split off"
                )
            new = StoredPerson(self._new_number(environment), exists=False)
            version = person.version
            photos = {item["key"]["S"] for item, _ in moving}
            for item, vector in moving:
                take_face(person, item, vector)
                give_face(new, item, vector)
            person.photos -= len(photos)
            new.photos = len(photos)
            actions = [
                self._put_person(environment, person, version),
                self._put_person(environment, new, None),
            ]
            updates = [
                {
                    "Update": {
                        "TableName": self._table(environment),
                        "Key": keys_of(item),
                        "UpdateExpression": "SET person = :p",
                        "ExpressionAttributeValues": {":p": {"N": str(new.number)}},
                    }
                }
                for item, _ in moving
            ]
            if self._transact(actions + updates[: _TRANSACTION - len(actions)]):
                for update in updates[_TRANSACTION - len(actions) :]:
                    self.client.update_item(**update["Update"])
                return self.find(environment, person_id(new.number))
        raise PeopleConflict(f"splitting {ref!r}: other writers kept changing them")

    def forget_all(self) -> tuple[int, int]:
        faces = people = 0
        for table in sorted(set(self.tables.values())):
            doomed: list[dict[str, Any]] = []
            for page in self.client.get_paginator("scan").paginate(
                TableName=table, ProjectionExpression="pk, sk, faces, merged_into",
                ConsistentRead=True,
            ):  # fmt: skip
                for item in page.get("Items", []):
                    pk, sk = item["pk"]["S"], item["sk"]["S"]
                    faces += pk.startswith("photo#") and sk.startswith("face#")
                    people += pk == PEOPLE_PK and "merged_into" not in item and int(
                        item.get("faces", {"N": "0"})["N"]
                    ) > 0  # fmt: skip
                    if pk != "meta":  # the id counter: ids are never reused
                        doomed.append({"pk": item["pk"], "sk": item["sk"]})
            self._batch_delete(table, doomed)
        self._caches.clear()
        return faces, people

    def face_count(self, environment: str | None = None) -> int:
        envs = [environment] if environment is not None else list(self.tables)
        total = 0
        for env in envs:
            for page in self.client.get_paginator("scan").paginate(
                TableName=self._table(env), Select="COUNT", ConsistentRead=True,
                FilterExpression="begins_with(sk, :face)",
                ExpressionAttributeValues={":face": {"S": "face#"}},
            ):  # fmt: skip
                total += int(page["Count"])
        return total

    def close(self) -> None:
        self._caches.clear()

    # -- assigning -------------------------------------------------------------------------

    def _assign_once(
        self, environment: str, key: str, faces: Sequence[FaceEntry]
    ) -> list[str] | None:
        """One attempt; None when a conditional write lost to another writer."""
        # the version before the faces: a write after this read fails our condition
        photo = self._get(environment, photo_key(key))
        photo_version = int(photo["version"]["N"]) if photo else None
        old_items = self._photo_faces(environment, key)
        cache = self._refresh(environment)
        loaded: dict[int, StoredPerson] = {}
        previous = [
            (
                self._resolve(environment, int(item["person"]["N"]), loaded),
                item,
                descriptor_of(item),
            )
            for item in old_items
        ]
        used: set[int] = set()
        chosen: list[StoredPerson] = []
        for face in faces:
            person = self._choose(environment, cache, face, previous, used, loaded)
            if person is None:
                person = StoredPerson(self._new_number(environment), exists=False)
            used.add(person.number)
            chosen.append(person)
        touched = {p.number: p for p in chosen} | {p.number: p for p, _, _ in previous}
        versions = {n: (p.version if p.exists else None) for n, p in touched.items()}
        before = {n: self._photos_with(previous, n) for n in touched}
        for stored, item, vector in previous:
            take_face(stored, item, vector)
        new_items = []
        for face, person in zip(faces, chosen, strict=True):
            item = face_item(key, face, person.number)
            new_items.append(item)
            give_face(person, item, np.asarray(face.descriptor, np.float32))
        for number, person in touched.items():
            person.photos += (number in used) - before[number]
            if person.faces <= 0:
                person.faces, person.photos = 0, 0
        actions = [self._put_photo(environment, key, photo_version, bool(faces))]
        for number, person in touched.items():
            if person.faces == 0 and person.name:
                actions += self._rename(environment, person, None)
                person.name = None
            actions.append(self._put_person(environment, person, versions[number]))
        table = self._table(environment)
        face_writes = [{"Put": {"TableName": table, "Item": i}} for i in new_items]
        face_writes += self._extra_writes(environment, old_items, new_items)
        stale = {item["sk"]["S"] for item in old_items} - {i["sk"]["S"] for i in new_items}
        face_writes += [
            {
                "Delete": {
                    "TableName": self._table(environment),
                    "Key": face_key(key, face_number(sk)),
                }
            }
            for sk in sorted(stale)
        ]
        room = _TRANSACTION - len(actions)
        if not self._transact(actions + face_writes[:room]):
            self._caches.pop(environment, None)
            return None
        for write in face_writes[room:]:  # a crowd of faces: the rest after the people
            if "Put" in write:
                self.client.put_item(**write["Put"])
            else:
                self.client.delete_item(**write["Delete"])
        for person in touched.values():
            if person.faces > 0:
                cache.centroids.put(person.vectors())
            else:
                cache.centroids.drop(person.number)
        return [person_id(person.number) for person in chosen]

    def _choose(
        self,
        environment: str,
        cache: _Cache,
        face: FaceEntry,
        previous: list[tuple[StoredPerson, dict[str, Any], F32]],
        used: set[int],
        loaded: dict[int, StoredPerson],
    ) -> StoredPerson | None:
        """The person a face joins: the photo's earlier face's (re-analysis), else the nearest
        within the threshold; None: a new person."""
        vector = np.asarray(face.descriptor, np.float32)
        person = _previous_person(previous, vector, used, self.threshold)
        if person is None:
            person = self._nearest(environment, cache, vector, used, loaded)
        return person

    def _extra_writes(
        self, environment: str, old_items: list[dict[str, Any]], new_items: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """More writes of a photo's change, after its face items' (none here)."""
        return []

    @staticmethod
    def _photos_with(previous: list[tuple[StoredPerson, dict[str, Any], F32]], number: int) -> int:
        return int(any(stored.number == number for stored, _, _ in previous))

    def _nearest(
        self,
        environment: str,
        cache: _Cache,
        vector: F32,
        used: set[int],
        loaded: dict[int, StoredPerson],
    ) -> StoredPerson | None:
        """The nearest person within the threshold (the others within it merged into them
        unless two names disagree), read afresh."""
        numbers = [number for _, number in cache.centroids.within(vector, self.threshold)]
        return self._join(environment, numbers, used, loaded)

    def _join(
        self,
        environment: str,
        numbers: Sequence[int],
        used: set[int],
        loaded: dict[int, StoredPerson],
    ) -> StoredPerson | None:
        """The first of ``numbers`` (nearest first) as they are now, the others merged into
        them unless two names disagree; None if none has a face left."""
        candidates: list[int] = []
        for number in numbers:
            resolved = self._resolve(environment, number, loaded)
            fresh = resolved.number not in used and resolved.number not in candidates
            if resolved.faces > 0 and fresh:
                candidates.append(resolved.number)
        if not candidates:
            return None
        nearest, *others = candidates
        merged = False
        for other in others:
            nearest, done = self._merge(environment, nearest, other, force=False)
            merged = merged or done
        if merged:
            raise _Again  # the merge rewrote people this attempt read: read them again
        return loaded[nearest]

    def _merge(self, environment: str, keep: int, gone: int, *, force: bool) -> tuple[int, bool]:
        """Merge person ``gone`` into ``keep`` (into ``gone`` when only it has a name, unless
        ``force``); two people named differently stay apart unless ``force``."""
        for _ in range(TRIES):
            a, b = self._resolve(environment, keep), self._resolve(environment, gone)
            if a.number == b.number:
                return a.number, False
            if a.name and b.name and a.name.casefold() != b.name.casefold() and not force:
                return a.number, False
            if b.name and not a.name and not force:
                a, b = b, a
            versions = (a.version, b.version)
            shared = set(self._photo_keys(environment, a)) & set(self._photo_keys(environment, b))
            a.total = a.total + b.total
            a.faces += b.faces
            a.photos += b.photos - len(shared)
            for ref, vector in b.reps.items():
                if len(a.reps) < REPRESENTATIVES:
                    a.reps[ref] = vector
            if b.cover_conf > a.cover_conf and b.cover_key is not None:
                a.cover_key, a.cover_box, a.cover_conf = b.cover_key, b.cover_box, b.cover_conf
            a.absorbed |= {b.number} | b.absorbed
            actions: list[dict[str, Any]] = []
            if b.name and (a.name is None or a.name.casefold() == b.name.casefold()):
                # one name item: it passes to the person who stays
                name = a.name or b.name
                a.name = None
                actions += self._rename(environment, a, name, taking_from=b.number)
                a.name = name
            elif b.name:
                actions.append(
                    {"Delete": {"TableName": self._table(environment), "Key": name_key(b.name)}}
                )
            b.merged_into, b.faces, b.photos, b.name = a.number, 0, 0, None
            b.total, b.reps, b.absorbed = np.zeros(128, np.float32), {}, set()
            b.cover_key, b.cover_box = None, None
            actions += [
                self._put_person(environment, a, versions[0]),
                self._put_person(environment, b, versions[1]),
            ]
            if self._transact(actions):
                cache = self._caches.get(environment)
                if cache is not None:
                    cache.centroids.put(a.vectors())
                    cache.centroids.drop(b.number)
                return a.number, True
        raise PeopleConflict(f"merging P{gone} into P{keep}: other writers kept changing them")

    # -- reading ---------------------------------------------------------------------------

    def _refresh(self, environment: str) -> _Cache:
        """The environment's centroids: all people on a cold start (or after
        ``FULL_RELOAD_SECONDS``), else only those changed since the last look."""
        now = time.monotonic()
        cache = self._caches.get(environment)
        if cache is None or now - cache.loaded_at > FULL_RELOAD_SECONDS:
            cache = _Cache(loaded_at=now)
            items: Iterator[dict[str, Any]] = self._query(environment, PEOPLE_PK)
            self._caches[environment] = cache
        else:
            items = self._query(
                environment, PEOPLE_PK, index=SEQ_INDEX,
                after=max(cache.newest - LOOKBACK_MICROSECONDS, 0),
            )  # fmt: skip
        for item in items:
            stored = read_person(item)
            cache.newest = max(cache.newest, int(item.get("seq", {"N": "0"})["N"]))
            if stored.faces > 0 and stored.merged_into is None:
                cache.centroids.put(stored.vectors())
            else:
                cache.centroids.drop(stored.number)
        return cache

    def _find(self, environment: str, ref: str) -> StoredPerson:
        number = person_number(ref)
        if number is None:
            owner = self._get(environment, name_key(ref.strip()))
            if owner is None:
                raise PeopleError(f"no person {ref!r} in {environment!r}")
            number = int(owner["owner"]["N"])
        stored = self._resolve(environment, number)
        if stored.faces <= 0:
            raise PeopleError(f"no person {ref!r} in {environment!r}")
        return stored

    def _resolve(
        self, environment: str, number: int, loaded: dict[int, StoredPerson] | None = None
    ) -> StoredPerson:
        """The person ``number`` is now (following merges), read with a consistent read;
        ``loaded`` shares what was read within one attempt."""
        loaded = {} if loaded is None else loaded
        seen: set[int] = set()
        while number not in seen:
            seen.add(number)
            stored = loaded.get(number)
            if stored is None:
                item = self._get(environment, person_key(number))
                stored = read_person(item) if item else StoredPerson(number, exists=False)
                loaded[number] = stored
            if stored.merged_into is None:
                return stored
            number = stored.merged_into
        raise PeopleError(f"a loop of merges at P{number}")  # merges never point back: a guard

    def _photo_keys(
        self, environment: str, person: StoredPerson, limit: int | None = None
    ) -> list[str]:
        keys: set[str] = set()
        for number in sorted({person.number} | person.absorbed):
            pages = self.client.get_paginator("query").paginate(
                TableName=self._table(environment), IndexName=PERSON_INDEX,
                KeyConditionExpression="person = :p",
                ExpressionAttributeValues={":p": {"N": str(number)}},
            )  # fmt: skip
            for page in pages:
                keys.update(i["pk"]["S"].removeprefix("photo#") for i in page.get("Items", []))
                if limit is not None and len(keys) >= limit:
                    return sorted(keys)[:limit]
        return sorted(keys)

    def _photo_faces(self, environment: str, key: str) -> list[dict[str, Any]]:
        return [
            item
            for item in self._query(environment, f"photo#{key}")
            if item["sk"]["S"].startswith("face#")
        ]

    def _query(
        self,
        environment: str,
        pk: str,
        *,
        index: str | None = None,
        after: int | None = None,
        projection: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        condition, values = "pk = :pk", {":pk": {"S": pk}}
        if after is not None:
            condition += " AND seq > :after"
            values[":after"] = {"N": str(after)}
        extra: dict[str, Any] = {"IndexName": index} if index else {}
        if projection:
            extra["ProjectionExpression"] = projection
            extra["ExpressionAttributeNames"] = {"#n": "name"}
        pages = self.client.get_paginator("query").paginate(
            TableName=self._table(environment), KeyConditionExpression=condition,
            ExpressionAttributeValues=values, ConsistentRead=True, **extra,
        )  # fmt: skip
        for page in pages:
            yield from page.get("Items", [])

    def _get(self, environment: str, key: dict[str, Any]) -> dict[str, Any] | None:
        item = self.client.get_item(
            TableName=self._table(environment), Key=key, ConsistentRead=True
        ).get("Item")
        return dict(item) if item else None

    # -- writing ---------------------------------------------------------------------------

    def _new_number(self, environment: str) -> int:
        answer = self.client.update_item(
            TableName=self._table(environment), Key=META,
            UpdateExpression="ADD next_person :one",
            ExpressionAttributeValues={":one": {"N": "1"}}, ReturnValues="UPDATED_NEW",
        )  # fmt: skip
        return int(answer["Attributes"]["next_person"]["N"])

    def _transact(self, actions: list[dict[str, Any]]) -> bool:
        """All or nothing; False when a condition failed (another writer was first)."""
        try:
            self.client.transact_write_items(TransactItems=actions)
        except self.client.exceptions.TransactionCanceledException:
            return False
        return True

    def _put_person(
        self, environment: str, stored: StoredPerson, version: int | None
    ) -> dict[str, Any]:
        """Write ``stored`` if its item is still at ``version`` (None: does not exist)."""
        item = person_item(stored, (version or 0) + 1)
        put: dict[str, Any] = {"TableName": self._table(environment), "Item": item}
        if version is None:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put["ConditionExpression"] = "version = :v"
            put["ExpressionAttributeValues"] = {":v": {"N": str(version)}}
        stored.version = (version or 0) + 1
        stored.exists = True
        return {"Put": put}

    def _put_photo(
        self, environment: str, key: str, version: int | None, keep: bool
    ) -> dict[str, Any]:
        table = self._table(environment)
        condition: dict[str, Any] = (
            {"ConditionExpression": "attribute_not_exists(pk)"} if version is None else {
                "ConditionExpression": "version = :v",
                "ExpressionAttributeValues": {":v": {"N": str(version)}},
            }
        )  # fmt: skip
        if not keep:
            return {"Delete": {"TableName": table, "Key": photo_key(key), **condition}}
        item = photo_key(key) | {"version": {"N": str((version or 0) + 1)}}
        return {"Put": {"TableName": table, "Item": item, **condition}}

    def _rename(
        self, environment: str, stored: StoredPerson, name: str | None, *, taking_from: int = 0
    ) -> list[dict[str, Any]]:
        """The name items' writes for ``stored`` changing its name to ``name``: the old one
        deleted, the new one claimed if free (or ``stored``'s, or ``taking_from``'s)."""
        table = self._table(environment)
        actions: list[dict[str, Any]] = []
        old = stored.name.casefold() if stored.name else None
        new = name.casefold() if name else None
        if old is not None and old != new:
            actions.append({"Delete": {"TableName": table, "Key": name_key(old)}})
        if name is not None:
            actions.append({"Put": {
                "TableName": table,
                "Item": name_key(name) | {"owner": {"N": str(stored.number)}},
                "ConditionExpression": "attribute_not_exists(pk) OR #o IN (:me, :from)",
                "ExpressionAttributeNames": {"#o": "owner"},
                "ExpressionAttributeValues": {
                    ":me": {"N": str(stored.number)}, ":from": {"N": str(taking_from)},
                },
            }})  # fmt: skip
        return actions

    def _batch_delete(self, table: str, keys: list[dict[str, Any]]) -> None:
        for start in range(0, len(keys), 25):
            pending: dict[str, Any] = {
                table: [{"DeleteRequest": {"Key": k}} for k in keys[start : start + 25]]
            }
            while pending:
                answer = self.client.batch_write_item(RequestItems=pending)
                pending = answer.get("UnprocessedItems") or {}

    def _table(self, environment: str) -> str:
        return table_for(self.tables, environment)


def _previous_person(
    previous: list[tuple[StoredPerson, dict[str, Any], F32]],
    vector: F32,
    used: set[int],
    threshold: float,
) -> StoredPerson | None:
    """Re-analysis: the person of this photo's earlier face nearest the new one."""
    best: tuple[float, StoredPerson] | None = None
    for stored, _, old in previous:
        distance = float(np.linalg.norm(old - vector))
        if stored.number in used or distance > threshold or stored.merged_into is not None:
            continue
        if best is None or distance < best[0]:
            best = (distance, stored)
    return best[1] if best else None
