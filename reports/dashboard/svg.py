"""Bar charts as inline SVG, drawn here on the server: the dashboard needs no script and no
outside address to show them (the admin may run where the internet is not)."""

from __future__ import annotations

from collections.abc import Callable

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 640, 190
LEFT, RIGHT, TOP, BOTTOM = 8, 8, 18, 24


def bar_chart(labels: list[str], values: list[int], *, title: str, fmt: Callable[[int], str],
              color: str = "#417690") -> SafeString:
    """One bar per label; each bar's tooltip (<title>) names its label and value; the top value,
    zero and the first, middle and last labels are written on the chart."""
    n = max(len(values), 1)
    top = max(values, default=0) or 1
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = inner_w / n
    bar = max(step * 0.72, 1)
    parts = [f'<svg class="rpt-chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
             f'role="img" aria-label="{escape(title)}" direction="ltr">',
             f"<title>{escape(title)}</title>",
             f'<line x1="{LEFT}" y1="{TOP}" x2="{WIDTH - RIGHT}" y2="{TOP}" class="rpt-grid"/>',
             f'<line x1="{LEFT}" y1="{TOP + inner_h / 2:.1f}" x2="{WIDTH - RIGHT}" y2="{TOP + inner_h / 2:.1f}" '
             f'class="rpt-grid"/>',
             f'<line x1="{LEFT}" y1="{TOP + inner_h}" x2="{WIDTH - RIGHT}" y2="{TOP + inner_h}" class="rpt-axis"/>',
             f'<text x="{LEFT}" y="{TOP - 5}" class="rpt-tick">{escape(fmt(max(values, default=0)))}</text>']
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        h = inner_h * max(value, 0) / top
        x = LEFT + i * step + (step - bar) / 2
        parts.append(f'<rect x="{x:.1f}" y="{TOP + inner_h - h:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                     f'fill="{color}" data-value="{value}"><title>{escape(label)}: {escape(fmt(value))}</title></rect>')
    for i in sorted({0, len(labels) // 2, len(labels) - 1}):
        if 0 <= i < len(labels):
            x = LEFT + i * step + step / 2
            anchor = "start" if i == 0 else "end" if i == len(labels) - 1 else "middle"
            x = LEFT if anchor == "start" else WIDTH - RIGHT if anchor == "end" else x
            parts.append(f'<text x="{x:.1f}" y="{HEIGHT - 6}" text-anchor="{anchor}" class="rpt-tick">'
                         f"{escape(labels[i])}</text>")
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text in it was escaped above
