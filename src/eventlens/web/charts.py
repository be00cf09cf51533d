"""Server-side charts as inline SVG: no JavaScript, no CDN, readable without a network."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

_FONT = "font-family:system-ui,sans-serif;font-size:11px;fill:#4b5563"


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: float
    error: float = 0.0  # drawn stacked on top, in red (e.g. failed records)
    title: str = ""


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10.0 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return float(step * magnitude)
    return value


def _fmt(value: float) -> str:
    return f"{value:g}" if value < 10_000 else f"{value / 1000:g}k"


def bar_chart(
    bars: Sequence[Bar],
    *,
    chart_id: str,
    title: str,
    width: int = 640,
    height: int = 220,
    colour: str = "#3b82f6",
    max_x_labels: int = 12,
    x_title: str = "",
    y_title: str = "",
) -> str:
    """Vertical bars, each optionally with a red stacked part, a y axis and sparse x labels,
    and axis titles."""
    left, right, top, bottom = 54, 10, 24, 50
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = _nice_max(max((b.value + b.error for b in bars), default=0.0))
    parts = [
        f'<svg id="{escape(chart_id)}" class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'width="100%" preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<text x="{left}" y="14" style="{_FONT};font-size:13px;font-weight:600;fill:#222">'
        f"{escape(title)}</text>",
        _axis_titles(x_title, y_title, x=left + plot_w / 2, y=height - 6, mid=top + plot_h / 2),
    ]
    for i in range(5):
        value = peak * i / 4
        y = top + plot_h - plot_h * i / 4
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="#e5e7eb" stroke-width="1"/>'
            f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" style="{_FONT}">'
            f"{_fmt(value)}</text>"
        )
    if not bars:
        parts.append(
            f'<text x="{left + plot_w / 2}" y="{top + plot_h / 2}" text-anchor="middle" '
            f'style="{_FONT}">no data</text></svg>'
        )
        return "".join(parts)
    slot = plot_w / len(bars)
    bar_w = min(56.0, max(1.0, slot * 0.8))
    every = max(1, -(-len(bars) // max_x_labels))
    for i, bar in enumerate(bars):
        x = left + i * slot + (slot - bar_w) / 2
        ok_h = plot_h * bar.value / peak
        err_h = plot_h * bar.error / peak
        base = top + plot_h
        tip = escape(bar.title or f"{bar.label}: {_fmt(bar.value + bar.error)}")
        parts.append(
            f'<g class="bar"><title>{tip}</title>'
            f'<rect class="bar-ok" x="{x:.1f}" y="{base - ok_h:.1f}" width="{bar_w:.1f}" '
            f'height="{ok_h:.1f}" fill="{colour}" rx="1"/>'
        )
        if bar.error:
            parts.append(
                f'<rect class="bar-error" x="{x:.1f}" y="{base - ok_h - err_h:.1f}" '
                f'width="{bar_w:.1f}" height="{err_h:.1f}" fill="#ef4444" rx="1"/>'
            )
        parts.append("</g>")
        if i % every == 0:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{height - bottom + 14}" text-anchor="middle" '
                f'style="{_FONT}">{escape(bar.label)}</text>'
            )
    parts.append(
        f'<line x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}" '
        f'stroke="#9ca3af"/></svg>'
    )
    return "".join(parts)


def hbar_chart(
    rows: Sequence[tuple[str, float]],
    *,
    chart_id: str,
    title: str,
    width: int = 640,
    row_h: int = 22,
    colour: str = "#10b981",
    links: Sequence[str] | None = None,
    x_title: str = "",
) -> str:
    """Horizontal bars with the name on the left and the value at the bar's end; with
    ``links`` (one URL per row) each row is a link."""
    left, right, top = 130, 40, 26
    height = top + max(1, len(rows)) * row_h + 8 + (20 if x_title else 0)
    peak = max((v for _, v in rows), default=0.0) or 1.0
    plot_w = width - left - right
    parts = [
        f'<svg id="{escape(chart_id)}" class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'width="100%" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<text x="4" y="14" style="{_FONT};font-size:13px;font-weight:600;fill:#222">'
        f"{escape(title)}</text>",
    ]
    if not rows:
        parts.append(f'<text x="{left}" y="{top + 14}" style="{_FONT}">no data</text></svg>')
        return "".join(parts)
    for i, (name, value) in enumerate(rows):
        y = top + i * row_h
        w = max(1.0, plot_w * value / peak)
        row = (
            f'<g class="bar"><title>{escape(name)}: {_fmt(value)}</title>'
            f'<text x="{left - 6}" y="{y + row_h * 0.65:.1f}" text-anchor="end" '
            f'style="{_FONT};fill:#222">{escape(name[:20])}</text>'
            f'<rect x="{left}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" '
            f'fill="{colour}" rx="2"/>'
            f'<text x="{left + w + 4:.1f}" y="{y + row_h * 0.65:.1f}" style="{_FONT}">'
            f"{_fmt(value)}</text></g>"
        )
        if links is not None:
            row = f'<a href="{escape(links[i])}">{row}</a>'
        parts.append(row)
    if x_title:
        parts.append(_axis_titles(x_title, "", x=left + plot_w / 2, y=height - 6, mid=0))
    parts.append("</svg>")
    return "".join(parts)


def _axis_titles(x_title: str, y_title: str, *, x: float, y: float, mid: float) -> str:
    style = f"{_FONT};font-size:12px;fill:#374151"
    out = ""
    if x_title:
        out += (
            f'<text class="axis-title" x="{x:.1f}" y="{y:.1f}" text-anchor="middle" '
            f'style="{style}">{escape(x_title)}</text>'
        )
    if y_title:
        out += (
            f'<text class="axis-title" x="12" y="{mid:.1f}" text-anchor="middle" '
            f'transform="rotate(-90 12 {mid:.1f})" style="{style}">{escape(y_title)}</text>'
        )
    return out


def donut(fraction: float, *, chart_id: str, title: str, caption: str, size: int = 190) -> str:
    """A ring showing one fraction (the error rate), red on grey, with the percentage inside."""
    fraction = min(1.0, max(0.0, fraction))
    r = size * 0.38
    circumference = 2 * 3.141592653589793 * r
    c = size / 2
    return (
        f'<svg id="{escape(chart_id)}" class="chart" role="img" viewBox="0 0 {size} {size + 20}" '
        f'width="{size}" style="flex:none" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title>"
        f'<circle cx="{c}" cy="{c}" r="{r:.1f}" fill="none" stroke="#d1fae5" stroke-width="16"/>'
        f'<circle class="bar" cx="{c}" cy="{c}" r="{r:.1f}" fill="none" stroke="#ef4444" '
        f'stroke-width="16" stroke-dasharray="{circumference * fraction:.2f} '
        f'{circumference:.2f}" transform="rotate(-90 {c} {c})"/>'
        f'<text x="{c}" y="{c + 6}" text-anchor="middle" '
        f'style="font-family:system-ui,sans-serif;font-size:20px;font-weight:600;fill:#222">'
        f"{fraction * 100:.1f}%</text>"
        f'<text x="{c}" y="{size + 14}" text-anchor="middle" style="{_FONT};font-size:12px">'
        f"{escape(caption)}</text></svg>"
    )
