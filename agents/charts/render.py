"""A chart as a small PNG (about 800×400 pixels), drawn with matplotlib's Agg renderer.

Called from worker threads, so only matplotlib's object API is used (a `Figure` with its own
`FigureCanvasAgg`), never pyplot and its global figures; and one chart is drawn at a time (`_LOCK`):
matplotlib's font cache and rcParams are process-wide, and its first use builds the font list. matplotlib
is imported on the first chart, so the bot starts without paying for it.

Every text drawn may come from a workload (label values) or from the model (the query), so: mathtext is
off (a `$…$` is drawn as written, and a crafted one cannot make the parser fail or spin), control and
format characters are removed, and each text is clipped to a length that fits the picture. Values the
axes cannot hold (NaN, ±Inf, beyond ±1e300) are gaps in their line; a chart with no value at all still
draws its window and says so.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import threading
from typing import TYPE_CHECKING, Any

from agents.charts.model import Chart, Series
from agents.charts.text import clean
from agents.charts.units import scale, tick_text

if TYPE_CHECKING:
    from matplotlib.axes import Axes

WIDTH, HEIGHT, DPI = 8.0, 4.0, 100  # inches at 100 dpi: 800×400 pixels
TITLE_CHARS = 95
LABEL_CHARS = 60
CAPTION_QUERY_CHARS = 300
LARGEST = 1e300  # beyond this a value is a gap: the axis' range and its ticks must stay finite
LATEST = 4102444800.0  # 2100-01-01, the latest time drawn (the date axis cannot go past year 9999)
SAFE_TEXT: dict[Any, Any] = {
    "text.parse_math": False,  # `$\frac{a}{b}$` in a label is text, not mathtext
    "text.usetex": False,
    "axes.formatter.use_mathtext": False,
    "svg.fonttype": "none",
}
# What the date axis says once beside its ticks (ConciseDateFormatter's, with the zone): UTC always.
OFFSETS = ["UTC", "%Y UTC", "%Y-%b UTC", "%Y-%b-%d UTC", "%Y-%b-%d UTC", "%Y-%b-%d %H:%M UTC"]
_LOCK = threading.Lock()


def caption(chart: Chart) -> str:
    """The chart in plain text (the front end escapes it): its query, window and how many series it
    draws of how many."""
    shown, total = len(chart.series), max(chart.total_series, len(chart.series))
    return (
        f"{clean(chart.query, CAPTION_QUERY_CHARS)} · {clean(chart.start, 40)} – {clean(chart.end, 40)}, "
        f"step {clean(chart.step, 40)} · {shown} of {total} series"
    )


def footnote(chart: Chart, dropped_infinite: bool) -> str:
    shown, total = len(chart.series), max(chart.total_series, len(chart.series))
    parts = [
        f"{shown} of {total} series",
        f"{clean(chart.start, 40)} – {clean(chart.end, 40)}",
        f"step {clean(chart.step, 40)}",
    ]
    if chart.common:
        parts.append(f"all: {clean(chart.common, 80)}")
    if dropped_infinite:
        parts.append("±Inf not drawn")
    return " · ".join(parts)


def render_png(chart: Chart) -> bytes:
    """The chart as PNG bytes: its series as lines with a legend, UTC times along x, values in the unit."""
    with _LOCK:
        import matplotlib

        with matplotlib.rc_context(SAFE_TEXT):
            figure = _figure(chart)
            buffer = io.BytesIO()
            figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def _seconds(text: str) -> float | None:
    """Unix seconds of an RFC3339 time within what a chart shows, or None."""
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    try:
        seconds = moment.timestamp()
    except (OverflowError, OSError, ValueError):
        return None
    return seconds if 0 <= seconds <= LATEST else None


def _drawable(points: tuple[tuple[float, float], ...]) -> tuple[list[float], list[float], bool]:
    """(times, values, whether an infinite value was left out) of the points a chart can place."""
    times: list[float] = []
    values: list[float] = []
    infinite = False
    for at, value in sorted(p for p in points if isinstance(p[0], float | int) and math.isfinite(p[0])):
        if not 0 <= at <= LATEST:
            continue
        if math.isinf(value):
            infinite = True
        times.append(float(at))
        values.append(float(value) if math.isfinite(value) and abs(value) <= LARGEST else math.nan)
    return times, values, infinite


def _glyphs() -> Any:
    """`text` with each character the default font cannot draw as "?" (matplotlib would warn once per
    character: a label can hold thousands of them)."""
    from matplotlib.font_manager import FontProperties, findfont, get_font

    font = get_font(findfont(FontProperties()))
    known: dict[str, bool] = {}

    def drawable(text: str) -> str:
        for char in set(text):
            if char not in known:
                known[char] = char.isascii() or font.get_char_index(ord(char)) != 0
        return "".join(c if known[c] else "?" for c in text)

    return drawable


def _figure(chart: Chart) -> Any:
    from matplotlib import dates, ticker
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.text import Text

    drawable = _glyphs()

    figure = Figure(figsize=(WIDTH, HEIGHT), dpi=DPI)
    # A fixed layout (no layout engine: they cost a third of the drawing time): the title above the axes,
    # the times, the legend (two columns, up to three rows) and the footnote below.
    figure.subplots_adjust(left=0.1, right=0.98, top=0.92, bottom=0.3)
    FigureCanvasAgg(figure)
    ax: Axes = figure.add_subplot()
    epoch = dates.date2num(dt.datetime(1970, 1, 1, tzinfo=dt.UTC))
    drawn = [_drawable(s.points) for s in chart.series]
    finite = [abs(v) for _, values, _ in drawn for v in values if math.isfinite(v)]
    divisor, suffix = scale(chart.unit, max(finite, default=0.0))
    for series, (times, values, _) in zip(chart.series, drawn, strict=True):
        ax.plot(
            [epoch + t / 86400 for t in times],
            [v / divisor for v in values],
            label=drawable(clean(series.label, LABEL_CHARS)) or "series",
            linewidth=1.2,
            marker="o" if len(times) < 40 else None,
            markersize=2.5,
        )
    start, end = _seconds(chart.start), _seconds(chart.end)
    every = [t for times, _, _ in drawn for t in times]
    if start is None or end is None or end <= start:
        start, end = (min(every), max(every)) if every else (0.0, 0.0)
    if end - start < 1:
        start, end = start - 60, end + 60
    ax.set_xlim(epoch + start / 86400, epoch + end / 86400)
    locator = dates.AutoDateLocator(tz=dt.UTC, minticks=3, maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(dates.ConciseDateFormatter(locator, tz=dt.UTC, offset_formats=OFFSETS))
    if not finite:
        ax.set_ylim(0, 1)
        ax.text(0.5, 0.5, "no value to draw (NaN)", ha="center", va="center", transform=ax.transAxes)
    ax.yaxis.set_major_formatter(_formatter(ticker, suffix))
    if chart.unit == "seconds/s":
        ax.set_ylabel("seconds per second", fontsize=8)
    ax.set_title(drawable(clean(chart.query, TITLE_CHARS)) or "query", fontsize=9, loc="left")
    ax.tick_params(labelsize=8)
    ax.xaxis.get_offset_text().set_fontsize(7)
    ax.grid(True, linewidth=0.4, alpha=0.5)
    if chart.series:
        figure.legend(
            loc="upper center", bbox_to_anchor=(0.5, 0.205), ncols=2, fontsize=7, frameon=False, borderpad=0
        )
    note = footnote(chart, any(inf for _, _, inf in drawn))
    figure.text(0.01, 0.015, drawable(note), fontsize=7, color="#555555")
    for text in figure.findobj(Text):
        text.set_parse_math(False)  # rc_context covers the texts made while drawing; these are set here
    return figure


def _formatter(ticker: Any, suffix: str) -> Any:
    class UnitFormatter(ticker.Formatter):
        """Tick labels in the chart's unit, with the decimals the ticks need."""

        def format_ticks(self, values: list[float]) -> list[str]:
            return [tick_text(x, suffix, list(values)) for x in values]

        def __call__(self, x: float, pos: int | None = None) -> str:
            return tick_text(x, suffix, [x])

    return UnitFormatter()


def prepare() -> None:
    """Import matplotlib and build its font list now (2-3 s on a small node), in a worker thread at start,
    so the first answer's chart does not keep the next question in its thread waiting for that."""
    warmup = Series("up", ((0.0, 1.0), (60.0, 1.0)))
    render_png(Chart("up", "1970-01-01T00:00:00Z", "1970-01-01T00:01:00Z", "1m", "", (warmup,), 1, ""))
