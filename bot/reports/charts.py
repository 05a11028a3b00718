"""The /stats chart: bars per trade (entries, published, people interested) above a line
per week (entries, people interested: the one interest figure, each person once a day per
trade, :mod:`models.interest`). matplotlib is imported here only, when a chart is drawn: the bot
without it stays small while idle (its Agg backend: no display, no GUI toolkit)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.i18n import plain
from models.stats import TradeFigures
from models.weekly import Week

if TYPE_CHECKING:
    from matplotlib.figure import Figure

TRADES_SHOWN = 10
COLOURS = {"chart.entries": "#1f5fa8", "chart.published": "#2e9e5b", "chart.interest": "#e07b00"}


def stats_figure(trades: Sequence[TradeFigures], weeks: Sequence[Week], language: str) -> Figure:
    """The chart as a matplotlib figure (what a test reads the bars from)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 7), dpi=100, layout="constrained")
    bars, line = figure.subplots(2, 1, height_ratios=(3, 2))
    shown = list(trades[:TRADES_SHOWN])[::-1]  # the largest at the top
    rows = range(len(shown))
    height = 0.27
    for offset, key in enumerate(("chart.interest", "chart.published", "chart.entries")):
        values = [getattr(trade, key.removeprefix("chart.")) for trade in shown]
        positions = [row + (offset - 1) * height for row in rows]
        label = _labels(language)[key]
        bars.barh(positions, values, height=height, color=COLOURS[key], label=label, gid=key)
    bars.set_yticks(list(rows), [_short(t.trade) for t in shown])
    bars.set_title(plain(language, "chart.by_trade"))
    bars.xaxis.get_major_locator().set_params(integer=True)
    figure.legend(loc="outside upper center", ncols=3, reverse=True)
    labels = [week.monday.strftime("%d/%m") for week in weeks]
    # Equal weeks must not hide a series: the entries as a wide line with large hollow
    # circles, the people interested on top, dashed, with small squares inside them.
    line.plot(
        labels,
        [week.entries for week in weeks],
        color=COLOURS["chart.entries"],
        linewidth=4,
        marker="o",
        markersize=11,
        markerfacecolor="white",
        markeredgewidth=2.5,
        gid="chart.entries",
        zorder=2,
    )
    line.plot(
        labels,
        [week.visitors for week in weeks],
        color=COLOURS["chart.interest"],
        linewidth=1.8,
        linestyle="--",
        marker="s",
        markersize=5,
        gid="chart.interest",
        zorder=3,
    )
    line.set_title(plain(language, "chart.by_week"))
    line.yaxis.get_major_locator().set_params(integer=True)
    line.set_ylim(bottom=0)
    return figure


def stats_chart(trades: Sequence[TradeFigures], weeks: Sequence[Week], language: str) -> bytes:
    """The chart as a PNG, drawn by the Agg backend."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    figure = stats_figure(trades, weeks, language)
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _labels(language: str) -> dict[str, str]:
    return {
        "chart.entries": plain(language, "chart.entries"),
        "chart.published": plain(language, "chart.published"),
        "chart.interest": plain(language, "chart.interest"),
    }


def _short(trade: str) -> str:
    return trade if len(trade) <= 28 else trade[:27] + "…"
