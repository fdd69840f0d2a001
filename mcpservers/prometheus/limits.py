"""The bounds every query passes before it is sent, and the times and durations a model may write.

A careless PromQL must not pull a million points into the model: the range, the step (points per series),
the query's length are checked here, before anything is sent; the number of series and the size of the
result are bounded when the answer is shaped (`results.py`). A refusal says what to change (the
smallest step that fits, the longest range), so the model can ask again instead of giving up.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import time
from dataclasses import dataclass

from mcp.server.mcpserver.exceptions import ToolError

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "y": 365 * 86400}
_DURATION = re.compile(r"(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w|y))+")
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)")
_RELATIVE = re.compile(r"now\s*(?:([-+])\s*(\S+))?")
# Steps a chosen default is rounded up to, so times read as whole seconds, minutes or hours.
_NICE_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)
_LATEST = dt.datetime(2100, 1, 1, tzinfo=dt.UTC).timestamp()  # a larger "unix time" is milliseconds


@dataclass(frozen=True)
class Limits:
    """What one call may ask for and return; the result size follows the bot's TOOL_RESULT_MAX_CHARS."""

    max_query_chars: int = 4000
    max_range_seconds: float = 7 * 86400
    max_points: int = 500  # per series of a range query
    default_points: int = 60  # per series when no step is given: enough to read a trend
    max_series: int = 20
    default_range_series: int = 5
    max_result_chars: int = 12000
    max_response_bytes: int = 32 * 1024 * 1024  # read from Prometheus, before any shaping


def clock() -> float:
    """The time now, to the fraction (ranges use whole seconds: `parse_time`)."""
    return time.time()


def parse_duration(text: str, what: str = "step") -> float:
    """Seconds of a Prometheus duration (`30s`, `5m`, `1h30m`) or a plain number of seconds."""
    value = text.strip()
    try:
        seconds = float(value)
    except ValueError:
        if not _DURATION.fullmatch(value):
            raise ToolError(
                f"{what} {text!r} is not a duration: write it like 30s, 5m, 1h or 1h30m"
            ) from None
        seconds = sum(float(n) * _UNITS[unit] for n, unit in _PART.findall(value))
    if not math.isfinite(seconds) or seconds <= 0:
        raise ToolError(f"{what} {text!r} must be a positive duration such as 30s or 5m")
    return seconds


def parse_time(value: str | float, what: str, now: float | None = None) -> float:
    """Unix seconds of `now`, `now-1h`, an RFC3339 time with a zone, or unix seconds.

    `now` is a whole second, so a range's points fall on whole seconds (readable, and what a chart
    labels)."""
    now = float(int(time.time())) if now is None else now
    if isinstance(value, bool):
        raise ToolError(f"{what} must be a time, not {value!r}")
    if isinstance(value, int | float):
        return _unix(float(value), what)
    text = value.strip()
    relative = _RELATIVE.fullmatch(text.lower())
    if relative is not None:
        sign, offset = relative.groups()
        if offset is None:
            return now
        seconds = parse_duration(offset, what)
        return now - seconds if sign == "-" else now + seconds
    try:
        return _unix(float(text), what)
    except ValueError:
        pass
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ToolError(
            f"{what} {value!r} is not a time: use now, now-1h, unix seconds or RFC3339 (2026-01-02T15:04:05Z)"
        ) from None
    if parsed.tzinfo is None:
        raise ToolError(f"{what} {value!r} has no time zone: add Z for UTC or an offset such as +02:00")
    return parsed.timestamp()


def _unix(seconds: float, what: str) -> float:
    if not math.isfinite(seconds) or seconds < 0:
        raise ToolError(f"{what} {seconds!r} is not a time")
    if seconds > _LATEST:
        raise ToolError(f"{what} {seconds!r} looks like milliseconds: give unix seconds")
    return seconds


def iso(seconds: float) -> str:
    """A time as the model reads it best: RFC3339 in UTC, to the second."""
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_duration(seconds: float) -> str:
    """`90` → `1m30s`, `0.5` → `500ms`: how Prometheus writes durations."""
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    rest = round(seconds)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size:
            parts.append(f"{rest // size}{unit}")
            rest %= size
    return "".join(parts)


def check_query(query: str, limits: Limits) -> str:
    """A PromQL text worth sending: not empty, not longer than the limit."""
    text = query.strip()
    if not text:
        raise ToolError(
            "query is empty: give a PromQL expression such as up or rate(http_requests_total[5m])"
        )
    if len(text) > limits.max_query_chars:
        raise ToolError(
            f"query is {len(text)} characters long; the limit is {limits.max_query_chars}: write a shorter "
            "PromQL expression"
        )
    return text


@dataclass(frozen=True)
class Window:
    """A range query's start, end and step (unix seconds), checked against the limits."""

    start: float
    end: float
    step: float

    @property
    def points(self) -> int:
        """Points per series Prometheus returns for this window at most."""
        return math.floor((self.end - self.start) / self.step + 1e-9) + 1


def plan_window(
    start: str | float, end: str | float, step: str | float | None, limits: Limits, now: float | None = None
) -> Window:
    """The window asked for, or a refusal that says the longest range or the smallest step that fits."""
    now = float(int(time.time())) if now is None else now
    first, last = parse_time(start, "start", now), parse_time(end, "end", now)
    if last <= first:
        raise ToolError(f"end ({iso(last)}) must be after start ({iso(first)})")
    span = last - first
    if span > limits.max_range_seconds:
        raise ToolError(
            f"the range from {iso(first)} to {iso(last)} is {format_duration(span)}; the longest allowed is "
            f"{format_duration(limits.max_range_seconds)}: ask for a shorter range"
        )
    if step is None or (isinstance(step, str) and not step.strip()):
        seconds = default_step(span, limits)
    else:
        seconds = parse_duration(str(step))
    window = Window(first, last, seconds)
    if window.points > limits.max_points:
        smallest = smallest_step(span, limits)
        raise ToolError(
            f"{window.points} points per series (from {iso(first)} to {iso(last)} every "
            f"{format_duration(seconds)}) is more than the limit of {limits.max_points}: use a step of at "
            f"least {format_duration(smallest)} ({smallest:g} seconds), or a shorter range"
        )
    return window


def smallest_step(span: float, limits: Limits) -> float:
    """The smallest whole-second step that keeps a range of `span` seconds within the points limit."""
    return float(max(1, math.ceil(span / (limits.max_points - 1))))


def default_step(span: float, limits: Limits) -> float:
    """About `default_points` points over the range, rounded up to a step a person would choose."""
    wanted = span / max(1, limits.default_points)
    for nice in _NICE_STEPS:
        if nice >= wanted:
            return float(nice)
    return float(max(math.ceil(wanted), smallest_step(span, limits)))
