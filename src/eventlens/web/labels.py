"""The labels of one or every environment, for the labels page and the label box's suggestions.

SQLite answers from the counts its triggers keep; other stores read every record, so their
summaries are reused for ``cache_s`` seconds (like the gallery's totals).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from eventlens.results.base import LabelSummary, ResultStore


@dataclass(frozen=True, slots=True)
class LabelEntry:
    name: str
    records: int
    specific: int  # records where it is the most specific label (0: only ever a parent)
    cover: str | None  # a key
    cover_env: str | None

    @property
    def is_parent_only(self) -> bool:
        return self.specific == 0


class LabelCatalogue:
    def __init__(self, store: ResultStore, *, cache_s: float = 0.0) -> None:
        self.store = store
        self.cache_s = cache_s
        self._cached: dict[tuple[str, bool], tuple[float, list[LabelSummary]]] = {}
        self._lock = threading.Lock()

    def summary(self, environment: str, *, covers: bool = True) -> list[LabelSummary]:
        if not self.cache_s:
            return self.store.label_summary(environment, covers=covers)
        now = time.monotonic()
        with self._lock:
            hit = self._cached.get((environment, covers)) or self._cached.get((environment, True))
            if hit and now - hit[0] < self.cache_s:
                return hit[1]
        fresh = self.store.label_summary(environment, covers=covers)
        with self._lock:
            self._cached[(environment, covers)] = (now, fresh)
        return fresh

    def entries(self, environments: Sequence[str], *, covers: bool = True) -> list[LabelEntry]:
        """Labels of these environments summed by name (any case), most specific first: those
        that are some record's most specific label by records, then parents-only ones."""
        merged: dict[str, LabelEntry] = {}
        for env in environments:
            for found in self.summary(env, covers=covers):
                key = found.name.casefold()
                seen = merged.get(key)
                if seen is None:
                    merged[key] = LabelEntry(
                        found.name, found.records, found.specific, found.cover, env
                    )
                else:
                    merged[key] = LabelEntry(
                        seen.name, seen.records + found.records, seen.specific + found.specific,
                        seen.cover or found.cover, seen.cover_env if seen.cover else env,
                    )  # fmt: skip
        return sorted(
            merged.values(), key=lambda e: (e.is_parent_only, -e.records, e.name.casefold())
        )
