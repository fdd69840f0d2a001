"""What a chart shows, independent of where it came from and how it is drawn."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Series:
    """One line: its legend label and its `(unix seconds, value)` points; a value may be nan or ±inf."""

    label: str
    points: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class Chart:
    """A range query's series as drawn: at most a few of `total_series`, over `start`–`end` (RFC3339).

    `unit` is inferred from the query's metric names (`units.infer_unit`: "bytes", "bytes/s", "seconds",
    "seconds/s", "ratio", "percent" or ""); `common` is the labels every drawn series shares, as text
    (`job="api"`, `up{job="api"}`), or "". Every text field may hold what a workload wrote (label values
    are set by whoever runs the scraped workloads): the renderer and the front ends treat it as data.
    """

    query: str
    start: str
    end: str
    step: str
    unit: str
    series: tuple[Series, ...]
    total_series: int
    common: str
