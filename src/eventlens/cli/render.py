"""Printing records for people (Rich tables) and for programs (JSON)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from eventlens.results.finding_terms import items_of
from eventlens.results.record import Record

console = Console()
err_console = Console(stderr=True)


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def most_specific_first(labels: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Labels that are nobody's parent ("Cat") before their parents ("Feline", "Animal")."""
    parents = {str(p.get("Name")) for label in labels for p in label.get("Parents") or []}
    return sorted(labels, key=lambda label: str(label["Name"]) in parents)


def label_summary(record: Record, limit: int = 5) -> str:
    """Most specific labels first: "Cat 94%" before its parents "Feline", "Mammal" ..."""
    if not record.ok:
        return f"[red]{escape(record.error or '')}[/red]"
    if not record.labels:
        return "[dim]no label above the confidence threshold[/dim]"
    parts = [f"{label['Name']} {float(label['Confidence']):.0f}%"
             for label in most_specific_first(record.labels)]  # fmt: skip
    more = f" (+{len(parts) - limit})" if len(parts) > limit else ""
    return escape(", ".join(parts[:limit]) + more)


def findings_summary(record: Record, limit: int = 40) -> str:
    """One line for the other analyzers: faces, text, moderation, duplicates, video."""
    findings = record.findings if isinstance(record.findings, dict) else {}
    parts: list[str] = []
    if faces := items_of(findings.get("faces"), "FaceDetails"):
        parts.append(f"{len(faces)} face{'s' if len(faces) != 1 else ''}")
    lines = [
        str(d.get("DetectedText", ""))
        for d in items_of(findings.get("text"), "TextDetections")
        if d.get("Type") == "LINE"
    ]
    if lines:
        text = " / ".join(lines)
        parts.append(f'text "{text[:limit]}{"…" if len(text) > limit else ""}"')
    moderation = [
        str(label.get("Name", ""))
        for label in items_of(findings.get("moderation"), "ModerationLabels")
        if not label.get("ParentName")
    ]
    if moderation:
        parts.append("[yellow]moderation: " + ", ".join(moderation) + "[/yellow]")
    duplicates = findings.get("duplicates")
    if isinstance(duplicates, dict) and duplicates.get("DuplicateOf"):
        parts.append(f"duplicate of {duplicates['DuplicateOf']}")
    video = findings.get("video")
    if isinstance(video, dict):
        parts.append(f"video, {video.get('SampledFrames', 0)} frames sampled")
    return "; ".join(parts)


def records_table(records: Sequence[Record], title: str | None = None) -> Table:
    table = Table(title=title, show_lines=False)
    table.add_column("filename", overflow="fold")
    table.add_column("status")
    table.add_column("labels", overflow="fold")
    summaries = [findings_summary(record) for record in records]
    with_findings = any(summaries)  # image properties alone do not earn a column
    if with_findings:
        table.add_column("findings", overflow="fold")
    table.add_column("timestamp")
    for record, summary in zip(records, summaries, strict=True):
        status = "[green]ok[/green]" if record.ok else "[red]error[/red]"
        if record.deleted_at is not None:  # when: in --json and `results get --json`
            status += " [yellow](deleted)[/yellow]"
        row = [escape(record.filename), status, label_summary(record)]
        if with_findings:
            row.append(escape(summary))
        table.add_row(*row, record.timestamp)
    return table
