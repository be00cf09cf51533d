"""The result record: the seed's shape plus what a real system needs."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    OK = "ok"
    ERROR = "error"


ISO_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # UTC, as in ``timestamp``


def utc_now_iso() -> str:
    return datetime.now(UTC).strftime(ISO_FORMAT)


@dataclass(slots=True)
class Record:
    filename: str  # the object key, e.g. "rekognition-input/beta/cat.jpg"
    environment: str
    labels: list[dict[str, Any]] = field(default_factory=list)  # DetectLabels "Labels"
    timestamp: str = field(default_factory=utc_now_iso)
    branch: str = "local"
    label_count: int = 0
    analysis_method: str = ""
    s3_bucket: str = ""
    sha256: str = ""
    size: int = 0
    width: int | None = None
    height: int | None = None
    model_version: str = ""
    duration_ms: float = 0.0
    status: Status = Status.OK
    error: str | None = None
    etag: str | None = None
    sequencer: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    findings: dict[str, Any] = field(default_factory=dict)  # other analyzers: faces, text ...
    expires_at: int | None = None  # epoch seconds, DynamoDB TTL
    deleted_at: str | None = None  # ISO UTC time the object was deleted; None while it exists
    #: when the photo was taken: EXIF DateTimeOriginal as the camera's local time
    #: (``2024-07-14T15:02:11``), with ``+02:00`` appended when OffsetTimeOriginal says it
    captured_at: str | None = None

    def __post_init__(self) -> None:
        self.status = Status(self.status)
        self.label_count = len(self.labels)

    @property
    def ok(self) -> bool:
        return self.status is Status.OK

    def label_names(self) -> list[str]:
        return [str(label["Name"]) for label in self.labels]

    def specific_label_names(self) -> list[str]:
        """The labels no other label of this record names as a parent: "Cat", not "Animal"."""
        return specific_labels(self.labels)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Record:
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        return cls(**known)


def specific_labels(labels: list[dict[str, Any]]) -> list[str]:
    """Names of the labels that are not a parent (``Parents[].Name``) of another label in the
    same list, compared case-insensitively, in their order."""
    parents = {
        str(parent.get("Name", "")).casefold()
        for label in labels
        for parent in label.get("Parents") or []
        if isinstance(parent, dict)
    }
    return [str(label["Name"]) for label in labels if str(label["Name"]).casefold() not in parents]
