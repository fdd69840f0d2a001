"""The SNS verifier (slackbot/alerts/sns.py) at its edges and in its words: each refusal's reason, the last
second of the timestamp window and of a certificate's validity that is still accepted, the strict
confirmation URL, the certificate's size limit and the certificate cache's size.

Written for mutation testing (tests/MUTATION.md); tests/test_alerts_sns.py has the signature rules.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from slackbot.alerts.model import PayloadError
from slackbot.alerts.sns import SignatureError, SnsVerifier, confirm_url
from tests.sns_signing import (
    CERT_URL,
    CertServer,
    alarm_message,
    make_ca,
    make_signing_cert,
    notification,
    pem,
    sign_message,
    subscription_confirmation,
)


@pytest.fixture(scope="module")
def ca():
    return make_ca()


@pytest.fixture(scope="module")
def signer(ca):
    return make_signing_cert(*ca)


@pytest.fixture(scope="module")
def signed(signer) -> dict[str, Any]:
    """A Notification SNS signed now (SigningCertURL is not a signed field: tests may point it elsewhere)."""
    return sign_message(notification(alarm_message()), signer[0])


def reason(verifier: SnsVerifier, message: Any) -> str:
    """The refusal's reason, which is also the exception's text (the listener's 403 answers with it)."""
    with pytest.raises(SignatureError) as caught:
        verifier.verify(message)
    assert str(caught.value) == caught.value.reason
    return caught.value.reason


def whole_second_now() -> dt.datetime:
    return dt.datetime.fromtimestamp(int(time.time()), dt.UTC)


def verifier_at(clock: list[dt.datetime], fetch: Callable[[str], bytes], ca, **kwargs: Any) -> SnsVerifier:
    """A verifier whose clock reads clock[0]."""
    return SnsVerifier(fetch, [ca[1]], now=lambda: clock[0].timestamp(), **kwargs)


def without(message: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in message.items() if k != key}


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda m: [m], "message is not a JSON object"),
        (lambda m: m | {"Type": "Publish"}, "Type is not an SNS message type"),
        (lambda m: without(m, "Message"), "Message is missing or not a string"),
        (lambda m: m | {"Timestamp": 1}, "Timestamp is missing or not a string"),
        (lambda m: m | {"TopicArn": "arn:aws:sns:us-east-1:alarms"}, "TopicArn is not an SNS topic ARN"),
        (lambda m: m | {"Timestamp": "yesterday"}, "Timestamp is not an ISO 8601 time"),
        (lambda m: m | {"Timestamp": m["Timestamp"].rstrip("Z")}, "Timestamp has no time zone"),
        (lambda m: without(m, "SigningCertURL"), "SigningCertURL is missing"),
        (lambda m: m | {"Signature": ""}, "Signature is missing or too long"),
        (lambda m: m | {"Signature": 12345}, "Signature is missing or too long"),
        (lambda m: without(m, "Signature"), "Signature is missing or too long"),
        (lambda m: m | {"Signature": "A" * 2049}, "Signature is missing or too long"),
    ],
    ids=[
        "not-an-object",
        "type",
        "no-message",
        "timestamp-not-text",
        "topic-arn",
        "timestamp-not-iso",
        "timestamp-no-zone",
        "no-cert-url",
        "empty-signature",
        "signature-a-number",
        "no-signature",
        "signature-too-long",
    ],
)
def test_each_refusal_before_the_certificate_says_what_is_wrong_and_fetches_nothing(
    ca, signed, change, words
) -> None:
    server = CertServer({})
    assert reason(SnsVerifier(server, [ca[1]]), change(dict(signed))) == words
    assert server.calls == []


def test_a_signature_of_the_longest_allowed_length_is_checked_not_refused_as_too_long(ca, signer, signed):
    verifier = SnsVerifier(CertServer({CERT_URL: signer[1]}), [ca[1]])
    assert reason(verifier, signed | {"Signature": "A" * 2048}) == "signature does not match the message"


@pytest.mark.parametrize("extra", ["!", "\n", " ", "*"])
def test_a_signature_with_a_character_outside_base64_is_refused_even_if_the_rest_matches(
    ca, signer, signed, extra
):
    verifier = SnsVerifier(CertServer({CERT_URL: signer[1]}), [ca[1]])
    verifier.verify(signed)
    signature = signed["Signature"]
    loose = signature[:10] + extra + signature[10:]  # a lenient decoder would skip it and accept
    assert reason(verifier, signed | {"Signature": loose}) == "Signature is not base64"


def test_the_timestamp_window_accepts_its_first_and_last_millisecond(ca, signer):
    now = whole_second_now()
    clock = [now]
    verifier = verifier_at(clock, CertServer({CERT_URL: signer[1]}), ca, max_age=dt.timedelta(minutes=10))
    ms = dt.timedelta(milliseconds=1)

    def at(when: dt.datetime) -> dict[str, Any]:
        return sign_message(notification(alarm_message(), at=when), signer[0])

    verifier.verify(at(now - dt.timedelta(minutes=10)))  # exactly max_age old: still accepted
    assert reason(verifier, at(now - dt.timedelta(minutes=10) - ms)) == "message is older than 600 s"
    verifier.verify(at(now + dt.timedelta(minutes=5)))  # exactly the allowed clock skew ahead
    assert reason(verifier, at(now + dt.timedelta(minutes=5) + ms)) == "Timestamp is in the future"


def test_a_certificate_is_accepted_from_its_first_to_its_last_valid_second(ca):
    first = whole_second_now() - dt.timedelta(hours=1)
    last = first + dt.timedelta(hours=2)
    key, cert = make_signing_cert(*ca, first, last)
    clock = [first]
    verifier = verifier_at(clock, CertServer({CERT_URL: cert}), ca)
    second = dt.timedelta(seconds=1)
    for when, accepted in [(first - second, False), (first, True), (last, True), (last + second, False)]:
        clock[0] = when
        message = sign_message(notification(alarm_message(), at=when), key)
        if accepted:
            verifier.verify(message)
        else:
            assert reason(verifier, message) == "signing certificate is expired or not yet valid"


def test_a_certificate_without_an_rsa_key_is_refused(ca, signed):
    ca_key, ca_cert = ca
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    now = dt.datetime.now(dt.UTC)
    ec_cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(ca_cert.subject)
        .public_key(ec.generate_private_key(ec.SECP256R1()).public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(ca_key, hashes.SHA256())
    )
    verifier = SnsVerifier(CertServer({CERT_URL: ec_cert}), [ca_cert])
    assert reason(verifier, signed) == "signing certificate does not hold an RSA key"


def test_a_certificate_body_is_read_up_to_64_kib_and_must_be_a_pem_certificate(ca, signer, signed):
    body = pem(signer[1])
    padded = body + b"\n" * (64 * 1024 - len(body))  # text around a PEM block is allowed
    assert len(padded) == 64 * 1024
    SnsVerifier(lambda _url: padded, [ca[1]]).verify(signed)
    too_large = SnsVerifier(lambda _url: padded + b"\n", [ca[1]])
    assert reason(too_large, signed) == "signing certificate is too large"
    not_pem = SnsVerifier(lambda _url: b"<html>not a certificate</html>", [ca[1]])
    assert reason(not_pem, signed) == "SigningCertURL does not serve a PEM certificate"


def test_by_default_16_certificates_are_kept_and_the_least_recently_used_is_dropped(ca, signer, signed):
    urls = [f"https://sns.us-east-1.amazonaws.com/SimpleNotificationService-{n}.pem" for n in range(17)]
    server = CertServer(dict.fromkeys(urls, signer[1]))
    verifier = SnsVerifier(server, [ca[1]])
    for _ in range(2):
        for url in urls[:16]:
            verifier.verify(signed | {"SigningCertURL": url})
    assert server.calls == urls[:16]  # all 16 held
    verifier.verify(signed | {"SigningCertURL": urls[16]})  # the 17th drops the least recently used
    verifier.verify(signed | {"SigningCertURL": urls[0]})
    assert server.calls == [*urls, urls[0]]


@pytest.mark.parametrize("size", [0, 1])
def test_a_cache_size_under_one_still_keeps_exactly_one_certificate(ca, signer, signed, size):
    urls = [f"https://sns.us-east-1.amazonaws.com/SimpleNotificationService-{n}.pem" for n in range(2)]
    server = CertServer(dict.fromkeys(urls, signer[1]))
    verifier = SnsVerifier(server, [ca[1]], cache_size=size)
    for url in [urls[0], urls[0], urls[1], urls[0]]:
        verifier.verify(signed | {"SigningCertURL": url})
    assert server.calls == [urls[0], urls[1], urls[0]]


def confirmation_url(**replace: str) -> str:
    url: str = subscription_confirmation()["SubscribeURL"]
    for old, new in replace.items():
        url = url.replace(old, new)
    return url


def test_confirm_url_refuses_a_message_that_is_not_a_subscription_confirmation():
    with pytest.raises(PayloadError) as caught:
        confirm_url(notification(alarm_message()))
    assert str(caught.value) == "not a SubscriptionConfirmation: there is no subscription to confirm"
    with pytest.raises(PayloadError):
        confirm_url(subscription_confirmation(Type="UnsubscribeConfirmation"))


@pytest.mark.parametrize(
    "url",
    [
        None,
        confirmation_url() + " x",  # a space anywhere (here in the token)
        confirmation_url() + "\\x",  # a backslash: URL parsers disagree on it
        confirmation_url() + "\x7f",  # not printable
        confirmation_url() + "\u200b",  # not printable (zero-width space)
        confirmation_url() + "\t",  # not printable, and urlsplit would drop it silently
    ],
    ids=["not-text", "space", "backslash", "del", "zero-width", "tab"],
)
def test_a_subscribe_url_that_is_not_plain_text_is_refused(url):
    message = subscription_confirmation()
    assert confirm_url(message) == message["SubscribeURL"]
    with pytest.raises(SignatureError) as caught:
        confirm_url(message | {"SubscribeURL": url})
    assert str(caught.value) == "SubscribeURL is not a plain URL"


@pytest.mark.parametrize(
    ("url", "words"),
    [
        (confirmation_url(https="http"), "SubscribeURL is not https on the SNS host of the topic's region"),
        (
            confirmation_url(**{"us-east-1": "eu-west-1"}),
            "SubscribeURL is not https on the SNS host of the topic's region",
        ),
        (confirmation_url() + "#x", "SubscribeURL is not https on the SNS host of the topic's region"),
        (
            confirmation_url(ConfirmSubscription="Publish"),
            "SubscribeURL is not the ConfirmSubscription of this topic",
        ),
        (
            confirmation_url(**{":alarms": ":other"}),
            "SubscribeURL is not the ConfirmSubscription of this topic",
        ),
        (
            confirmation_url() + "&Action=ConfirmSubscription",  # said twice: which one counts?
            "SubscribeURL is not the ConfirmSubscription of this topic",
        ),
    ],
    ids=["http", "other-region", "fragment", "other-action", "other-topic", "action-twice"],
)
def test_a_subscribe_url_off_the_topics_confirmation_is_refused_with_the_rule_it_breaks(url, words):
    with pytest.raises(SignatureError) as caught:
        confirm_url(subscription_confirmation() | {"SubscribeURL": url})
    assert str(caught.value) == words
