"""Alertmanager's webhook body (payload version "4") read into a `Notification`.

The body comes from Alertmanager, but every label and annotation in it was written by whoever writes
alert rules and workloads: types are checked strictly (a wrong one is refused with a reason that says
what to fix, sent back with the 400), and counts and lengths are capped by cutting with a marker rather
than refusing, so one oversized annotation cannot cost the team the whole alert.

`delivery_id` is a digest of what makes a notification new (group, status, each alert's fingerprint,
status and times): Alertmanager's resends of an unchanged group repeat it, so a duplicate changes
nothing, while an alert joining or resolving gives a new one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from slackbot.alerts.model import Alert, Notification, PayloadError, Status

MAX_ALERTS = 1_000  # alerts kept per notification; Alertmanager's own max_alerts may be 0 (unlimited)
MAX_LABELS = 100  # labels (and annotations) kept per alert, in the order sent
MAX_NAME = 200  # a label or annotation name
MAX_LABEL_VALUE = 1_000
MAX_ANNOTATION_VALUE = 4_000  # descriptions are prose; the header cuts them again for Slack
MAX_URL = 2_048  # longer URLs are dropped: a cut URL would lead somewhere else
MAX_GROUP_KEY = 1_024  # longer keys keep their start plus a digest of the whole, so they stay distinct
CUT = "…[cut]"
_STATUSES: frozenset[str] = frozenset({"firing", "resolved"})
# RFC 3339 as Go writes it (time.RFC3339Nano): up to nine fractional digits, `Z` or an offset.
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))"
)
_GO_ZERO_TIME = dt.datetime(1, 1, 1, tzinfo=dt.UTC)  # Go's time.Time{}: "not set" (a firing alert's end)
_TIME_HINT = "an RFC 3339 time such as 2026-12-03T10:00:00Z"


def parse_webhook(body: bytes | dict[str, Any]) -> Notification:
    """The notification in an Alertmanager webhook body; PayloadError (reason for the 400) if it is not one."""
    doc = _load(body)
    if doc.get("version") != "4":
        raise PayloadError('version must be "4" (Alertmanager\'s webhook format)')
    status = _status(doc.get("status"), "status")
    group_key = doc.get("groupKey")
    if not isinstance(group_key, str) or not group_key:
        raise PayloadError("groupKey must be a non-empty string")
    raw_alerts = doc.get("alerts")
    if not isinstance(raw_alerts, list) or not raw_alerts:
        raise PayloadError("alerts must be a non-empty list")
    _optional_string(doc, "receiver")
    _labels(doc.get("groupLabels"), "groupLabels", MAX_LABEL_VALUE)
    common_labels = _labels(doc.get("commonLabels"), "commonLabels", MAX_LABEL_VALUE)
    common_annotations = _labels(doc.get("commonAnnotations"), "commonAnnotations", MAX_ANNOTATION_VALUE)
    truncated = doc.get("truncatedAlerts", 0)
    if not isinstance(truncated, int) or isinstance(truncated, bool) or truncated < 0:
        raise PayloadError("truncatedAlerts must be a non-negative integer")
    alerts = [_alert(raw, f"alerts[{i}]") for i, raw in enumerate(raw_alerts)]
    first = alerts[0][0]
    return Notification(
        source="alertmanager",
        delivery_id=_delivery_id(group_key, status, [key for _, key in alerts]),
        group_key=_group_key(group_key),
        status=status,
        alerts=tuple(alert for alert, _ in alerts[:MAX_ALERTS]),
        common_labels=common_labels,
        common_annotations=common_annotations,
        external_url=_url(_optional_string(doc, "externalURL")),
        truncated=truncated + max(0, len(alerts) - MAX_ALERTS),
        cluster=common_labels.get("cluster") or first.labels.get("cluster", ""),
        severity=common_labels.get("severity") or first.labels.get("severity", ""),
    )


def _load(body: bytes | dict[str, Any]) -> dict[str, Any]:
    """The body as a JSON object (already decoded by a caller, or bytes off the wire)."""
    if isinstance(body, bytes | bytearray):
        try:
            body = json.loads(bytes(body).decode())  # UTF-8 only: json.loads would guess UTF-16/32
        except UnicodeDecodeError:
            raise PayloadError("body must be JSON in UTF-8") from None
        except ValueError as exc:  # JSONDecodeError; its message names a position, never the content
            raise PayloadError(f"body is not JSON ({exc})") from None
        except RecursionError:  # "[[[[…": Python's parser recurses per level
            raise PayloadError("body nests too deeply to be a webhook payload") from None
    if not isinstance(body, dict):
        raise PayloadError("body must be a JSON object (Alertmanager's webhook payload)")
    return body


def _alert(raw: object, where: str) -> tuple[Alert, list[str]]:
    """One alert, and the values its part of the delivery id is made of."""
    if not isinstance(raw, dict):
        raise PayloadError(f"{where} must be an object")
    status = _status(raw.get("status"), f"{where}.status")
    fingerprint = raw.get("fingerprint")
    if not isinstance(fingerprint, str) or not fingerprint or len(fingerprint) > 128:
        raise PayloadError(f"{where}.fingerprint must be a non-empty string of at most 128 characters")
    labels = _labels(raw.get("labels"), f"{where}.labels", MAX_LABEL_VALUE)
    annotations = _labels(raw.get("annotations"), f"{where}.annotations", MAX_ANNOTATION_VALUE)
    starts_text = _optional_string(raw, "startsAt", where)
    ends_text = _optional_string(raw, "endsAt", where)
    starts_at = _time(starts_text, f"{where}.startsAt")
    ends_at = _time(ends_text, f"{where}.endsAt")
    alert = Alert(
        fingerprint=fingerprint,
        status=status,
        name=labels.get("alertname", ""),
        labels=labels,
        annotations=annotations,
        starts_at=starts_at,
        ends_at=ends_at,
        generator_url=_url(_optional_string(raw, "generatorURL", where)),
    )
    # The sent strings, not the parsed times: nanoseconds count, and Go writes the same time the same way.
    return alert, [fingerprint, status, starts_text if starts_at else "", ends_text if ends_at else ""]


def _status(value: object, where: str) -> Status:
    if value == "firing":
        return "firing"
    if value == "resolved":
        return "resolved"
    raise PayloadError(f'{where} must be "firing" or "resolved"')


def _optional_string(doc: Mapping[str, Any], key: str, where: str = "") -> str:
    """A string field that may be missing (then ""); any other type is refused."""
    value = doc.get(key, "")
    if not isinstance(value, str):
        raise PayloadError(f"{where + '.' if where else ''}{key} must be a string")
    return value


def _labels(value: object, where: str, limit: int) -> dict[str, str]:
    """A label or annotation set: an object of strings; null (Go's nil map) reads as empty.

    At most MAX_LABELS entries are kept, names and values cut with a marker past their limits.
    """
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise PayloadError(f"{where} must be an object of strings")
    kept: dict[str, str] = {}
    for name, text in value.items():
        if len(kept) >= MAX_LABELS:
            break
        kept[cut(name, MAX_NAME)] = cut(text, limit)
    return kept


def cut(text: str, limit: int) -> str:
    """`text` at most `limit` characters; a cut one ends with a marker, so nobody takes it for whole."""
    return text if len(text) <= limit else text[: limit - len(CUT)] + CUT


def _time(text: str, where: str) -> dt.datetime | None:
    """An RFC 3339 time (nanoseconds allowed, kept to microseconds) in UTC; "" and Go's zero time: none."""
    if not text:
        return None
    match = _RFC3339.fullmatch(text)
    if not match:
        raise PayloadError(f"{where} must be {_TIME_HINT}")
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
    try:
        offset = dt.timedelta(hours=int(off_h or 0), minutes=int(off_m or 0))
        zone = dt.UTC if zulu else dt.timezone(-offset if sign == "-" else offset)
        micro = int((fraction or "0").ljust(6, "0")[:6])
        parts = (int(year), int(month), int(day), int(hour), int(minute), int(second), micro)
        moment = dt.datetime(*parts, tzinfo=zone).astimezone(dt.UTC)
    except (ValueError, OverflowError):
        raise PayloadError(f"{where} must be {_TIME_HINT}") from None
    return None if moment <= _GO_ZERO_TIME else moment


def _url(text: str) -> str:
    """A URL as sent, or "" if it is too long to keep whole; whether it may become a link is the header's call."""
    return text if len(text) <= MAX_URL else ""


def _group_key(key: str) -> str:
    """The group key, bounded: a long one keeps its start and a digest of the whole, so two stay distinct."""
    if len(key) <= MAX_GROUP_KEY:
        return key
    return key[: MAX_GROUP_KEY - 72] + "…sha256:" + hashlib.sha256(key.encode()).hexdigest()


def _delivery_id(group_key: str, status: str, alerts: list[list[str]]) -> str:
    """A digest of what makes a notification new; alert order does not count (Alertmanager's may vary)."""
    canonical = json.dumps([group_key, status, sorted(alerts)], separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()
