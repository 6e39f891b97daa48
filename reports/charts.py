"""The PNG chart of /financial_report: net sales per day, week or month as bars, the orders as a
line on their own axis (vpnbot/core/charts.py draws it). Like the other apps' bot charts, its
words are English: matplotlib does not join Persian letters."""

from __future__ import annotations

from vpnbot.core.charts import chart_png

MAX_TICKS = 12


def financial_chart(data: dict, *, label: str, currency: str) -> bytes:
    """data: reports.services.series(period) ({"labels", "net_amount", "orders", ...})."""
    labels, net, orders = data["labels"], data["net_amount"], data["orders"]
    positions = list(range(len(labels)))

    def draw(ax):
        ax.bar(positions, net, color="#3b82f6", label=f"Net sales ({currency})")
        ax.set_ylabel(f"Net sales ({currency})")
        ax.yaxis.set_major_formatter(_thousands())
        every = max(1, -(-len(labels) // MAX_TICKS))
        ax.set_xticks(positions[::every], labels[::every], rotation=35, ha="right", fontsize=8)
        ax.margins(x=0.01)
        line = ax.twinx()
        line.plot(positions, orders, color="#f59e0b", marker="o" if len(labels) <= 31 else "", linewidth=1.8,
                  label="Orders")
        line.set_ylabel("Orders")
        line.set_ylim(bottom=0, top=max(max(orders, default=0) * 1.2, 1))
        line.yaxis.get_major_locator().set_params(integer=True)
        bars, names = ax.get_legend_handles_labels()
        dots, more = line.get_legend_handles_labels()
        ax.legend(bars + dots, names + more, loc="upper left", fontsize=8)

    return chart_png(draw, size=(8, 4), title=f"Financial report {label}")


def _thousands():
    from matplotlib.ticker import FuncFormatter  # loaded with the chart (vpnbot/core/charts.py)

    return FuncFormatter(lambda value, _pos: f"{int(value):,}")
