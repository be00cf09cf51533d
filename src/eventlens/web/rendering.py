"""Server-side rendering helpers: the Jinja environment, its filters, and the chart set."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from eventlens import __version__
from eventlens.results.stats import (
    LATENCY_BOUNDS_MS,
    Granularity,
    Stats,
    ThroughputBucket,
    bucket_starts,
)
from eventlens.web.charts import Bar, bar_chart, donut, hbar_chart
from eventlens.web.folders import relative_path, short_path

TEMPLATES = Path(__file__).parent / "templates"
MAX_BARS = 120  # the throughput chart shows at most the last this many buckets


def make_templates(
    environments: Sequence[str],
    *,
    has_queue: bool,
    prefixes: Mapping[str, str] | None = None,
    has_people: bool = False,
) -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES))
    templates.env.globals.update(
        version=__version__, environments=list(environments), has_queue=has_queue,
        has_people=has_people,
    )  # fmt: skip
    prefixes = dict(prefixes or {})

    def path_in(key: str, env: str) -> str:
        return relative_path(key, prefixes.get(env, ""))

    templates.env.filters["findings"] = lambda found, env="": finding_chips(
        found, prefixes.get(env, "")
    )
    templates.env.filters["path_in"] = path_in
    templates.env.filters["short"] = short_path
    templates.env.filters["plural"] = plural
    templates.env.filters["when"] = format_epoch
    return templates


def format_epoch(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class Chip:
    text: str
    key: str | None = None  # a record of the same environment this chip links to


#: findings shown elsewhere than in chips (the record page's EXIF and colour panels)
_NOT_CHIPS = frozenset({"exif", "image_properties", "keep"})


def finding_chips(findings: dict[str, Any], env_prefix: str = "") -> list[Chip]:
    """Short chips for the other analyzers' output: "2 faces", "text: STOP, EXIT",
    "copy of holiday/cat.jpg" (linked; the path below ``env_prefix``), "moderation:
    Suggestive"."""
    chips: list[Chip] = []
    if not isinstance(findings, dict):
        return chips
    for name, value in sorted(findings.items()):
        if name in _NOT_CHIPS:
            continue
        if name == "duplicates" and isinstance(value, dict):
            original = value.get("DuplicateOf")
            if original:
                shown = short_path(relative_path(str(original), env_prefix))
                chips.append(Chip(f"copy of {shown}", str(original)))
            continue
        items = value
        if isinstance(value, dict):
            items = next((v for v in value.values() if isinstance(v, list)), None)
        if isinstance(items, list):
            chip = _list_chip(name, items)
            if chip:
                chips.append(chip)
        elif value not in (None, "") and not isinstance(value, dict):
            chips.append(Chip(f"{name}: {str(value)[:60]}"))
    return chips


def _list_chip(name: str, items: list[Any]) -> Chip | None:
    if not items:
        return None
    entries = [item for item in items if isinstance(item, dict)]
    if name.lower().startswith("text"):
        lines = [i for i in entries if i.get("Type") == "LINE"] or entries
        texts = [str(i.get("DetectedText") or i.get("text") or "") for i in lines]
        texts = [t for t in texts if t] or [str(i) for i in items if not isinstance(i, dict)]
        if texts:
            return Chip(f"text: {', '.join(texts[:4])}" + (" …" if len(texts) > 4 else ""))
    if name == "moderation":
        names = list(dict.fromkeys(str(i.get("Name", "")) for i in entries if i.get("Name")))
        if names:
            return Chip(f"moderation: {', '.join(names[:3])}")
    return Chip(plural(len(items), name.rstrip("s") if name.endswith("s") else name))


def plural(count: int, noun: str) -> str:
    """``1 face``, ``2 faces``, ``4 boxes``."""
    if count == 1:
        return f"{count} {noun}"
    return f"{count} {noun}es" if noun.endswith(("s", "x", "z", "ch", "sh")) else f"{count} {noun}s"


def findings_summary(findings: dict[str, Any]) -> list[str]:
    """The chips' texts."""
    return [chip.text for chip in finding_chips(findings)]


def render_charts(stats: Stats) -> dict[str, Markup]:
    short = {Granularity.MINUTE: 11, Granularity.HOUR: 5, Granularity.DAY: 5}
    cut = short.get(stats.granularity, 0)
    by_start = {b.start: b for b in stats.throughput}
    starts = (
        bucket_starts(stats.throughput[0].start, stats.throughput[-1].start, stats.granularity)
        if stats.throughput else []
    )  # fmt: skip
    throughput = [
        Bar(
            _bucket_label(start, stats.granularity, cut), b.ok, b.error,
            title=f"{start} UTC: {b.ok} ok, {b.error} error",
        )
        for start in starts[-MAX_BARS:]
        for b in [by_start.get(start) or ThroughputBucket(start, 0, 0)]
    ]  # fmt: skip
    latency = [
        Bar("≤" + _ms(bound) if not math.isinf(bound) else ">" + _ms(LATENCY_BOUNDS_MS[-2]), n)
        for bound, n in zip(LATENCY_BOUNDS_MS, stats.latency_counts, strict=True)
    ]
    unit = stats.granularity.value
    env = quote(stats.environment, safe="")
    return {
        "throughput_svg": Markup(
            bar_chart(
                throughput, chart_id="chart-throughput",
                title=f"Records per {unit} (red: errors)",
                x_title=f"{unit} (UTC)", y_title="records",
            )
        ),
        "latency_svg": Markup(
            bar_chart(latency, chart_id="chart-latency", title="Processing time per image",
                      colour="#8b5cf6", x_title="duration_ms, up to", y_title="records")
        ),
        "labels_svg": Markup(
            hbar_chart(
                [(name, float(n)) for name, n in stats.top_labels],
                chart_id="chart-labels", title="Top labels (each record's most specific)",
                links=[f"/?env={env}&label={quote(name, safe='')}" for name, _ in stats.top_labels],
                x_title="records",
            )
        ),
        "errors_svg": Markup(
            donut(stats.error_rate, chart_id="chart-errors", title="Error rate",
                  caption=f"{stats.errors} of {stats.total} records failed")
        ),
    }  # fmt: skip


def _bucket_label(start: str, granularity: Granularity, cut: int) -> str:
    if granularity is Granularity.HOUR:
        return start[cut:].replace("T", " ") + "h"
    return start[cut:].replace("T", " ")


def _ms(bound: float) -> str:
    return f"{bound / 1000:g}s" if bound >= 1000 else f"{bound:g}ms"
