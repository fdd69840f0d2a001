"""Alertmanager webhook bodies read into Notifications: real shapes, duplicates, changes, refusals, caps.

The bodies below are byte for byte what Alertmanager 0.25.0 (Debian's prometheus-alertmanager) posted to
a webhook receiver for alerts pushed to its /api/v2/alerts: Go's compact JSON, `&` written as \\u0026,
nanosecond times, and Go's zero time as a firing alert's endsAt.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from typing import Any

import pytest

from slackbot.alerts import alertmanager
from slackbot.alerts.alertmanager import parse_webhook
from slackbot.alerts.model import PayloadError

FIRING = (
    b'{"receiver":"bot","status":"firing","alerts":[{"status":"firing","labels":{"alertname":'
    b'"KubePodCrashLooping","cluster":"prod-eu","namespace":"shop","pod":"checkout-7d9f8b-x2k4q",'
    b'"severity":"critical"},"annotations":{"runbook_url":"https://runbooks.prometheus-operator.dev/'
    b'runbooks/kubernetes/kubepodcrashlooping","summary":"Pod shop/checkout-7d9f8b-x2k4q is crash looping"},'
    b'"startsAt":"2026-12-03T12:07:59.981259022Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":'
    b'"http://prometheus:9090/graph?g0.expr=x\\u0026g0.tab=1","fingerprint":"3e5e4497a199fc87"}],'
    b'"groupLabels":{"alertname":"KubePodCrashLooping","cluster":"prod-eu"},"commonLabels":{"alertname":'
    b'"KubePodCrashLooping","cluster":"prod-eu","namespace":"shop","pod":"checkout-7d9f8b-x2k4q",'
    b'"severity":"critical"},"commonAnnotations":{"runbook_url":"https://runbooks.prometheus-operator.dev/'
    b'runbooks/kubernetes/kubepodcrashlooping","summary":"Pod shop/checkout-7d9f8b-x2k4q is crash looping"},'
    b'"externalURL":"http://vm:19093","version":"4","groupKey":"{}:{alertname=\\"KubePodCrashLooping\\", '
    b'cluster=\\"prod-eu\\"}","truncatedAlerts":0}'
)
RESOLVED = FIRING.replace(b'"status":"firing"', b'"status":"resolved"').replace(
    b'"endsAt":"0001-01-01T00:00:00Z"', b'"endsAt":"2026-12-03T12:08:02.993907648Z"'
)
# A second pod of the same group, as Alertmanager 0.25 sent it when it joined (its commonLabels then
# lose `pod` and commonAnnotations become {}).
SECOND = {
    "status": "firing",
    "labels": {
        "alertname": "KubePodCrashLooping",
        "cluster": "prod-eu",
        "namespace": "shop",
        "pod": "checkout-7d9f8b-p9z7m",
        "severity": "critical",
    },
    "annotations": {"summary": "Pod shop/checkout-7d9f8b-p9z7m is crash looping"},
    "startsAt": "2026-12-03T12:07:39.903451453Z",
    "endsAt": "0001-01-01T00:00:00Z",
    "generatorURL": "http://prometheus:9090/graph?g0.expr=x",
    "fingerprint": "6ec118a355071442",
}


def body(**changes: Any) -> dict[str, Any]:
    doc = json.loads(FIRING)
    doc.update(changes)
    return doc


def joined() -> dict[str, Any]:
    doc = body(commonAnnotations={})
    doc["alerts"].insert(0, copy.deepcopy(SECOND))
    del doc["commonLabels"]["pod"]
    return doc


def test_a_real_firing_body_reads_whole() -> None:
    n = parse_webhook(FIRING)
    assert (n.source, n.status, n.cluster, n.severity) == ("alertmanager", "firing", "prod-eu", "critical")
    assert n.group_key == '{}:{alertname="KubePodCrashLooping", cluster="prod-eu"}'
    assert n.external_url == "http://vm:19093" and n.truncated == 0 and n.title == "KubePodCrashLooping"
    (alert,) = n.alerts
    assert (alert.fingerprint, alert.status, alert.name) == (
        "3e5e4497a199fc87",
        "firing",
        "KubePodCrashLooping",
    )
    assert alert.labels["pod"] == "checkout-7d9f8b-x2k4q"
    assert alert.annotations["summary"] == "Pod shop/checkout-7d9f8b-x2k4q is crash looping"
    assert alert.generator_url == "http://prometheus:9090/graph?g0.expr=x&g0.tab=1"
    assert n.common_annotations["runbook_url"].endswith("/kubepodcrashlooping")
    assert len(n.delivery_id) == 64 and int(n.delivery_id, 16) >= 0


def test_nanosecond_times_are_read_in_utc_and_go_zero_end_is_none() -> None:
    alert = parse_webhook(FIRING).alerts[0]
    assert alert.starts_at == dt.datetime(2026, 12, 3, 12, 7, 59, 981259, tzinfo=dt.UTC)
    assert alert.ends_at is None  # "0001-01-01T00:00:00Z": Go's zero time, a firing alert's "no end"
    resolved = parse_webhook(RESOLVED).alerts[0]
    assert resolved.ends_at == dt.datetime(2026, 12, 3, 12, 8, 2, 993907, tzinfo=dt.UTC)
    offset = body(alerts=[{**SECOND, "startsAt": "2026-12-03T12:00:00.5+02:00"}])
    starts = parse_webhook(offset).alerts[0].starts_at
    assert starts == dt.datetime(2026, 12, 3, 10, 0, 0, 500000, tzinfo=dt.UTC) and starts.tzinfo is dt.UTC


def test_a_resolved_body() -> None:
    n = parse_webhook(RESOLVED)
    assert n.status == "resolved" and n.alerts[0].status == "resolved"
    assert n.delivery_id != parse_webhook(FIRING).delivery_id


def test_a_resend_has_the_same_delivery_id_bytes_or_dict_and_in_any_alert_order() -> None:
    assert parse_webhook(FIRING).delivery_id == parse_webhook(json.loads(FIRING)).delivery_id
    doc = joined()
    reordered = copy.deepcopy(doc)
    reordered["alerts"].reverse()
    assert parse_webhook(doc).delivery_id == parse_webhook(reordered).delivery_id
    # What does not make a notification new does not change the id (annotations, receiver, URLs).
    doc["alerts"][0]["annotations"]["summary"] = "reworded"
    doc["receiver"] = "other"
    assert parse_webhook(doc).delivery_id == parse_webhook(reordered).delivery_id


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d["alerts"].append({**SECOND, "fingerprint": "0000000000000001"}),  # an alert joins
        lambda d: d["alerts"][1].update(status="resolved", endsAt="2026-12-03T12:09:00Z"),  # one resolves
        lambda d: d["alerts"][1].update(startsAt="2026-12-03T12:07:59.981259023Z"),  # fired again (ns)
        lambda d: d["alerts"][0].update(fingerprint="0000000000000002"),  # another alert in its place
        lambda d: d.update(status="resolved"),
        lambda d: d.update(groupKey='{}:{alertname="Other"}'),
    ],
    ids=["joins", "resolves", "starts-again", "replaced", "group-status", "group-key"],
)
def test_a_change_gives_a_new_delivery_id(change: Any) -> None:
    doc = joined()
    before = parse_webhook(doc).delivery_id
    change(doc)
    assert parse_webhook(doc).delivery_id != before


def test_a_joined_alert_is_read_and_cluster_falls_back_to_the_first_alert() -> None:
    n = parse_webhook(joined())
    assert [a.labels["pod"] for a in n.alerts] == ["checkout-7d9f8b-p9z7m", "checkout-7d9f8b-x2k4q"]
    assert n.common_annotations == {} and "pod" not in n.common_labels
    doc = joined()
    doc["commonLabels"] = {"alertname": "KubePodCrashLooping"}
    doc["alerts"][0]["labels"].update(cluster="first", severity="page")
    fallback = parse_webhook(doc)
    assert (fallback.cluster, fallback.severity) == ("first", "page")
    doc["commonLabels"]["cluster"] = "common"
    assert parse_webhook(doc).cluster == "common"


REFUSED = [
    (b"not json", "body is not JSON"),
    (b"\xff\xfe", "body must be JSON in UTF-8"),
    (b"[" * 100_000, "nests too deeply"),
    (b"[]", "body must be a JSON object"),
    (body(version="3"), 'version must be "4" (Alertmanager\'s webhook format)'),
    (body(version=4), 'version must be "4"'),
    (body(status="pending"), 'status must be "firing" or "resolved"'),
    (body(groupKey=""), "groupKey must be a non-empty string"),
    (body(groupKey=7), "groupKey must be a non-empty string"),
    (body(alerts=[]), "alerts must be a non-empty list"),
    (body(alerts={"a": 1}), "alerts must be a non-empty list"),
    (body(alerts=[SECOND, "x"]), "alerts[1] must be an object"),
    (
        body(alerts=[SECOND, SECOND, {**SECOND, "labels": {"a": 1}}]),
        "alerts[2].labels must be an object of strings",
    ),
    (body(alerts=[{**SECOND, "labels": ["a"]}]), "alerts[0].labels must be an object of strings"),
    (
        body(alerts=[{**SECOND, "annotations": {"x": None}}]),
        "alerts[0].annotations must be an object of strings",
    ),
    (body(alerts=[{**SECOND, "status": "ok"}]), 'alerts[0].status must be "firing" or "resolved"'),
    (body(alerts=[{**SECOND, "fingerprint": ""}]), "alerts[0].fingerprint must be a non-empty string"),
    (body(alerts=[{**SECOND, "fingerprint": "f" * 129}]), "alerts[0].fingerprint must be a non-empty string"),
    (
        body(alerts=[{**SECOND, "startsAt": "2026-12-03 10:00"}]),
        "alerts[0].startsAt must be an RFC 3339 time",
    ),
    (body(alerts=[{**SECOND, "startsAt": "2026-12-03T10:00:00"}]), "alerts[0].startsAt must be an RFC 3339"),
    (
        body(alerts=[{**SECOND, "endsAt": "2026-13-03T10:00:00Z"}]),
        "alerts[0].endsAt must be an RFC 3339 time",
    ),
    (body(alerts=[{**SECOND, "endsAt": "2026-12-03T10:00:00.1234567891Z"}]), "alerts[0].endsAt must be"),
    (body(alerts=[{**SECOND, "endsAt": 0}]), "alerts[0].endsAt must be a string"),
    (body(alerts=[{**SECOND, "generatorURL": None}]), "alerts[0].generatorURL must be a string"),
    (body(commonLabels="cluster=x"), "commonLabels must be an object of strings"),
    (body(groupLabels={"a": ["b"]}), "groupLabels must be an object of strings"),
    (body(commonAnnotations={"a": 1}), "commonAnnotations must be an object of strings"),
    (body(externalURL=1), "externalURL must be a string"),
    (body(receiver=[]), "receiver must be a string"),
    (body(truncatedAlerts=-1), "truncatedAlerts must be a non-negative integer"),
    (body(truncatedAlerts=True), "truncatedAlerts must be a non-negative integer"),
    (body(truncatedAlerts="3"), "truncatedAlerts must be a non-negative integer"),
]


@pytest.mark.parametrize(("bad", "reason"), REFUSED, ids=[r for _, r in REFUSED])
def test_a_malformed_body_is_refused_with_its_reason(bad: bytes | dict[str, Any], reason: str) -> None:
    with pytest.raises(PayloadError) as refused:
        parse_webhook(bad)
    assert reason in str(refused.value)


def test_optional_fields_may_be_missing_and_nil_maps_read_as_empty() -> None:
    doc = json.loads(FIRING)
    for key in ("receiver", "groupLabels", "commonAnnotations", "externalURL", "truncatedAlerts"):
        del doc[key]
    doc["commonLabels"] = None
    doc["alerts"][0]["annotations"] = None
    n = parse_webhook(doc)
    assert n.common_labels == {} and n.alerts[0].annotations == {} and n.truncated == 0
    assert n.cluster == "prod-eu"  # from the first alert's labels


def test_counts_and_lengths_are_capped_by_cutting_not_refusing() -> None:
    many = [{**SECOND, "fingerprint": f"{i:016x}"} for i in range(alertmanager.MAX_ALERTS + 5)]
    n = parse_webhook(body(alerts=many, truncatedAlerts=7))
    assert len(n.alerts) == alertmanager.MAX_ALERTS and n.truncated == 12
    changed = copy.deepcopy(many)
    changed[-1]["status"] = "resolved"  # beyond the cap, still part of what makes the notification new
    assert parse_webhook(body(alerts=changed)).delivery_id != n.delivery_id

    long_value = "v" * 5_000
    labels = {f"l{i}": "x" for i in range(150)} | {"alertname": "A", "big": long_value}
    alert = {
        **SECOND,
        "labels": {"big": long_value, **labels},
        "annotations": {"description": long_value * 2},
    }
    read = parse_webhook(body(alerts=[alert], commonLabels={"k" * 500: long_value})).alerts[0]
    assert len(read.labels) == alertmanager.MAX_LABELS
    assert len(read.labels["big"]) == alertmanager.MAX_LABEL_VALUE and read.labels["big"].endswith("…[cut]")
    assert len(read.annotations["description"]) == alertmanager.MAX_ANNOTATION_VALUE
    assert read.annotations["description"].endswith("…[cut]")
    common = parse_webhook(body(alerts=[alert], commonLabels={"k" * 500: "v"})).common_labels
    assert [len(k) for k in common] == [alertmanager.MAX_NAME]


def test_an_overlong_url_is_dropped_and_an_overlong_group_key_stays_distinct() -> None:
    url = "https://example.com/" + "a" * 3_000
    n = parse_webhook(body(alerts=[{**SECOND, "generatorURL": url}], externalURL=url))
    assert n.alerts[0].generator_url == "" and n.external_url == ""
    one, two = ("g" * 2_000 + "1"), ("g" * 2_000 + "2")
    key_one, key_two = (
        parse_webhook(body(groupKey=one)).group_key,
        parse_webhook(body(groupKey=two)).group_key,
    )
    assert len(key_one) == alertmanager.MAX_GROUP_KEY and key_one != key_two
    assert parse_webhook(body(groupKey="short")).group_key == "short"
