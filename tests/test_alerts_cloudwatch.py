"""A CloudWatch alarm's state change, as SNS carries it, reads into the shared Notification shape."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from slackbot.alerts.model import PayloadError
from slackbot.alerts.sns import NotActionable, parse_alarm
from tests.sns_signing import ALARM_ARN, alarm_message, notification, subscription_confirmation


def test_an_alarm_reads_as_a_firing_notification_of_its_cluster():
    message = notification(alarm_message("ALARM", cluster="prod-eks"))
    got = parse_alarm(message)
    (alert,) = got.alerts
    assert (got.source, got.delivery_id, got.group_key, got.status) == (
        "sns",
        message["MessageId"],
        ALARM_ARN,
        "firing",
    )
    assert (got.cluster, got.severity, got.title) == ("prod-eks", "", "node-cpu-high")
    assert (alert.fingerprint, alert.status, alert.name) == (ALARM_ARN, "firing", "node-cpu-high")
    assert alert.labels == {
        "InstanceId": "i-0abc",
        "ClusterName": "prod-eks",
        "namespace": "ContainerInsights",
        "metric": "node_cpu_utilization",
        "region": "us-east-1",
    }
    assert alert.annotations["description"] == "Node CPU above 80% for 5 minutes"
    assert alert.annotations["reason"].startswith("Threshold Crossed")
    assert (alert.starts_at, alert.ends_at) == (dt.datetime(2024, 5, 1, 12, tzinfo=dt.UTC), None)


def test_ok_reads_as_resolved_with_its_end_time():
    got = parse_alarm(notification(alarm_message("OK", cluster="prod-eks")))
    (alert,) = got.alerts
    assert (got.status, alert.status, got.cluster) == ("resolved", "resolved", "prod-eks")
    assert (alert.starts_at, alert.ends_at) == (None, dt.datetime(2024, 5, 1, 12, tzinfo=dt.UTC))


def test_an_alarm_without_cluster_or_time_still_reads():
    got = parse_alarm(notification(alarm_message(cluster=None, StateChangeTime="soon")), received_at=0.0)
    assert got.cluster == ""
    assert got.alerts[0].starts_at == dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def test_insufficient_data_is_not_acted_on():
    with pytest.raises(NotActionable, match="not an alarm state change the bot acts on"):
        parse_alarm(notification(alarm_message("INSUFFICIENT_DATA")))


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[]",
        json.dumps({"AlarmName": "x", "NewStateValue": "ALARM"}),
        alarm_message(AlarmArn="arn:aws:sns:us-east-1:123456789012:alarms"),
        alarm_message(AlarmName=""),
        alarm_message(NewStateValue="BROKEN"),
        alarm_message(NewStateValue=["ALARM"]),
    ],
)
def test_a_message_that_is_not_a_cloudwatch_alarm_is_a_payload_error(text):
    with pytest.raises(PayloadError, match="not a CloudWatch alarm") as caught:
        parse_alarm(notification(text))
    assert not isinstance(caught.value, NotActionable)


def test_a_confirmation_is_not_an_alarm():
    with pytest.raises(PayloadError, match="not an SNS Notification"):
        parse_alarm(subscription_confirmation())


def test_alarm_texts_are_capped():
    dims = [{"name": f"d{n}", "value": "v" * 5000} for n in range(100)]
    long = "x" * 5000
    text = alarm_message(AlarmName=long, AlarmDescription=long, Trigger={"Dimensions": dims})
    (alert,) = parse_alarm(notification(text)).alerts
    assert len(alert.name) == 1000 and alert.name.endswith("…")
    assert max(len(v) for v in [*alert.labels.values(), *alert.annotations.values()]) == 1000
    assert len(alert.labels) == 30 + 1  # 30 dimensions and the region
