"""The unit of a range query's values, read from its metric names, and axis tick text in that unit.

Prometheus names carry their base unit as a suffix (`_bytes`, `_seconds`, `_ratio`), so the unit of a
query is read from the metric names it selects, with a small table and no PromQL parser:

| the query's metric names | unit |
|---|---|
| `…_bytes` (a gauge; also `…_bytes_bucket` inside `histogram_quantile`) | `bytes` |
| `…_bytes_total` inside `rate`/`irate`/`deriv`; `…_bytes` inside `deriv` | `bytes/s` |
| `…_bytes_total` otherwise (a total, or `increase`) | `bytes` |
| `…_seconds` (also `…_seconds_bucket` inside `histogram_quantile`) | `seconds` |
| `…_seconds_total` inside `rate`/`irate` (CPU time: cores) | `seconds/s` |
| `…_seconds_total` otherwise (a total, or `increase`) | `seconds` |
| `…_X_sum` divided by `…_X_count` (a mean) | the unit of `…_X` |
| `…_ratio` | `ratio` (0–1, drawn as %) |
| `…_percent` | `percent` |
| anything else | `""` (a plain number) |

All the metric names must agree, or the unit is `""`. It is also `""` when the query divides one
metric by another (other than a `_sum` by its `_count`: `a_bytes / b_bytes` is a fraction), does arithmetic
with a number (`x_bytes / 1024`, `x_ratio * 100`: the scale is no longer the metric's), counts
(`count`, `count_over_time`, `changes`, `resets`, `absent`…), or compares with `bool`. An unknown unit
draws plain numbers, never a wrong unit.
"""

from __future__ import annotations

import itertools
import math
import re

UNITS = ("bytes", "bytes/s", "seconds", "seconds/s", "ratio", "percent", "")

_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_BRACES = re.compile(r"\{[^{}]*\}")
_BRACKETS = re.compile(r"\[[^\[\]]*\]")
_OFFSET = re.compile(r"\b(?:offset|@)\s*-?[\w.:]+|@\s*\w+\(\)")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
_IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
_CALL = re.compile(r"\s*\(")
_LITERAL = re.compile(r"0x[0-9a-f]+|(?:\d[\d_]*\.?\d*|\.\d+)(?:e[+-]?\d+)?", re.IGNORECASE)
_NUMBER_ARITHMETIC = re.compile(
    r"[-+*/%^]\s*(?:\d|\.\d|inf\b|nan\b|0x)|(?:^|[^\w.])(?:\d[\d.e+-]*|\.\d+)\s*[-+*/%^]", re.IGNORECASE
)
_KEYWORDS = frozenset(
    [
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "offset",
        "bool",
        "and",
        "or",
        "unless",
        "inf",
        "nan",
        "start",
        "end",
    ]
)
_UNITLESS = frozenset(
    (
        "count",
        "count_over_time",
        "count_values",
        "changes",
        "resets",
        "absent",
        "absent_over_time",
        "present_over_time",
        "group",
        "sgn",
        "timestamp",
        "day_of_month",
        "day_of_week",
        "day_of_year",
        "days_in_month",
        "hour",
        "minute",
        "month",
        "year",
    )
)
_PER_SECOND = ("rate", "irate", "deriv")


def _metric_names(query: str) -> tuple[list[tuple[str, str]], set[str], bool] | None:
    """Each metric name of the query with the function it sits in (the nearest enclosing call), every
    function called, and whether it divides; None when it does arithmetic with a number or compares with
    `bool`."""
    text = _QUOTED.sub('""', query)
    while True:  # label matchers and range durations hold no metric name: drop them (nested: repeat)
        shorter = _BRACKETS.sub("", _BRACES.sub("", text))
        if shorter == text:
            break
        text = shorter
    text = _GROUPING.sub(" ", _OFFSET.sub(" ", text))
    if _NUMBER_ARITHMETIC.search(text) or re.search(r"\bbool\b", text):
        return None
    names: list[tuple[str, str]] = []
    calls: set[str] = set()
    stack: list[str] = []  # the function (or "" for a plain parenthesis) of each open parenthesis
    position = 0
    while position < len(text):
        char = text[position]
        if char == "(":
            stack.append("")
            position += 1
            continue
        if char == ")":
            if stack:
                stack.pop()
            position += 1
            continue
        literal = _LITERAL.match(text, position)
        if literal is not None and literal.end() > position:  # a number (1e5, 0x1f): no metric name
            position = literal.end()
            continue
        found = _IDENT.match(text, position)
        if found is None:
            position += 1
            continue
        word = found.group()
        position = found.end()
        call = _CALL.match(text, position)
        if call is not None:
            calls.add(word.lower())
            stack.append(word.lower())
            position = call.end()
        elif word.lower() not in _KEYWORDS:
            enclosing = next((f for f in reversed(stack) if f), "")
            names.append((word, enclosing))
    return names, calls, "/" in text


def _unit_of(name: str, function: str, calls: set[str]) -> str:
    per_second = function in _PER_SECOND
    for base, unit in (("bytes", "bytes"), ("seconds", "seconds")):
        if name.endswith(f"_{base}_total"):
            return f"{unit}/s" if per_second else unit
        if name.endswith(f"_{base}"):
            return f"{unit}/s" if function == "deriv" else unit
        if name.endswith(f"_{base}_bucket") and "histogram_quantile" in calls:
            return unit  # histogram_quantile(0.9, rate(x_seconds_bucket[5m])): a quantile of seconds
    if name.endswith("_ratio"):
        return "ratio"
    if name.endswith("_percent"):
        return "percent"
    return ""


def infer_unit(query: str) -> str:
    """The unit of the query's values from its metric names (the table above), or "" when unsure."""
    if not isinstance(query, str) or len(query) > 4000:
        return ""
    found = _metric_names(query)
    if found is None:
        return ""
    names, calls, divides = found
    if not names or calls & _UNITLESS:
        return ""
    bare = {n for n, _ in names}
    if len(bare) == 2:  # x_sum / x_count: a mean of x
        stems = {n.removesuffix("_sum").removesuffix("_count") for n in bare}
        if (
            len(stems) == 1
            and any(n.endswith("_sum") for n in bare)
            and any(n.endswith("_count") for n in bare)
        ):
            (stem,) = stems
            return _unit_of(stem, "", set())
    if divides:  # a_bytes / b_bytes is a fraction, not bytes
        return ""
    units = {_unit_of(n, f, calls) for n, f in names}
    return units.pop() if len(units) == 1 else ""


# --- axis text ---------------------------------------------------------------------------------------

_BINARY = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")
_SI = ("", "k", "M", "G", "T", "P", "E")
_TIME = ((86400.0, "d"), (3600.0, "h"), (60.0, "min"), (1.0, "s"), (1e-3, "ms"), (1e-6, "µs"))


def scale(unit: str, largest: float) -> tuple[float, str]:
    """(divisor, suffix) for values up to `largest` in absolute value: 1536 bytes → (1024, " KiB"). Values
    are divided before they are drawn, so the axis' ticks fall on round numbers of the unit shown."""
    largest = abs(largest) if math.isfinite(largest) else 0.0
    divisor, suffix = _scale(unit, largest)
    if largest / divisor >= 1e6:  # beyond the largest prefix: plain numbers (ticks in scientific notation)
        return 1.0, _PLAIN.get(unit, "")
    return divisor, suffix


_PLAIN = {"bytes": " B", "bytes/s": " B/s", "seconds": " s", "ratio": "", "percent": "%"}


def _scale(unit: str, largest: float) -> tuple[float, str]:
    if unit in ("bytes", "bytes/s"):
        per = "/s" if unit == "bytes/s" else ""
        power = 0
        while power < len(_BINARY) - 1 and largest >= 1024.0 ** (power + 1):
            power += 1
        return 1024.0**power, f" {_BINARY[power]}{per}"
    if unit == "seconds":
        for size, name in _TIME:
            if largest >= size * (2 if size >= 60 else 1):  # 90 s reads better than 1.5 min
                return size, f" {name}"
        return (1e-6, " µs") if largest > 0 else (1.0, " s")
    if unit == "ratio":
        return 0.01, "%"
    if unit == "percent":
        return 1.0, "%"
    power = 0
    while power < len(_SI) - 1 and largest >= 1000.0 ** (power + 1):
        power += 1
    return 1000.0**power, _SI[power]


def tick_text(value: float, suffix: str, locs: list[float] | tuple[float, ...]) -> str:
    """A tick's label (values already divided by `scale`'s divisor), with as many decimals as tell the
    axis' ticks `locs` apart (at most 6); very large or very small numbers in scientific notation."""
    if not math.isfinite(value):
        return ""
    steps = sorted({x for x in locs if math.isfinite(x)} | {value})
    if abs(value) >= 1e6 or 0 < abs(value) < 1e-6 or max(abs(x) for x in steps) >= 1e6:
        return f"{value:.3g}{suffix}"
    spacing = min((b - a for a, b in itertools.pairwise(steps)), default=0.0)
    decimals = 0
    if spacing > 0:
        while decimals < 6 and any(abs(round(x, decimals) - x) > spacing * 1e-3 for x in steps):
            decimals += 1
    else:  # one tick: enough decimals to show it to 3 digits
        while decimals < 6 and abs(round(value, decimals) - value) > abs(value) * 1e-3:
            decimals += 1
    text = f"{value:.{decimals}f}"
    if text.startswith("-") and float(text) == 0:
        text = text[1:]
    return f"{text}{suffix}"
