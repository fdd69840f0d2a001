"""Sign SNS messages the way SNS does, with a test CA: for unit and end-to-end tests of `/alerts/sns`.

Usage:
    ca_key, ca = make_ca()
    key, cert = make_signing_cert(ca_key, ca)
    fetch = CertServer({CERT_URL: cert})
    verifier = SnsVerifier(fetch, trusted_ca=[ca])
    verifier.verify(sign_message(notification(alarm_message("ALARM")), key, "2"))

The canonical string is written out here independently of slackbot/alerts/sns.py, from AWS's
"Verifying the signatures of Amazon SNS messages", so a mistake there is not copied into the tests.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

REGION = "us-east-1"
TOPIC_ARN = f"arn:aws:sns:{REGION}:123456789012:alarms"
CERT_URL = f"https://sns.{REGION}.amazonaws.com/SimpleNotificationService-test.pem"
ALARM_ARN = f"arn:aws:cloudwatch:{REGION}:123456789012:alarm:node-cpu-high"

_NOTIFICATION_KEYS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
_CONFIRMATION_KEYS = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_ca(common_name: str = "test SNS CA") -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """A self-signed RSA 2048 CA valid from a day ago for a year."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def make_signing_cert(
    ca_key: rsa.RSAPrivateKey,
    ca_cert: x509.Certificate,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """An RSA 2048 key and its certificate (CN sns.amazonaws.com, as SNS's own) issued by the CA."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("sns.amazonaws.com"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - dt.timedelta(days=1))
        .not_valid_after(not_after or now + dt.timedelta(days=30))
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


class CertServer:
    """A `fetch` for SnsVerifier serving PEM certificates by URL, recording every URL asked for."""

    def __init__(self, certs: dict[str, x509.Certificate]) -> None:
        self.certs = dict(certs)
        self.calls: list[str] = []

    def __call__(self, url: str) -> bytes:
        self.calls.append(url)
        if url not in self.certs:
            raise OSError(f"404 {url}")
        return pem(self.certs[url])


def string_to_sign(message: dict[str, Any]) -> bytes:
    """What SNS signs: "Key\\nvalue\\n" for each signed key of the Type; Subject only if present."""
    keys = _NOTIFICATION_KEYS if message["Type"] == "Notification" else _CONFIRMATION_KEYS
    return "".join(f"{k}\n{message[k]}\n" for k in keys if k != "Subject" or k in message).encode()


def sign_message(message: dict[str, Any], key: rsa.RSAPrivateKey, version: str = "2") -> dict[str, Any]:
    """A copy of `message` with SignatureVersion and Signature set as SNS sets them (1: SHA1, 2: SHA256)."""
    algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()
    signed = dict(message, SignatureVersion=version)
    signature = key.sign(string_to_sign(signed), padding.PKCS1v15(), algorithm)
    signed["Signature"] = base64.b64encode(signature).decode()
    return signed


def _timestamp(at: dt.datetime | None) -> str:
    at = at or dt.datetime.now(dt.UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def notification(
    message: str, subject: str | None = None, at: dt.datetime | None = None, **fields: str
) -> dict[str, Any]:
    """An unsigned SNS Notification envelope around `message` (the alarm JSON string)."""
    body: dict[str, Any] = {
        "Type": "Notification",
        "MessageId": str(uuid.uuid4()),
        "TopicArn": TOPIC_ARN,
        "Message": message,
        "Timestamp": _timestamp(at),
        "SigningCertURL": CERT_URL,
        "UnsubscribeURL": f"https://sns.{REGION}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={TOPIC_ARN}:x",
    }
    if subject is not None:
        body["Subject"] = subject
    return body | fields


def subscription_confirmation(at: dt.datetime | None = None, **fields: str) -> dict[str, Any]:
    """An unsigned SubscriptionConfirmation, its SubscribeURL on the topic's regional SNS host."""
    token = uuid.uuid4().hex * 4
    body: dict[str, Any] = {
        "Type": "SubscriptionConfirmation",
        "MessageId": str(uuid.uuid4()),
        "Token": token,
        "TopicArn": TOPIC_ARN,
        "Message": f"You have chosen to subscribe to the topic {TOPIC_ARN}.\nTo confirm, visit the SubscribeURL.",
        "SubscribeURL": f"https://sns.{REGION}.amazonaws.com/?Action=ConfirmSubscription&TopicArn={TOPIC_ARN}&Token={token}",
        "Timestamp": _timestamp(at),
        "SigningCertURL": CERT_URL,
    }
    return body | fields


def alarm_message(state: str = "ALARM", cluster: str | None = "prod-eks", **fields: Any) -> str:
    """A CloudWatch alarm state change as SNS carries it in Message (a JSON string)."""
    dimensions = [{"value": "i-0abc", "name": "InstanceId"}]
    if cluster is not None:
        dimensions.append({"value": cluster, "name": "ClusterName"})
    alarm: dict[str, Any] = {
        "AlarmName": "node-cpu-high",
        "AlarmDescription": "Node CPU above 80% for 5 minutes",
        "AWSAccountId": "123456789012",
        "NewStateValue": state,
        "NewStateReason": "Threshold Crossed: 1 datapoint [93.1] was greater than the threshold (80.0).",
        "StateChangeTime": "2024-05-01T12:00:00.000+0000",
        "Region": "US East (N. Virginia)",
        "AlarmArn": ALARM_ARN,
        "OldStateValue": "OK" if state == "ALARM" else "ALARM",
        "Trigger": {
            "MetricName": "node_cpu_utilization",
            "Namespace": "ContainerInsights",
            "Statistic": "AVERAGE",
            "Dimensions": dimensions,
            "Period": 300,
            "EvaluationPeriods": 1,
            "ComparisonOperator": "GreaterThanThreshold",
            "Threshold": 80.0,
        },
    }
    return json.dumps(alarm | fields)
