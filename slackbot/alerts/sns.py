"""Amazon SNS HTTP/S messages: prove that SNS sent them before anything of theirs is acted on.

`POST /alerts/sns` is reachable by anyone who can reach the listener, so a body is only a claim. SNS
signs every message (RSA, PKCS#1 v1.5; SignatureVersion 1 = SHA-1, 2 = SHA-256) over a canonical
string of some of its fields, with a key whose certificate it serves at `SigningCertURL`. The URL is
part of the claim, so it is checked before it is fetched: https, the SNS host of the topic's own
region, a `.pem` file at its root, nothing else (no userinfo, port, query, fragment, `..`).

Trust in production: `trusted_ca` is None and the certificate is trusted because it came over https,
with the TLS certificate checked by `fetch`, from the SNS host itself (AWS's certificates for the SNS
signing keys are not published as a separate CA to pin). Tests pass their own CA: the signing
certificate must then be issued by one of `trusted_ca`.

A verified message is still a replay candidate: messages older than `max_age` are refused (SNS stops
retrying an HTTP/S delivery within 3,600 s, its hard limit), and the listener dedupes on `MessageId`.
`topic_arns`, when given, refuses every other topic: anyone with an AWS account can sign a message
from a topic of their own, and a confirmed subscription would let them open investigations.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from slackbot.alerts.cloudwatch import NotActionable, parse_alarm
from slackbot.alerts.model import PayloadError

__all__ = ["NotActionable", "SignatureError", "SnsVerifier", "confirm_url", "parse_alarm", "sns_region"]

# The fields each Type signs, in the order SNS concatenates them ("Key\nvalue\n" each); both kinds of
# subscription message sign the same ones.
_SUBSCRIPTION_FIELDS = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
_SIGNED_FIELDS: dict[str, tuple[str, ...]] = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": _SUBSCRIPTION_FIELDS,
    "UnsubscribeConfirmation": _SUBSCRIPTION_FIELDS,
}
_OPTIONAL_FIELDS = frozenset({"Subject"})
_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {"1": hashes.SHA1, "2": hashes.SHA256}
_TOPIC_ARN = re.compile(
    r"arn:aws(?:-cn|-us-gov)?:sns:([a-z]{2}(?:-[a-z]+)+-\d{1,2}):\d{12}:[A-Za-z0-9_.-]{1,256}"
)
_MESSAGE_ID = re.compile(r"[A-Za-z0-9-]{1,128}")  # a UUID in practice
_CERT_PATH = re.compile(r"/[A-Za-z0-9_-][A-Za-z0-9_.-]{0,200}\.pem")
_MAX_SIGNATURE_CHARS = 2048  # base64 of a 4096-bit RSA signature is 684
_MAX_CERT_BYTES = 64 * 1024
_FUTURE_SKEW = dt.timedelta(minutes=5)  # clocks differ; a message from further ahead is not SNS's


class SignatureError(Exception):
    """A message not proven to come from SNS: the listener answers 403 and acts on nothing of it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def sns_region(message: Mapping[str, Any]) -> str:
    """The region of the message's TopicArn: the only region whose SNS host may serve its URLs."""
    match = _TOPIC_ARN.fullmatch(str(message.get("TopicArn", "")))
    if match is None:
        raise SignatureError("TopicArn is not an SNS topic ARN")
    return match.group(1)


def sns_host(region: str) -> str:
    """SNS's endpoint in `region`; the China regions live under amazonaws.com.cn."""
    return f"sns.{region}.amazonaws.com" + (".cn" if region.startswith("cn-") else "")


def confirm_url(message: Mapping[str, Any]) -> str:
    """The URL the listener GETs to confirm a verified SubscriptionConfirmation.

    The URL is signed, but GETting it is still an outbound request the body asks for: it must be
    SNS's ConfirmSubscription for this very topic on the topic's own regional host, or nothing.
    """
    if message.get("Type") != "SubscriptionConfirmation":
        raise PayloadError("not a SubscriptionConfirmation: there is no subscription to confirm")
    url = message.get("SubscribeURL")
    if not isinstance(url, str) or not url.isprintable() or " " in url or "\\" in url:
        raise SignatureError("SubscribeURL is not a plain URL")
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    if parts.scheme != "https" or parts.netloc != sns_host(sns_region(message)) or parts.fragment:
        raise SignatureError("SubscribeURL is not https on the SNS host of the topic's region")
    if query.get("Action") != ["ConfirmSubscription"] or query.get("TopicArn") != [message["TopicArn"]]:
        raise SignatureError("SubscribeURL is not the ConfirmSubscription of this topic")
    return url


def canonical_string(message: Mapping[str, Any]) -> bytes:
    """The bytes SNS signed: each signed field of the message's Type as "Key\\nvalue\\n", in order.

    Subject is signed only when the message has one; every other signed field must be a string.
    """
    fields = _SIGNED_FIELDS.get(str(message.get("Type")))
    if fields is None:
        raise SignatureError("Type is not an SNS message type")
    out: list[str] = []
    for key in fields:
        value = message.get(key)
        if value is None and key in _OPTIONAL_FIELDS:
            continue
        if not isinstance(value, str):
            raise SignatureError(f"{key} is missing or not a string")
        out.append(f"{key}\n{value}\n")
    return "".join(out).encode()


class SnsVerifier:
    """Verifies SNS message signatures; holds the signing certificates it fetched, by URL."""

    def __init__(
        self,
        fetch: Callable[[str], bytes],
        trusted_ca: list[x509.Certificate] | None = None,
        cache_size: int = 16,
        *,
        max_age: dt.timedelta = dt.timedelta(hours=1),
        topic_arns: Collection[str] | None = None,
        now: Callable[[], float] = time.time,
    ) -> None:
        """`fetch` GETs an https URL (checking TLS) and returns the body; its errors propagate, so a
        failure to reach SNS is the listener's 5xx (SNS retries those) and not a forged message.
        `topic_arns` None accepts any topic: for tests; the listener should pass its configured ones."""
        self._fetch = fetch
        self._trusted_ca = list(trusted_ca) if trusted_ca is not None else None
        self._cache_size = max(1, cache_size)
        self._max_age = max_age
        self._topics = frozenset(topic_arns) if topic_arns is not None else None
        self._now = now
        self._certs: OrderedDict[str, x509.Certificate] = OrderedDict()
        self._lock = threading.Lock()

    def verify(self, message: Mapping[str, Any]) -> None:
        """Return if SNS signed this message for an accepted topic, recently; else SignatureError.

        Everything that can be checked without the network is checked before the certificate is
        fetched, so a forged body cannot make the bot fetch anything but an SNS certificate.
        """
        if not isinstance(message, Mapping):
            raise SignatureError("message is not a JSON object")
        signed = canonical_string(message)
        hash_for = _HASHES.get(str(message.get("SignatureVersion")))
        if hash_for is None:
            raise SignatureError("SignatureVersion is not 1 or 2")
        if _MESSAGE_ID.fullmatch(message["MessageId"]) is None:
            # SNS's are UUIDs; the strict shape also leaves no room for a newline in it that
            # would shift text between the signed fields around it.
            raise SignatureError("MessageId is not an SNS message id")
        region = sns_region(message)
        if self._topics is not None and message["TopicArn"] not in self._topics:
            raise SignatureError("TopicArn is not one this listener subscribed to")
        now = dt.datetime.fromtimestamp(self._now(), dt.UTC)
        self._check_timestamp(message["Timestamp"], now)
        url = self._cert_url(message.get("SigningCertURL"), region)
        signature = _signature_bytes(message.get("Signature"))
        cert = self._certificate(url)
        key = cert.public_key()
        if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            raise SignatureError("signing certificate is expired or not yet valid")
        if not isinstance(key, rsa.RSAPublicKey):
            raise SignatureError("signing certificate does not hold an RSA key")
        try:
            key.verify(signature, signed, padding.PKCS1v15(), hash_for())
        except InvalidSignature:
            raise SignatureError("signature does not match the message") from None

    def _check_timestamp(self, value: str, now: dt.datetime) -> None:
        """Refuse replays of old messages and messages from the future (not SNS's clock)."""
        try:
            stamp = dt.datetime.fromisoformat(value)
        except ValueError:
            raise SignatureError("Timestamp is not an ISO 8601 time") from None
        if stamp.tzinfo is None:
            raise SignatureError("Timestamp has no time zone")
        if stamp < now - self._max_age:
            raise SignatureError(f"message is older than {int(self._max_age.total_seconds())} s")
        if stamp > now + _FUTURE_SKEW:
            raise SignatureError("Timestamp is in the future")

    @staticmethod
    def _cert_url(url: object, region: str) -> str:
        """The SigningCertURL if it names a .pem at the root of the region's SNS host, exactly.

        A full match on the whole string: no userinfo, port, query, fragment, sub-path or
        whitespace can get through, and the string fetched is the string checked.
        """
        if not isinstance(url, str):
            raise SignatureError("SigningCertURL is missing")
        prefix = f"https://{sns_host(region)}"
        if not url.startswith(prefix) or _CERT_PATH.fullmatch(url[len(prefix) :]) is None:
            raise SignatureError("SigningCertURL is not a .pem on the SNS host of the topic's region")
        return url

    def _certificate(self, url: str) -> x509.Certificate:
        """The certificate at `url`, from the cache or fetched once, checked against `trusted_ca`."""
        with self._lock:
            cert = self._certs.get(url)
            if cert is not None:
                self._certs.move_to_end(url)
                return cert
        body = self._fetch(url)
        if len(body) > _MAX_CERT_BYTES:
            raise SignatureError("signing certificate is too large")
        try:
            cert = x509.load_pem_x509_certificate(body)
        except ValueError:
            raise SignatureError("SigningCertURL does not serve a PEM certificate") from None
        if self._trusted_ca is not None and not any(_issued_by(cert, ca) for ca in self._trusted_ca):
            raise SignatureError("signing certificate is not issued by a trusted CA")
        with self._lock:
            self._certs[url] = cert
            self._certs.move_to_end(url)
            while len(self._certs) > self._cache_size:
                self._certs.popitem(last=False)
        return cert


def _issued_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    """Whether `ca` signed `cert` (name and signature both), without raising."""
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _signature_bytes(value: object) -> bytes:
    """The Signature field decoded, refusing anything but bounded, strict base64."""
    if not isinstance(value, str) or not value or len(value) > _MAX_SIGNATURE_CHARS:
        raise SignatureError("Signature is missing or too long")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("Signature is not base64") from None
