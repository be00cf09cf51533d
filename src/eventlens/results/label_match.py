"""What people type for a label, matched to the labels the store has: any case, plurals
(``Cats``, ``people``), and synonyms (``Human`` for ``Person``, ``Motorbike`` for
``Motorcycle``); and, when nothing matches, the labels that come closest."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

#: words that name the same thing (the first is the bundled models' and Rekognition's name)
SYNONYMS: tuple[frozenset[str], ...] = tuple(
    frozenset(group)
    for group in (
        {"person", "people", "human", "persons", "humans"},
        {"motorcycle", "motorbike"},
        {"bicycle", "bike", "cycle"},
        {"car", "automobile", "auto"},
        {"airplane", "aeroplane", "plane", "aircraft"},
        {"television", "tv"},
        {"couch", "sofa"},
        {"cellular telephone", "cell phone", "mobile phone", "smartphone", "phone"},
        {"cat", "kitty"},
        {"dog", "puppy"},
        {"cup", "mug"},
        {"sea", "ocean"},
    )
)
_IRREGULAR = {"people": "person", "children": "child", "mice": "mouse", "geese": "goose",
              "men": "man", "women": "woman", "teeth": "tooth", "feet": "foot"}  # fmt: skip


def singular(word: str) -> str:
    """An English singular, good enough for label names ("buses" → "bus", "ponies" →
    "pony", "glasses" stays "glass"); the last word of a phrase only."""
    head, _, last = word.rpartition(" ")
    lowered = last.casefold()
    if lowered in _IRREGULAR:
        last = _IRREGULAR[lowered]
    elif lowered.endswith("ies") and len(lowered) > 4:
        last = last[:-3] + "y"
    elif lowered.endswith(("ches", "shes", "sses", "xes", "zes", "uses")):
        last = last[:-2]
    elif lowered.endswith("s") and not lowered.endswith(("ss", "us", "is")) and len(last) > 2:
        last = last[:-1]
    return f"{head} {last}" if head else last


def spellings(term: str) -> set[str]:
    """Folded forms that name what ``term`` names: itself, its singular, their synonyms."""
    folded = " ".join(term.casefold().split())
    forms = {folded, singular(folded)}
    for group in SYNONYMS:
        if forms & group:
            forms |= group | {singular(word) for word in group}
    return forms


def matching_labels(term: str, existing: Iterable[str]) -> list[str]:
    """The existing label names ``term`` means: the exact one (any case) first, then the others
    in the order given (most records first, say)."""
    wanted = spellings(term)
    folded = term.casefold().strip()
    found = [name for name in existing
             if name.casefold() in wanted or singular(name.casefold()) in wanted]  # fmt: skip
    return sorted(found, key=lambda name: name.casefold() != folded)


def closest_labels(term: str, existing: Sequence[str], limit: int = 5) -> list[str]:
    """Existing labels spelled like ``term`` (a typo, a longer or shorter name)."""
    by_folded = {name.casefold(): name for name in existing}
    folded = singular(term.casefold().strip())
    close = difflib.get_close_matches(folded, list(by_folded), n=limit, cutoff=0.6)
    within = [f for f in by_folded if folded and (folded in f or f in folded) and f not in close]
    return [by_folded[f] for f in [*close, *within][:limit]]
