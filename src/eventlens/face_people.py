"""The people analyzer's port to the faces seen before, and what a person is.

The analyzer (``eventlens.analyzers.people``) hands each photo's face descriptors to a
``PeopleIndex``; the results side keeps them and the people they form
(``eventlens.results.people_sqlite``), so neither knows the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

#: a new face joins a person with a face closer than this (Euclidean, dlib's descriptors):
#: dlib's documented operating point, below the 0.66 that the tuning people of
#: ``bench/people_set`` allow (too few pairs to trust more; bench/RESULTS.md)
DEFAULT_THRESHOLD = 0.6


@dataclass(frozen=True, slots=True)
class FaceEntry:
    """One face of one photo: its number in the photo's ``FaceDetails`` order, descriptor and
    box (Rekognition's ``BoundingBox``, for thumbnails)."""

    key: str
    index: int
    descriptor: np.ndarray[Any, np.dtype[np.float32]]
    box: dict[str, float] | None = None
    confidence: float = 0.0


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


def person_id(number: int) -> str:
    return f"P{number}"


def person_number(text: str) -> int | None:
    """The number of a person id ("P12" or "p12"), None if ``text`` is not one."""
    if len(text) > 1 and text[0] in "Pp" and text[1:].isdigit():
        return int(text[1:])
    return None
