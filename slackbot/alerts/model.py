"""What one alert notification says, whichever source sent it (Alertmanager, CloudWatch via SNS).

Every text field is data written by whoever writes alert rules, alarms and workloads (labels,
annotations, alarm names and reasons): shown escaped, handed to the model fenced, never obeyed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

Status = Literal["firing", "resolved"]
Source = Literal["alertmanager", "sns"]


class PayloadError(ValueError):
    """A body that is not a notification of its source: the reason goes back with a 400."""


@dataclass(frozen=True)
class Alert:
    """One alert of a group (an Alertmanager alert, or the CloudWatch alarm itself)."""

    fingerprint: str  # stable per alert: Alertmanager's fingerprint, the alarm's ARN
    status: Status
    name: str  # alertname, or the alarm's name
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    starts_at: dt.datetime | None = None  # timezone-aware UTC
    ends_at: dt.datetime | None = None  # resolved alerts only
    generator_url: str = ""  # Alertmanager's link to the rule's expression


@dataclass(frozen=True)
class Notification:
    """One delivery: a group's current state as the source sent it."""

    source: Source
    delivery_id: str  # SNS MessageId; for Alertmanager a digest of the body (its resends repeat it)
    group_key: str  # Alertmanager groupKey; the alarm's ARN
    status: Status  # the group's: firing while any of its alerts fires
    alerts: tuple[Alert, ...]
    common_labels: Mapping[str, str] = field(default_factory=dict)
    common_annotations: Mapping[str, str] = field(default_factory=dict)
    external_url: str = ""  # Alertmanager's own URL
    truncated: int = 0  # alerts Alertmanager left out (max_alerts)
    cluster: str = ""  # as the source names it: the `cluster` label, the alarm's ClusterName dimension
    severity: str = ""  # the `severity` label, or "" (CloudWatch alarms have none)

    @property
    def title(self) -> str:
        """What fired, in a few words: the alert names of the group, in order, without repeats."""
        names = list(dict.fromkeys(a.name for a in self.alerts if a.name))
        return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "") or "alert"
