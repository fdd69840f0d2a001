"""Prometheus answers as compact JSON a model reads and a chart can be drawn from.

Each series keeps its labels, a summary (first, last, min, max with its time, avg) and its points as
`[unix seconds, value]` pairs; only the top k series by value are shown, with a note saying k of N. The
whole text stays within the result limit: points go first (from the lowest-ranked series), then series,
and the note says what was left out and how to see it.
"""

from __future__ import annotations

import json
import math
from typing import Any, Literal

from mcp.server.mcpserver.exceptions import ToolError

from mcpservers.prometheus.limits import Limits, format_duration, iso

Rank = Literal["last", "max"]
Number = float | str  # a float, or "NaN" / "+Inf" / "-Inf" (not valid JSON numbers)


def number(raw: Any) -> Number:
    """A sample value as a reader compares it: whole numbers exact (counts, bytes), fractions to 6
    significant digits, non-finite ones as text (JSON has no NaN)."""
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return str(raw)
    if not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("+Inf" if value > 0 else "-Inf")
    if value.is_integer() and abs(value) < 1e15:
        return int(value)
    return float(f"{value:.6g}")


def timestamp(raw: Any) -> float | int:
    value = float(raw)
    return int(value) if value.is_integer() else round(value, 3)


def encode(document: dict[str, Any]) -> str:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


def _sortable(value: Number | None) -> float:
    """Ranking key: NaN and missing values last, infinities where they belong."""
    if value is None or value == "NaN":
        return -math.inf
    if isinstance(value, str):
        return math.inf if value == "+Inf" else -math.inf
    return float(value)


def _summary(points: list[list[Any]]) -> dict[str, Any]:
    values = [(t, number(v)) for t, v in points]
    finite = [(t, v) for t, v in values if not isinstance(v, str)]
    summary: dict[str, Any] = {
        "first": values[0][1] if values else None,
        "last": values[-1][1] if values else None,
    }
    if finite:
        low = min(finite, key=lambda p: p[1])
        high = max(finite, key=lambda p: p[1])
        summary.update(
            min=low[1],
            max=high[1],
            max_at=iso(float(high[0])),
            avg=number(sum(float(v) for _, v in finite) / len(finite)),
        )
    return summary


def _common_labels(shown: list[dict[str, Any]]) -> dict[str, Any]:
    """Labels every shown series has (metric name, job, ...) said once, not per series: fewer characters
    and each series reads as what sets it apart. {} for one series (it keeps all its labels)."""
    if len(shown) < 2:
        return {}
    common = dict(shown[0]["labels"])
    for item in shown[1:]:
        common = {k: v for k, v in common.items() if item["labels"].get(k) == v}
    for item in shown:
        item["labels"] = {k: v for k, v in item["labels"].items() if k not in common}
    return {"labels_common": common} if common else {}


def matrix(series: list[dict[str, Any]], rank: Rank, k: int, limits: Limits, head: dict[str, Any]) -> str:
    """A range result: the top `k` series by their last (or max) value, each summarised, within limits."""
    shaped = []
    cut = 0
    for item in series:
        points = [[timestamp(t), number(v)] for t, v in item.get("values") or []]
        if len(points) > limits.max_points:  # an instant query of a range selector (x[30d])
            points, cut = points[-limits.max_points :], cut + 1
        shaped.append(
            {"labels": item.get("metric") or {}, **_summary(item.get("values") or []), "points": points}
        )
    shaped.sort(key=lambda s: _sortable(s.get(rank)), reverse=True)
    shown = shaped[:k]
    document = {
        **head,
        "series": len(shaped),
        "shown": len(shown),
        "ranked_by": rank,
        **_common_labels(shown),
        "result": shown,
    }
    notes = []
    if len(shaped) > len(shown):
        notes.append(
            f"showing the {len(shown)} of {len(shaped)} series with the highest {rank} value; aggregate "
            "(sum by (label)) or narrow the selector to see the others"
        )
    if cut:
        notes.append(
            f"only the last {limits.max_points} raw samples of {cut} series are listed (their summaries count "
            "all): use query_range with a step for longer spans"
        )
    if not shaped:
        notes.append("no series matched: check the metric name (list_metrics) and the label values")
    return fit(document, notes, limits)


def vector(samples: list[dict[str, Any]], k: int, limits: Limits, head: dict[str, Any]) -> str:
    """An instant result: the top `k` samples by value."""
    shaped: list[dict[str, Any]] = [
        {"labels": s.get("metric") or {}, "value": number((s.get("value") or [0, "NaN"])[1])} for s in samples
    ]
    shaped.sort(key=lambda s: _sortable(s["value"]), reverse=True)
    shown = shaped[:k]
    document = {**head, "series": len(shaped), "shown": len(shown), **_common_labels(shown), "result": shown}
    notes = []
    if len(shaped) > len(shown):
        notes.append(
            f"showing the {len(shown)} of {len(shaped)} series with the highest value; aggregate "
            "(sum by (label), topk) or narrow the selector to see the others"
        )
    if not shaped:
        notes.append("no series matched: check the metric name (list_metrics) and the label values")
    return fit(document, notes, limits)


def fit(document: dict[str, Any], notes: list[str], limits: Limits) -> str:
    """The document as text within `max_result_chars`: points dropped first, then series, then refused."""
    result: list[dict[str, Any]] = document.get("result") or []
    cap = limits.max_result_chars

    def text(extra: list[str]) -> str:
        every = notes + extra
        return encode({**document, "shown": len(result), **({"note": "; ".join(every)} if every else {})})

    encoded = text([])
    if len(encoded) <= cap:
        return encoded
    bare = 0
    for item in reversed(result):
        if "points" not in item:
            continue
        del item["points"]
        bare += 1
        encoded = text([_bare_note(bare, len(result), cap, document)])
        if len(encoded) <= cap:
            return encoded
    total = len(result)
    while len(result) > 1:
        result.pop()
        extra = [f"only {len(result)} of the {total} series asked for fit in {cap} characters"]
        if bare:
            extra.append(_bare_note(min(bare, len(result)), len(result), cap, document))
        encoded = text(extra)
        if len(encoded) <= cap:
            return encoded
    raise ToolError(
        f"the result does not fit in {cap} characters even as one series' summary: aggregate "
        "(sum by (label)) or select fewer labels"
    )


def _bare_note(bare: int, shown: int, cap: int, document: dict[str, Any]) -> str:
    step = document.get("step")
    hint = f"a larger step than {step}" if step else "a larger step"
    return (
        f"points left out for the last {bare} of {shown} series to stay within {cap} characters (their "
        f"summaries stay): use {hint} or a smaller top_k to see them"
    )


def scalar(value: list[Any], head: dict[str, Any]) -> str:
    """A scalar or string result: one value at one time."""
    return encode({**head, "value": number(value[1]) if head.get("resultType") == "scalar" else value[1]})


def window_head(query: str, start: float, end: float, step: float) -> dict[str, Any]:
    return {"query": query, "start": iso(start), "end": iso(end), "step": format_duration(step)}
