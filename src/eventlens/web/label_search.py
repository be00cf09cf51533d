"""The label filter reads what people type: ``people`` lists the ``Person`` records, ``Cats``
the ``Cat`` ones; when no label matches, it says so and suggests labels that exist."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from eventlens.results.label_match import closest_labels, matching_labels
from eventlens.web.labels import LabelCatalogue
from eventlens.web.listing import Listing

SUGGESTIONS = 6


@dataclass(frozen=True, slots=True)
class LabelNote:
    typed: str
    shown: str | None  # the label listed instead of what was typed; None: none matched
    others: tuple[str, ...] = ()  # other labels the typed word means
    suggestions: tuple[str, ...] = field(default=())  # when none matched


def resolve_label(listing: Listing, labels: LabelCatalogue) -> tuple[Listing, LabelNote | None]:
    """The listing with its label replaced by the existing label it means, and a note when
    that is not what was typed (or when nothing matched); unchanged without a label filter."""
    if not listing.label:
        return listing, None
    names = [entry.name for entry in labels.entries(listing.scope, covers=False)]
    found = matching_labels(listing.label, names)
    if not found:
        close = closest_labels(listing.label, names, SUGGESTIONS) or names[:SUGGESTIONS]
        return listing, LabelNote(listing.label, None, suggestions=tuple(close))
    if found[0] == listing.label:
        return listing, None
    note = LabelNote(listing.label, found[0], tuple(found[1:]))
    return replace(listing, label=found[0]), note
