"""The people analyzer's port to the faces seen before, and what a person is.

The analyzer (``eventlens.analyzers.people``) hands each photo's face descriptors to a
``PeopleIndex``; the results side keeps them and the people they form
(``eventlens.results.people_sqlite`` locally, ``eventlens.results.people_dynamodb`` on AWS),
so neither knows the other. The CLI and the dashboard read and edit people through the wider
``PeopleStore``, which both stores implement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from eventlens.errors import Permanent

#: a new face joins a person with a face closer than this (Euclidean, dlib's descriptors):
#: the largest distance whose clustering purity on the tuning people of ``bench/people_set``
#: is >= 0.99 (``bench/people_eval.py``). dlib's 0.6 is a pairwise operating point: with many
#: photos of many people the incremental index chained 20 held-out people into 11 at 0.6
#: (a face near two people merges them); at 0.46 it found the 20 exactly (bench/RESULTS.md)
DEFAULT_THRESHOLD = 0.46


class PeopleError(Permanent, ValueError):
    """A request the people store refuses (unknown person, a name already taken ...)."""


@dataclass(frozen=True, slots=True)
class FaceEntry:
    """One face of one photo: its number in the photo's ``FaceDetails`` order, descriptor and
    box (Rekognition's ``BoundingBox``, for thumbnails)."""

    key: str
    index: int
    descriptor: np.ndarray[Any, np.dtype[np.float32]]
    box: dict[str, float] | None = None
    confidence: float = 0.0
    #: the face's id in a face collection, which keeps its descriptor instead (``descriptor``
    #: is then zeros and not stored)
    face_id: str | None = None


@dataclass(frozen=True, slots=True)
class Person:
    id: str  # "P12"
    name: str | None
    faces: int
    photos: int
    cover_key: str | None = None  # a photo of theirs, and the face's box in it
    cover_box: dict[str, float] | None = None


class PeopleIndex(Protocol):
    """The faces seen so far and the people they form, per environment."""

    def assign(self, environment: str, key: str, faces: Sequence[FaceEntry]) -> list[str]:
        """Replace the photo's faces with ``faces`` and return each one's person id: the
        person it had before (re-analysis keeps names), else the nearest person within the
        threshold (several such people are merged), else a new person."""
        ...

    def remove(self, environment: str, key: str) -> None:
        """Forget a deleted photo's faces (and people left without a face)."""
        ...


@dataclass(frozen=True, slots=True)
class CollectedFace:
    """A face a face collection found in a photo, and the person it was given."""

    box: dict[str, float]
    confidence: float
    person: str


@runtime_checkable
class FaceCollectionIndex(PeopleIndex, Protocol):
    """People whose faces' descriptors live in a face collection (Rekognition's): the
    collection finds the photo's faces, and the index gives each a person as ``assign`` does
    (same ids, names and merges). ``image`` is the service's own image argument (``Bytes`` or
    an opaque ``S3Object``), built by the analyzer."""

    #: the collection's similarity (0-100) at which a face joins a person
    threshold: float

    def assign_image(
        self, environment: str, key: str, image: dict[str, Any]
    ) -> list[CollectedFace]: ...


class PeopleStore(PeopleIndex, Protocol):
    """The people of each environment, for the CLI and the dashboard: read, name, merge,
    split, forget. A ref is a person id ("P12", also one merged away since) or a name."""

    threshold: float

    def people(self, environment: str) -> list[Person]:
        """Everyone of the environment, most photos first."""
        ...

    def find(self, environment: str, ref: str) -> Person:
        """A person by id or name (PeopleError if none)."""
        ...

    def photos_of(self, environment: str, ref: str) -> list[str]:
        """The keys of every photo the person is in, in key order."""
        ...

    def person_of(self, environment: str, key: str, face: int) -> str:
        """The person id of one face of a photo, as it is now."""
        ...

    def name(self, environment: str, ref: str, name: str | None) -> Person:
        """Name a person (None: remove the name); a name belongs to one person at a time."""
        ...

    def merge(self, environment: str, into: str, others: Sequence[str]) -> Person:
        """The faces of ``others`` become ``into``'s."""
        ...

    def split(self, environment: str, ref: str, keys: Sequence[str]) -> Person:
        """The person's faces in the photos ``keys`` become a new person."""
        ...

    def forget_all(self) -> tuple[int, int]:
        """Delete every descriptor and person: (faces, people) deleted."""
        ...

    def face_count(self, environment: str | None = None) -> int: ...

    def close(self) -> None: ...


def person_id(number: int) -> str:
    return f"P{number}"


def person_number(text: str) -> int | None:
    """The number of a person id ("P12" or "p12"), None if ``text`` is not one."""
    if len(text) > 1 and text[0] in "Pp" and text[1:].isdigit():
        return int(text[1:])
    return None
