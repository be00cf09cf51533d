"""Render analysis records as the markdown report posted on pull requests / job summaries.

The first line is :data:`REPORT_MARKER`, an HTML comment the workflow searches for so it can
update its previous comment in place instead of adding a new one on every push.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

REPORT_MARKER = "<!-- eventlens-report -->"

Record = Mapping[str, Any]

# Characters with an inline meaning in GitHub-flavoured markdown inside a table cell (block
# markers such as "#", "-" or "1." only count at the start of a line, which a cell never is).
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
_WHITESPACE = re.compile(r"\s+")


def _escape_html(text: object) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape_cell(text: object) -> str:
    """Make arbitrary text safe inside a markdown table cell.

    HTML is neutralised (``& < >`` become entities, so a file name cannot inject tags or close
    the marker comment), markdown punctuation is backslash-escaped, ``|`` cannot split the
    cell, and line breaks collapse to spaces.
    """
    s = _escape_html(text)
    s = _WHITESPACE.sub(" ", s).strip()
    return _MD_SPECIAL.sub(r"\\\1", s)


def _confidence(value: Any) -> float | None:
    try:
        return float(Decimal(str(value)))
    except (InvalidOperation, ValueError, TypeError):
        return None


def top_labels(record: Record, limit: int = 5) -> list[tuple[str, float | None]]:
    """Labels sorted by confidence (highest first), at most ``limit``."""
    raw = record.get("labels") or []
    labels: list[tuple[str, float | None]] = []
    for item in raw:
        if isinstance(item, Mapping):
            name = item.get("Name", item.get("name"))
            conf = _confidence(item.get("Confidence", item.get("confidence")))
        else:
            name, conf = item, None
        if name is None:
            continue
        labels.append((str(name), conf))
    labels.sort(key=lambda nc: -1.0 if nc[1] is None else nc[1], reverse=True)
    return labels[:limit]


def _format_labels(record: Record, limit: int) -> str:
    labels = top_labels(record, limit)
    if not labels:
        return "—"
    parts = []
    for name, conf in labels:
        parts.append(escape_cell(name) if conf is None else f"{escape_cell(name)} ({conf:.1f}%)")
    return ", ".join(parts)


def record_status(record: Record | None) -> str:
    if record is None:
        return "missing"
    return str(record.get("status") or "unknown")


_STATUS_ICON = {"ok": "✅", "missing": "⏳"}


def render_report(
    results: Sequence[tuple[str, Record | None]] | Mapping[str, Record | None],
    *,
    environment: str,
    title: str | None = None,
    max_labels: int = 5,
    footer: str | None = None,
) -> str:
    """Markdown for ``(key, record-or-None)`` pairs, in the given order.

    ``None`` means no record was found (still processing, or never triggered).
    """
    rows: Iterable[tuple[str, Record | None]] = (
        results.items() if isinstance(results, Mapping) else results
    )
    rows = list(rows)
    counts: dict[str, int] = {}
    for _, record in rows:
        status = record_status(record)
        counts[status] = counts.get(status, 0) + 1

    heading = title or f"eventlens labels ({environment})"
    lines = [REPORT_MARKER, f"### {_escape_html(heading)}", ""]
    if not rows:
        lines.append("No changed images.")
    else:
        summary = ", ".join(f"{n} {escape_cell(s)}" for s, n in sorted(counts.items()))
        lines += [
            f"{len(rows)} image(s): {summary}",
            "",
            "| Image | Status | Top labels | Error |",
            "| --- | --- | --- | --- |",
        ]
        for key, record in rows:
            status = record_status(record)
            icon = _STATUS_ICON.get(status, "❌")
            error = "" if record is None else escape_cell(record.get("error") or "")
            labels = "—" if record is None else _format_labels(record, max_labels)
            lines.append(
                f"| {escape_cell(key)} | {icon} {escape_cell(status)} | {labels} | {error} |"
            )
    if footer:
        lines += ["", footer]
    return "\n".join(lines) + "\n"
