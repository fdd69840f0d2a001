"""A CloudWatch alarm's state change, as SNS delivers it, read into the shared Notification shape.

Call only on a message `SnsVerifier.verify` accepted. Every text in it (alarm name, description,
reason, dimension values) is written by whoever configures alarms and workloads: it is capped here
and shown escaped later, never obeyed.

INSUFFICIENT_DATA is not acted on: an alarm enters it whenever its metric is missing (a new alarm,
a sparse metric, an instance stopped on purpose), so opening an investigation each time would be
noise, and calling it resolved would close a thread on no evidence. `NotActionable` (a PayloadError)
says so; the listener should answer it with a 2xx, since SNS counts a 4xx as a failed delivery.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from typing import Any

from slackbot.alerts.model import Alert, Notification, PayloadError, Status

MAX_VALUE_CHARS = 1000  # per label/annotation value, alarm name and cluster
MAX_DIMENSIONS = 30  # CloudWatch's own limit per metric
_MAX_KEY_CHARS = 255  # a dimension name's limit in CloudWatch
_MAX_ARN_CHARS = 1000  # the identity of the alert: refused when longer, never cut
_STATES: dict[str, Status] = {"ALARM": "firing", "OK": "resolved"}
_ALARM_ARN = re.compile(r"arn:aws(?:-cn|-us-gov)?:cloudwatch:([a-z0-9-]+):\d{12}:alarm:.+", re.DOTALL)


class NotActionable(PayloadError):
    """A genuine alarm notification the bot deliberately does not act on (INSUFFICIENT_DATA)."""


def parse_alarm(message: Mapping[str, Any], received_at: float | None = None) -> Notification:
    """The Notification of a verified SNS `Notification` whose Message is a CloudWatch alarm.

    `received_at` (epoch seconds) stands in for the alarm's StateChangeTime when that is missing
    or unreadable: an alarm with a rough time is better than an alarm refused over its clock.
    """
    if message.get("Type") != "Notification":
        raise PayloadError("not an SNS Notification")
    message_id = message.get("MessageId")
    if not isinstance(message_id, str) or not message_id:
        raise PayloadError("MessageId is missing")
    alarm = _alarm_json(message.get("Message"))
    arn = alarm.get("AlarmArn")
    arn_match = _ALARM_ARN.fullmatch(arn) if isinstance(arn, str) and len(arn) <= _MAX_ARN_CHARS else None
    if not isinstance(arn, str) or arn_match is None:
        raise PayloadError("Message is not a CloudWatch alarm: AlarmArn is not an alarm ARN")
    name = _text(alarm.get("AlarmName"))
    if not name:
        raise PayloadError("Message is not a CloudWatch alarm: AlarmName is missing")
    state = alarm.get("NewStateValue")
    if state == "INSUFFICIENT_DATA":
        raise NotActionable("INSUFFICIENT_DATA is not an alarm state change the bot acts on")
    status = _STATES.get(state) if isinstance(state, str) else None
    if status is None:
        raise PayloadError("Message is not a CloudWatch alarm: NewStateValue is not ALARM or OK")
    dimensions = _dimensions(alarm.get("Trigger"))
    labels = _labels(alarm, dimensions, region=arn_match.group(1))
    annotations = {
        key: value
        for key, value in (
            ("description", _text(alarm.get("AlarmDescription"))),
            ("reason", _text(alarm.get("NewStateReason"))),
        )
        if value
    }
    when = _time(alarm.get("StateChangeTime"), received_at)
    alert = Alert(
        fingerprint=arn,
        status=status,
        name=name,
        labels=labels,
        annotations=annotations,
        starts_at=when if status == "firing" else None,
        ends_at=when if status == "resolved" else None,
    )
    return Notification(
        source="sns",
        delivery_id=message_id,
        group_key=arn,
        status=status,
        alerts=(alert,),
        common_labels=labels,  # one alert: everything it has is common, as Alertmanager would say
        common_annotations=annotations,
        cluster=dimensions.get("ClusterName", ""),
        severity="",
    )


def _alarm_json(text: object) -> dict[str, Any]:
    """The Message field parsed as a JSON object, or the reason it is not one."""
    if not isinstance(text, str):
        raise PayloadError("Message is missing")
    try:
        alarm = json.loads(text)
    except ValueError:
        raise PayloadError("Message is not JSON: not a CloudWatch alarm") from None
    if not isinstance(alarm, dict):
        raise PayloadError("Message is not a JSON object: not a CloudWatch alarm")
    return alarm


def _dimensions(trigger: object) -> dict[str, str]:
    """The metric's dimensions as name → value; metric-math and composite alarms have none."""
    if not isinstance(trigger, dict) or not isinstance(trigger.get("Dimensions"), list):
        return {}
    out: dict[str, str] = {}
    for item in trigger["Dimensions"][:MAX_DIMENSIONS]:
        if isinstance(item, dict):
            key, value = _text(item.get("name"), _MAX_KEY_CHARS), _text(item.get("value"))
            if key:
                out[key] = value
    return out


def _labels(alarm: Mapping[str, Any], dimensions: Mapping[str, str], region: str) -> dict[str, str]:
    """Dimensions plus namespace, metric and region, which win over a dimension of the same name.

    The region is the code from the alarm's ARN (us-east-1), which tools can use, not the alarm's
    `Region`, a display name ("US East (N. Virginia)").
    """
    found = alarm.get("Trigger")
    trigger: Mapping[str, Any] = found if isinstance(found, dict) else {}
    labels = dict(dimensions)
    for key, value in (
        ("namespace", _text(trigger.get("Namespace"))),
        ("metric", _text(trigger.get("MetricName"))),
        ("region", region),
    ):
        if value:
            labels[key] = value
    return labels


def _text(value: object, limit: int = MAX_VALUE_CHARS) -> str:
    """A string field capped at `limit` characters (marked "…" when cut); "" for anything else."""
    if not isinstance(value, str):
        return ""
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _time(value: object, received_at: float | None) -> dt.datetime | None:
    """StateChangeTime ("2024-05-01T12:00:00.000+0000") in UTC, else `received_at`, else None."""
    if isinstance(value, str):
        try:
            stamp = dt.datetime.fromisoformat(value)
        except ValueError:
            stamp = None
        if stamp is not None and stamp.tzinfo is not None:
            return stamp.astimezone(dt.UTC)
    return dt.datetime.fromtimestamp(received_at, dt.UTC) if received_at is not None else None
