"""SNS messages are acted on only when SNS signed them; CloudWatch alarms read into a Notification."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slackbot.alerts.model import PayloadError
from slackbot.alerts.sns import SignatureError, SnsVerifier, confirm_url
from tests.sns_signing import (
    CERT_URL,
    TOPIC_ARN,
    CertServer,
    alarm_message,
    make_ca,
    make_signing_cert,
    notification,
    sign_message,
    subscription_confirmation,
)

NOTIFICATION_SIGNED = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
CONFIRMATION_SIGNED = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")


@pytest.fixture(scope="module")
def ca():
    return make_ca()


@pytest.fixture(scope="module")
def signer(ca):
    return make_signing_cert(*ca)


@pytest.fixture
def server(signer):
    return CertServer({CERT_URL: signer[1]})


@pytest.fixture
def verifier(server, ca):
    return SnsVerifier(server, trusted_ca=[ca[1]])


def refused(verifier: SnsVerifier, message: dict) -> str:
    with pytest.raises(SignatureError) as caught:
        verifier.verify(message)
    return caught.value.reason


def messages():
    """One of each kind SNS signs differently: Notification with and without Subject, confirmation."""
    return [
        notification(alarm_message(), subject='ALARM: "node-cpu-high" in US East (N. Virginia)'),
        notification(alarm_message()),
        subscription_confirmation(),
        subscription_confirmation(Type="UnsubscribeConfirmation"),
    ]


@pytest.mark.parametrize("version", ["1", "2"])
@pytest.mark.parametrize(
    "kind", [0, 1, 2, 3], ids=["notification+subject", "notification", "confirmation", "unsubscribe"]
)
def test_a_message_signed_as_sns_signs_is_accepted(verifier, signer, version, kind):
    verifier.verify(sign_message(messages()[kind], signer[0], version))


@pytest.mark.parametrize("version", ["1", "2"])
@pytest.mark.parametrize(
    ("kind", "field"),
    [(0, f) for f in NOTIFICATION_SIGNED] + [(2, f) for f in CONFIRMATION_SIGNED],
)
def test_a_signed_field_changed_after_signing_is_refused(verifier, signer, version, kind, field):
    message = sign_message(messages()[kind], signer[0], version)
    refused(verifier, message | {field: message[field] + "x"})


def test_a_subject_added_or_removed_after_signing_is_refused(verifier, signer):
    with_subject = sign_message(notification(alarm_message(), subject="s"), signer[0])
    without = sign_message(notification(alarm_message()), signer[0])
    assert refused(verifier, {k: v for k, v in with_subject.items() if k != "Subject"}) == (
        "signature does not match the message"
    )
    assert refused(verifier, without | {"Subject": "s"}) == "signature does not match the message"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_single_character_change_to_a_signed_field_is_refused(verifier, signer, data):
    kind = data.draw(st.sampled_from([0, 2]))
    message = sign_message(messages()[kind], signer[0], data.draw(st.sampled_from(["1", "2"])))
    field = data.draw(st.sampled_from(NOTIFICATION_SIGNED if kind == 0 else CONFIRMATION_SIGNED))
    value = message[field]
    at = data.draw(st.integers(0, len(value) - 1))
    char = data.draw(st.characters(codec="utf-8").filter(lambda c: c != value[at]))
    refused(verifier, message | {field: value[:at] + char + value[at + 1 :]})


def test_a_changed_signature_is_refused(verifier, signer):
    message = sign_message(notification(alarm_message()), signer[0])
    flipped = (
        message["Signature"][:10]
        + ("A" if message["Signature"][10] != "A" else "B")
        + message["Signature"][11:]
    )
    assert refused(verifier, message | {"Signature": flipped}) == "signature does not match the message"
    assert refused(verifier, message | {"Signature": "not base64!"}) == "Signature is not base64"


def test_a_certificate_from_another_ca_is_refused_when_a_ca_is_trusted(ca, signer):
    other_key, other_cert = make_signing_cert(*make_ca("another CA"))
    server = CertServer({CERT_URL: other_cert})
    message = sign_message(notification(alarm_message()), other_key)
    assert refused(SnsVerifier(server, trusted_ca=[ca[1]]), message) == (
        "signing certificate is not issued by a trusted CA"
    )
    SnsVerifier(server).verify(message)  # production: trust comes from https to the SNS host


@pytest.mark.parametrize(
    "url",
    [
        "https://sns.us-east-1.amazonaws.com.evil.example/SimpleNotificationService-test.pem",
        "https://evil.example/sns.us-east-1.amazonaws.com/SimpleNotificationService-test.pem",
        "http://sns.us-east-1.amazonaws.com/SimpleNotificationService-test.pem",
        "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-test.pem",
        "https://sns.us-east-1.amazonaws.com@evil.example/x.pem",
        "https://user@sns.us-east-1.amazonaws.com/x.pem",
        "https://sns.us-east-1.amazonaws.com:8443/x.pem",
        "https://sns.us-east-1.amazonaws.com/x.pem?y=.pem",
        "https://sns.us-east-1.amazonaws.com/x.pem#.pem",
        "https://sns.us-east-1.amazonaws.com/x.txt",
        "https://sns.us-east-1.amazonaws.com/../x.pem",
        "https://sns.us-east-1.amazonaws.com/a/x.pem",
        "https://sns.us-east-1.amazonaws.com/x.pem\n",
        "https://sns.us-east-1.amazonaws.com.cn/x.pem",
        "https://SNS.us-east-1.amazonaws.com/x.pem",
    ],
)
def test_a_certificate_url_off_the_topics_sns_host_is_refused_without_fetching(verifier, server, signer, url):
    message = sign_message(notification(alarm_message()) | {"SigningCertURL": url}, signer[0])
    assert refused(verifier, message) == "SigningCertURL is not a .pem on the SNS host of the topic's region"
    assert server.calls == []


def test_a_china_topic_takes_its_certificate_from_the_china_host(ca, signer):
    url = "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-cn.pem"
    server = CertServer({url: signer[1]})
    topic = "arn:aws-cn:sns:cn-north-1:123456789012:alarms"
    SnsVerifier(server, [ca[1]]).verify(
        sign_message(notification(alarm_message(), TopicArn=topic, SigningCertURL=url), signer[0])
    )
    assert server.calls == [url]


def test_the_certificate_is_fetched_once_for_many_messages_and_the_cache_is_bounded(ca, signer):
    urls = [f"https://sns.us-east-1.amazonaws.com/SimpleNotificationService-{n}.pem" for n in range(3)]
    server = CertServer(dict.fromkeys(urls, signer[1]))
    verifier = SnsVerifier(server, [ca[1]], cache_size=2)
    for _ in range(5):
        verifier.verify(sign_message(notification(alarm_message(), SigningCertURL=urls[0]), signer[0]))
    assert server.calls == [urls[0]]
    # 0 used after 1, so 2 evicts 1 (least recently used), and 0 is still cached
    for url in [urls[1], urls[0], urls[2], urls[0], urls[1]]:
        verifier.verify(sign_message(notification(alarm_message(), SigningCertURL=url), signer[0]))
    assert server.calls == [urls[0], urls[1], urls[2], urls[1]]


@pytest.mark.parametrize("days", [(-30, -1), (1, 30)], ids=["expired", "not yet valid"])
def test_a_certificate_outside_its_validity_is_refused(ca, days):
    now = dt.datetime.now(dt.UTC)
    key, cert = make_signing_cert(*ca, now + dt.timedelta(days=days[0]), now + dt.timedelta(days=days[1]))
    verifier = SnsVerifier(CertServer({CERT_URL: cert}), [ca[1]])
    assert refused(verifier, sign_message(notification(alarm_message()), key)) == (
        "signing certificate is expired or not yet valid"
    )


def test_an_old_or_future_timestamp_is_refused(ca, server, signer):
    now = dt.datetime.now(dt.UTC)
    verifier = SnsVerifier(server, [ca[1]], max_age=dt.timedelta(minutes=10))
    verifier.verify(sign_message(notification(alarm_message(), at=now - dt.timedelta(minutes=9)), signer[0]))
    old = sign_message(notification(alarm_message(), at=now - dt.timedelta(minutes=11)), signer[0])
    assert refused(verifier, old) == "message is older than 600 s"
    ahead = sign_message(notification(alarm_message(), at=now + dt.timedelta(minutes=6)), signer[0])
    assert refused(verifier, ahead) == "Timestamp is in the future"
    assert (
        refused(
            SnsVerifier(server, [ca[1]]),
            sign_message(notification(alarm_message(), at=now - dt.timedelta(minutes=61)), signer[0]),
        )
        == "message is older than 3600 s"
    )


@pytest.mark.parametrize("version", ["3", "", "2 ", None])
def test_an_unknown_signature_version_is_refused(verifier, signer, version):
    message = sign_message(notification(alarm_message()), signer[0]) | {"SignatureVersion": version}
    assert refused(verifier, message) == "SignatureVersion is not 1 or 2"


@pytest.mark.parametrize(
    "field", ["Type", "Message", "MessageId", "Timestamp", "TopicArn", "SigningCertURL", "Signature"]
)
def test_a_message_missing_a_field_is_refused_before_fetching(verifier, server, signer, field):
    message = sign_message(notification(alarm_message()), signer[0])
    del message[field]
    refused(verifier, message)
    assert server.calls == []


def test_only_the_configured_topics_are_accepted(ca, server, signer):
    message = sign_message(notification(alarm_message()), signer[0])
    SnsVerifier(server, [ca[1]], topic_arns=[TOPIC_ARN]).verify(message)
    other = SnsVerifier(server, [ca[1]], topic_arns=["arn:aws:sns:us-east-1:123456789012:other"])
    assert refused(other, message) == "TopicArn is not one this listener subscribed to"


def test_confirm_url_is_the_subscribe_url_on_the_topics_sns_host():
    message = subscription_confirmation()
    assert confirm_url(message) == message["SubscribeURL"]
    for url in [
        message["SubscribeURL"].replace("https://", "http://"),
        message["SubscribeURL"].replace("amazonaws.com/", "amazonaws.com.evil.example/"),
        message["SubscribeURL"].replace("us-east-1.amazonaws.com", "us-east-1.amazonaws.com@evil.example"),
        message["SubscribeURL"].replace("Action=ConfirmSubscription", "Action=Publish"),
        message["SubscribeURL"].replace(":alarms", ":other"),
    ]:
        with pytest.raises(SignatureError):
            confirm_url(message | {"SubscribeURL": url})
    with pytest.raises(PayloadError):
        confirm_url(notification(alarm_message()))


@pytest.mark.parametrize("message_id", ["", "a\nSubject", "x" * 129, "id/1"])
def test_a_message_id_not_shaped_like_snss_is_refused(verifier, server, signer, message_id):
    message = sign_message(notification(alarm_message()) | {"MessageId": message_id}, signer[0])
    assert refused(verifier, message) == "MessageId is not an SNS message id"
    assert server.calls == []
