"""PNG charts for the dashboards the bot sends (CRM, discounts, notifications, reports).

matplotlib is heavy (tens of MB, about a second): it loads with the first chart, never at
start. A Figure is made per chart, without pyplot's global state, so threads may draw at once.
"""

from __future__ import annotations

import io
from collections.abc import Callable


def chart_png(draw: Callable, *, size: tuple[float, float] = (7, 3.5), title: str = "") -> bytes:
    """draw(axes) puts the data on one matplotlib Axes; returns the figure as PNG bytes."""
    import matplotlib  # heavy: loaded when the first chart is drawn (see the module's docstring)

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=size, dpi=100)
    axes = figure.add_subplot(1, 1, 1)
    draw(axes)
    if title:
        axes.set_title(title)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
