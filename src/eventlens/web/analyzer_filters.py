"""Which "has" filters can match: faces, text and duplicates come from analyzers that may be
off. The gallery offers only those whose analyzer is on somewhere in the listing's scope, and
says why a filter for one that is off matches nothing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

#: the "has" filter → the analyzers that write what it matches
SOURCES = {
    "faces": ("faces", "rekognition-faces"),
    "text": ("text", "rekognition-text"),
    "duplicates": ("duplicates",),
}


def available(
    analyzers: Mapping[str, Sequence[str]] | None, scope: Sequence[str]
) -> dict[str, bool]:
    """Each "has" filter → whether an analyzer of it is on in some environment of ``scope``
    (every one is, when the dashboard was not told the analyzers: a read-only AWS view)."""
    if analyzers is None:
        return dict.fromkeys(SOURCES, True)
    on = {name for env in scope for name in analyzers.get(env, ())}
    return {has: bool(on.intersection(sources)) for has, sources in SOURCES.items()}


def why_nothing_matches(
    analyzers: Mapping[str, Sequence[str]] | None, scope: Sequence[str], wanted: Sequence[str]
) -> str | None:
    """ "the faces analyzer is off: EVENTLENS_ANALYZERS=labels,image_properties", for the first
    wanted filter whose analyzers are off in the whole scope; None when all can match."""
    if analyzers is None:
        return None
    offered = available(analyzers, scope)
    for has in wanted:
        if not offered.get(has, True):
            configured = spec(analyzers, scope)
            return f"the {SOURCES[has][0]} analyzer is off: EVENTLENS_ANALYZERS={configured}"
    return None


def spec(analyzers: Mapping[str, Sequence[str]], scope: Sequence[str]) -> str:
    """The analyzers of ``scope`` as ``EVENTLENS_ANALYZERS`` would say them."""
    names = {env: tuple(analyzers.get(env, ())) for env in scope}
    if len(set(names.values())) == 1:
        return ",".join(next(iter(names.values())))
    return ";".join(f"{env}={','.join(found)}" for env, found in names.items())
