"""Server-side rendering helpers: the Jinja environment, its filters, and the chart set."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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

TEMPLATES = Path(__file__).parent / "templates"
MAX_BARS = 120  # the throughput chart shows at most the last this many buckets


def make_templates(environments: Sequence[str], *, has_queue: bool) -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES))
    templates.env.globals.update(
        version=__version__, environments=list(environments), has_queue=has_queue
    )
    templates.env.filters["findings"] = findings_summary
    templates.env.filters["when"] = format_epoch
    return templates


def format_epoch(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def findings_summary(findings: dict[str, Any]) -> list[str]:
    """Short lines for the other analyzers' output: "2 faces", "text: STOP, EXIT"."""
    lines: list[str] = []
    for name, value in sorted(findings.items()):
        items = value
        if isinstance(value, dict):
            items = next((v for v in value.values() if isinstance(v, list)), None)
        if isinstance(items, list):
            texts = [
                str(item.get("DetectedText") or item.get("text") or "")
                if isinstance(item, dict) else str(item)
                for item in items
            ]  # fmt: skip
            texts = [t for t in texts if t]
            if name.lower().startswith("text") and texts:
                lines.append(f"text: {', '.join(texts[:4])}" + (" …" if len(texts) > 4 else ""))
            else:
                lines.append(f"{len(items)} {name}")
        elif value not in (None, "", {}):
            lines.append(f"{name}: {str(value)[:60]}")
    return lines


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
            title=f"{start}: {b.ok} ok, {b.error} error",
        )
        for start in starts[-MAX_BARS:]
        for b in [by_start.get(start) or ThroughputBucket(start, 0, 0)]
    ]  # fmt: skip
    latency = [
        Bar("≤" + _ms(bound) if not math.isinf(bound) else ">" + _ms(LATENCY_BOUNDS_MS[-2]), n)
        for bound, n in zip(LATENCY_BOUNDS_MS, stats.latency_counts, strict=True)
    ]
    return {
        "throughput_svg": Markup(
            bar_chart(
                throughput, chart_id="chart-throughput",
                title=f"Records per {stats.granularity.value} (red: errors)",
            )
        ),
        "latency_svg": Markup(
            bar_chart(latency, chart_id="chart-latency", title="Processing time (duration_ms)",
                      colour="#8b5cf6")
        ),
        "labels_svg": Markup(
            hbar_chart(
                [(name, float(n)) for name, n in stats.top_labels],
                chart_id="chart-labels", title="Top labels",
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
