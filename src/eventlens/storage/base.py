"""The storage port."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field

from eventlens.errors import Permanent, Skip


class ObjectUnavailable(Skip):
    """The object is gone, unreadable or outside the bucket; retrying will not help."""


class ObjectTooLarge(Permanent):
    """The object exceeds the configured size limit: an error record, not a skip."""


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    key: str
    size: int
    etag: str
    sequencer: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    #: when the bytes or the name last changed (a local file's ctime, in ns); None: unknown
    changed_ns: int | None = None


class ObjectStore(ABC):
    bucket: str

    @abstractmethod
    def stat(self, key: str) -> ObjectInfo:
        """Raises ObjectUnavailable when the object does not exist."""

    @abstractmethod
    def read(self, key: str, *, max_bytes: int) -> tuple[bytes, ObjectInfo]:
        """The object's bytes and the version they belong to. Raises ObjectTooLarge."""

    @abstractmethod
    def list(self, prefix: str) -> Iterator[ObjectInfo]: ...

    def exists(self, key: str) -> bool | None:
        """Whether the object exists, where that is cheap to know; None when it is not
        (S3: a removal event is trusted, ordered by its sequencer)."""
        return None

    @abstractmethod
    def write(self, key: str, data: bytes, metadata: dict[str, str] | None = None) -> ObjectInfo:
        """Store an object (used by ``eventlens upload`` and tests)."""
