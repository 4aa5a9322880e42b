"""Server-side SVG bar charts: no JavaScript, no CDN, nothing the CSP has to allow.

Only presentation attributes are used (no ``style=``), and every label is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
from markupsafe import Markup

__all__ = ["Bar", "bar_chart"]

_ROW = 28
_LABEL_WIDTH = 170
_BAR_WIDTH = 300
_VALUE_WIDTH = 90


@attrs.frozen
class Bar:
    label: str
    value: float
    shown: str


def bar_chart(title: str, bars: Sequence[Bar], *, maximum: float | None = None) -> Markup:
    """A horizontal bar chart as inline SVG; ``maximum`` fixes the scale (100 for
    percentages), else the largest value fills the width."""
    top = max([maximum or 0.0, *(b.value for b in bars)]) or 1.0
    height = _ROW * len(bars) + 36
    width = _LABEL_WIDTH + _BAR_WIDTH + _VALUE_WIDTH
    # Markup.format escapes every argument: labels are data, never markup.
    parts = [
        Markup(
            '<svg class="chart" role="img" xmlns="http://www.w3.org/2000/svg" '
            'viewBox="0 0 {w} {h}" width="{w}" height="{h}"><title>{t}</title>'
            '<text x="0" y="16" font-size="14" font-weight="bold" fill="#1d2b3a">{t}</text>'
        ).format(w=width, h=height, t=title)
    ]
    for index, bar in enumerate(bars):
        y = 30 + index * _ROW
        parts.append(
            Markup(
                '<text x="0" y="{ty}" font-size="13" fill="#1d2b3a">{label}</text>'
                '<rect x="{x}" y="{ry}" width="{full}" height="16" fill="#e9eef3"/>'
                '<rect x="{x}" y="{ry}" width="{length}" height="16" fill="#00a0dc">'
                "<title>{label}: {shown}</title></rect>"
                '<text x="{vx}" y="{ty}" font-size="13" fill="#1d2b3a">{shown}</text>'
            ).format(
                ty=y + 15,
                ry=y + 3,
                x=_LABEL_WIDTH,
                full=_BAR_WIDTH,
                length=round(_BAR_WIDTH * max(bar.value, 0.0) / top),
                vx=_LABEL_WIDTH + _BAR_WIDTH + 8,
                label=bar.label,
                shown=bar.shown,
            )
        )
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)
