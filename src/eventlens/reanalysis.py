"""Which records to analyse again: those made by other model versions or another analyzer set
than the configuration in force (the record's ``model_version`` names both), newest first."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from eventlens.events.base import ObjectEvent
from eventlens.results.label_match import matching_labels
from eventlens.results.record import Record


def is_stale(record: Record, model_version: str) -> bool:
    """Whether ``record`` was made by analyzers or model versions other than ``model_version``
    (``Pipeline.model_version``: the analyzers in force for its environment)."""
    return record.model_version != model_version


def newest_first(items: Iterable[tuple[str, ObjectEvent]]) -> Iterator[ObjectEvent]:
    """The events of (record timestamp, event) pairs, the newest record's first: the queue
    claims in the order it was given, so the top of the gallery is refreshed first."""
    for _, event in sorted(items, key=lambda item: (item[0], item[1].key), reverse=True):
        yield event


@dataclass(frozen=True, slots=True)
class Selection:
    """The records an explicit re-analysis names (``eventlens reanalyse``): by label, and by
    a key prefix given whole or below the environment's route prefix; deleted ones never."""

    route_prefix: str
    label: str | None = None
    prefix: str | None = None

    def accepts(self, record: Record) -> bool:
        if record.deleted_at is not None:
            return False
        if self.prefix is not None and not (
            record.filename.startswith(self.prefix)
            or record.filename.startswith(self.route_prefix + self.prefix.lstrip("/"))
        ):
            return False
        return self.label is None or has_label(record, self.label)


def has_label(record: Record, label: str) -> bool:
    """Any case, plurals and synonyms: ``cats``, ``people`` (``results.label_match``)."""
    return bool(matching_labels(label, record.label_names()))
