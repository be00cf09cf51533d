"""Duplicate groups a user can act on: which copy to keep, stored in the kept record's
``findings["keep"]`` (carried over when the record is analysed again), and the copies that
may then be moved to the trash folder. Nothing here touches a file."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from eventlens.results.base import Query, ResultStore
from eventlens.results.record import Record, utc_now_iso

KEEP = "keep"  # the findings key of the decision
GROUP_LIMIT = 24


def duplicate_of(record: Record) -> str | None:
    found = _findings(record).get("duplicates")
    original = found.get("DuplicateOf") if isinstance(found, dict) else None
    return str(original) if original else None


def is_kept(record: Record) -> bool:
    decision = _findings(record).get(KEEP)
    return isinstance(decision, dict) and decision.get("Keep") is True


def duplicate_group(store: ResultStore, record: Record, limit: int = GROUP_LIMIT) -> list[Record]:
    """The original and its copies (the record itself included), when it is either; records
    of deleted files (a copy moved to the trash) are left out."""
    original_key = duplicate_of(record) or record.filename
    copies = store.query(
        Query(record.environment, findings=(("duplicate", original_key),), limit=limit)
    )
    if not copies:
        return []
    original = record if original_key == record.filename else store.get(
        record.environment, original_key
    )  # fmt: skip
    live = original is not None and original.deleted_at is None
    return ([original] if original and live else []) + copies


def suggested_keep(group: list[Record]) -> Record | None:
    """The copy to keep when nobody chose: the decided one, else the most pixels, then the
    largest file, then the original (first seen)."""
    if not group:
        return None
    decided = [r for r in group if is_kept(r)]
    if decided:
        return decided[0]
    return max(
        enumerate(group), key=lambda item: ((item[1].width or 0) * (item[1].height or 0),
                                            item[1].size, -item[0]),
    )[1]  # fmt: skip


def decide(store: ResultStore, group: list[Record], key: str) -> Record:
    """Store "keep ``key``" in its record and take it off the group's other records. Raises
    KeyError when ``key`` is not in the group."""
    chosen = next((r for r in group if r.filename == key), None)
    if chosen is None:
        raise KeyError(f"{key!r} is not in this duplicate group")
    for record in group:
        if record.filename != key and KEEP in _findings(record):
            store.put(replace(record, findings={k: v for k, v in record.findings.items()
                                                if k != KEEP}))  # fmt: skip
    kept = replace(chosen, findings={**_findings(chosen),
                                     KEEP: {"Keep": True, "DecidedAt": utc_now_iso()}})  # fmt: skip
    store.put(kept)
    return kept


@dataclass(frozen=True, slots=True)
class Decided:
    kept: Record
    others: list[Record]  # the copies not kept (files may go to the trash)


def decided_groups(store: ResultStore, environment: str) -> list[Decided]:
    """Every duplicate group of the environment with a keep decision."""
    found: list[Decided] = []
    for record in store.iter_all(environment):
        if record.deleted_at is None and is_kept(record):
            group = duplicate_group(store, record, limit=1000)
            others = [r for r in group if r.filename != record.filename]
            found.append(Decided(record, others))
    return found


def _findings(record: Record) -> dict[str, Any]:
    return record.findings if isinstance(record.findings, dict) else {}
