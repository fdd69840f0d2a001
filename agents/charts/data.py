"""A chart from the text of a `query_range` result, as the tool returned it to the model.

The text is what `mcpservers/prometheus/results.py` `matrix` wrote (JSON: the window, then each series'
labels, summary and `[unix seconds, value]` points), usually inside the untrusted-data fence
(`agents/mcp/output.py`). Anything else gives no chart, never an error: an instant result, a refusal, a
result cut to the output budget (no longer JSON), a result whose fence tag inside a label was defused
together with the JSON quote before it, or a document whose fields have other types. Everything
in it is treated as written by an attacker: label values come from the workloads Prometheus scrapes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from agents.charts.model import Chart, Series
from agents.charts.text import clean
from agents.charts.units import infer_unit
from agents.mcp.output import FENCE_CLOSE, FENCE_OPEN

MAX_TEXT = 1_000_000  # characters; a tool result is bounded by TOOL_RESULT_MAX_CHARS (16,000 by default)
MAX_POINTS = 2000  # per series; the server sends at most 500
LABEL_CHARS = 60
COMMON_CHARS = 200
QUERY_CHARS = 4000  # the server's own limit on a query
LATEST = 4102444800.0  # 2100-01-01: a later "unix time" is no time a chart can show
_OPEN = FENCE_OPEN.split("{source}", 1)[0]
_NON_FINITE = {"NaN": math.nan, "+Inf": math.inf, "-Inf": -math.inf}


def unfence(text: str) -> str:
    """The text inside the untrusted-data fence (its first and last lines), or the text as it is."""
    body = text.strip()
    if body.startswith(_OPEN):
        body = body.split("\n", 1)[1] if "\n" in body else ""
    if body.endswith(FENCE_CLOSE):
        body = body[: -len(FENCE_CLOSE)]
    return body.strip()


def chart_from_result(text: str, max_series: int = 5) -> Chart | None:
    """The chart of a range result: its first `max_series` series (they arrive ranked) that have at least
    two points, or None when the text is not a usable range result."""
    if not isinstance(text, str) or len(text) > MAX_TEXT:
        return None
    try:
        document = json.loads(unfence(text))
    except (ValueError, RecursionError):  # not JSON (cut, a refusal), or nested beyond the parser
        return None
    if not isinstance(document, dict):
        return None
    try:
        return _chart(document, max_series)
    except (ValueError, TypeError, OverflowError, RecursionError):  # a shape no check above foresaw
        return None


def _chart(document: dict[str, Any], max_series: int) -> Chart | None:
    query, start, end, step = (document.get(k) for k in ("query", "start", "end", "step"))
    result = document.get("result")
    if not (
        isinstance(query, str)
        and isinstance(start, str)
        and isinstance(end, str)
        and isinstance(step, str)
        and isinstance(result, list)
    ):
        return None
    common = _labels(document.get("labels_common"))
    kept: list[tuple[dict[str, str], tuple[tuple[float, float], ...]]] = []
    for item in result:
        if len(kept) >= max_series:
            break
        if not isinstance(item, dict):
            continue
        points = _points(item.get("points"))
        if len(points) >= 2:
            kept.append(({**common, **_labels(item.get("labels"))}, points))
    if not kept:
        return None
    shared = _shared([labels for labels, _ in kept])
    series = tuple(Series(_series_label(labels, shared, query), points) for labels, points in kept)
    total = document.get("series")
    if isinstance(total, bool) or not isinstance(total, int) or not len(series) <= total <= 10**9:
        total = max(len(series), len(result))
    return Chart(
        query=clean(query, QUERY_CHARS),
        start=clean(start, 40),
        end=clean(end, 40),
        step=clean(step, 40),
        unit=infer_unit(query),
        series=series,
        total_series=total,
        common=clean(_selector(shared, braces=False), COMMON_CHARS) if len(series) > 1 else "",
    )


def _labels(raw: Any) -> dict[str, str]:
    """A label set: its text keys with text values (anything else is left out)."""
    if not isinstance(raw, dict):
        return {}
    return {k: v for k, v in raw.items() if isinstance(k, str) and isinstance(v, str)}


def _number(raw: Any) -> float | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, str):
        return _NON_FINITE.get(raw)
    if not isinstance(raw, int | float):
        return None
    try:
        return float(raw)
    except OverflowError:  # an integer beyond a float: no value to draw
        return None


def _points(raw: Any) -> tuple[tuple[float, float], ...]:
    """The `[unix seconds, value]` pairs that are a time and a value, in time order."""
    if not isinstance(raw, list):
        return ()
    points: dict[float, float] = {}
    for pair in raw[:MAX_POINTS]:
        if not isinstance(pair, list) or len(pair) != 2:
            continue
        at, value = _number(pair[0]), _number(pair[1])
        if at is None or value is None or not 0 <= at <= LATEST:
            continue
        points[at] = value
    return tuple(sorted(points.items()))


def _shared(label_sets: list[dict[str, str]]) -> dict[str, str]:
    """The labels (name and value) every set has: said once in the chart's `common`, not per series."""
    if len(label_sets) < 2:
        return {}
    first, *others = label_sets
    return {k: v for k, v in first.items() if all(o.get(k) == v for o in others)}


def _selector(labels: Mapping[str, str], *, braces: bool = True) -> str:
    """`name{k="v", …}`, `name`, `{k="v", …}` (or `k="v", …` without braces)."""
    name = labels.get("__name__", "")
    pairs = ", ".join(
        f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in sorted(labels.items()) if k != "__name__"
    )
    if not pairs:
        return name
    return f"{name}{{{pairs}}}" if braces or name else pairs


def _series_label(labels: dict[str, str], shared: dict[str, str], query: str) -> str:
    """What sets a series apart from the others drawn (its metric name alone when nothing else does)."""
    own = {k: v for k, v in labels.items() if k not in shared}
    text = _selector(own) or labels.get("__name__", "") or _selector(labels) or query
    return clean(text, LABEL_CHARS) or "series"
