"""Minimal SVG bar charts for the benchmark report (no plotting dependency)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape


def bar_chart(
    title: str,
    labels: Sequence[str],
    values: Sequence[float],
    unit: str,
    *,
    log: bool = False,
    width: int = 640,
) -> str:
    """A horizontal bar chart as an SVG document."""
    import math

    bar_h, gap, left, top = 26, 10, 230, 40
    height = top + len(labels) * (bar_h + gap) + 20
    plot_w = width - left - 110

    def scale(v: float) -> float:
        if not values or max(values) <= 0:
            return 0.0
        if log:
            lo = min(v for v in values if v > 0)
            hi = max(values)
            span = math.log10(hi) - math.log10(lo) or 1.0
            return plot_w * (0.05 + 0.95 * (math.log10(max(v, lo)) - math.log10(lo)) / span)
        return plot_w * v / max(values)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-family="sans-serif" font-size="13">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="15" '
        f'font-weight="bold">{escape(title)}</text>',
    ]
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = top + i * (bar_h + gap)
        w = max(scale(value), 1.0)
        text = f"{value:,.0f}" if abs(value) >= 10 else f"{value:,.2f}"
        parts += [
            f'<text x="{left - 8}" y="{y + bar_h * 0.7}" text-anchor="end">{escape(label)}</text>',
            f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="#3b6ea8"/>',
            f'<text x="{left + w + 6:.1f}" y="{y + bar_h * 0.7}">'
            f"{escape(text)} {escape(unit)}</text>",
        ]
    if log:
        parts.append(
            f'<text x="{width - 8}" y="{height - 6}" text-anchor="end" font-size="11" '
            f'fill="#666">log scale</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts)
