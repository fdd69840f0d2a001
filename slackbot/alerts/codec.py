"""A notification as JSON text and back: what the alert inbox stores until a worker has handled it.

The inbox acknowledges a delivery only once it is stored, so the stored text must carry the whole
notification (a restart rebuilds it from the row alone). Datetimes are ISO 8601 strings with their
offset; `json.dumps` keeps its default `ensure_ascii`, so a lone surrogate in a label (JSON bodies may
carry one as `\\ud800`) is written as an escape and the text is always valid UTF-8 for SQLite.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any, cast

from slackbot.alerts.model import Alert, Notification, PayloadError, Source, Status

STATUSES = ("firing", "resolved")
SOURCES = ("alertmanager", "sns")


def _time(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _alert_dict(alert: Alert) -> dict[str, Any]:
    return {
        "fingerprint": alert.fingerprint,
        "status": alert.status,
        "name": alert.name,
        "labels": dict(alert.labels),
        "annotations": dict(alert.annotations),
        "starts_at": _time(alert.starts_at),
        "ends_at": _time(alert.ends_at),
        "generator_url": alert.generator_url,
    }


def notification_to_json(n: Notification) -> str:
    """The notification as one JSON object (keys sorted, so equal notifications give equal text)."""
    data = {
        "source": n.source,
        "delivery_id": n.delivery_id,
        "group_key": n.group_key,
        "status": n.status,
        "alerts": [_alert_dict(a) for a in n.alerts],
        "common_labels": dict(n.common_labels),
        "common_annotations": dict(n.common_annotations),
        "external_url": n.external_url,
        "truncated": n.truncated,
        "cluster": n.cluster,
        "severity": n.severity,
    }
    return json.dumps(data, sort_keys=True)


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data[key]
    if not isinstance(value, str):
        raise PayloadError(f"{key}: expected a string")
    return value


def _texts(data: Mapping[str, Any], key: str) -> dict[str, str]:
    value = data[key]
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise PayloadError(f"{key}: expected an object of strings")
    return cast(dict[str, str], value)


def _status(data: Mapping[str, Any]) -> Status:
    if data["status"] not in STATUSES:
        raise PayloadError(f"status: expected one of {', '.join(STATUSES)}")
    return cast(Status, data["status"])


def _read_time(data: Mapping[str, Any], key: str) -> dt.datetime | None:
    value = data[key]
    return None if value is None else dt.datetime.fromisoformat(_text(data, key))


def _alert(data: Mapping[str, Any]) -> Alert:
    return Alert(
        fingerprint=_text(data, "fingerprint"),
        status=_status(data),
        name=_text(data, "name"),
        labels=_texts(data, "labels"),
        annotations=_texts(data, "annotations"),
        starts_at=_read_time(data, "starts_at"),
        ends_at=_read_time(data, "ends_at"),
        generator_url=_text(data, "generator_url"),
    )


def notification_from_json(s: str) -> Notification:
    """The notification `notification_to_json` wrote; PayloadError if the text is not one."""
    try:
        data = json.loads(s)
        if data["source"] not in SOURCES:
            raise PayloadError(f"source: expected one of {', '.join(SOURCES)}")
        truncated = data["truncated"]
        if not isinstance(truncated, int) or isinstance(truncated, bool):
            raise PayloadError("truncated: expected an integer")
        return Notification(
            source=cast(Source, data["source"]),
            delivery_id=_text(data, "delivery_id"),
            group_key=_text(data, "group_key"),
            status=_status(data),
            alerts=tuple(_alert(a) for a in data["alerts"]),
            common_labels=_texts(data, "common_labels"),
            common_annotations=_texts(data, "common_annotations"),
            external_url=_text(data, "external_url"),
            truncated=truncated,
            cluster=_text(data, "cluster"),
            severity=_text(data, "severity"),
        )
    except PayloadError:
        raise
    except (KeyError, TypeError, ValueError) as exc:  # not JSON, a key missing, a field of the wrong shape
        raise PayloadError(f"not a stored notification: {exc!r}") from exc
