"""The alert listener's doors: what it refuses (and with which status and reason), what it stores, and
that nothing is stored (so nothing is posted) unless the request was authenticated and well formed."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from agents.state.alerts import SqliteAlertInbox
from slackbot.alerts.listener import RESEND_WINDOW, AlertListener
from slackbot.alerts.settings import AlertSettings
from slackbot.alerts.sns import SnsVerifier
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

TOKEN = "a-bearer-token-of-24-chars"
AM_BODY = {
    "version": "4",
    "groupKey": '{}:{alertname="Down"}',
    "status": "firing",
    "receiver": "sre-bot",
    "groupLabels": {"alertname": "Down"},
    "commonLabels": {"alertname": "Down"},
    "commonAnnotations": {},
    "externalURL": "http://alertmanager:9093",
    "truncatedAlerts": 0,
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "Down", "job": "api"},
            "annotations": {"summary": "api is down"},
            "startsAt": "2026-12-03T10:00:00.123456789Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus:9090/graph",
            "fingerprint": "c0ffee0000000001",
        }
    ],
}


class World:
    def __init__(self, tmp_path: Path) -> None:
        ca_key, self.ca = make_ca()
        self.key, cert = make_signing_cert(ca_key, self.ca)
        self.certs = CertServer({CERT_URL: cert})
        self.inbox = SqliteAlertInbox(tmp_path / "alerts.sqlite3")
        self.confirmed: list[str] = []
        self.woken = 0
        self.now = 1_000_000.0
        settings = AlertSettings(
            _env_file=None,  # type: ignore[call-arg]
            alerts_port=9095,
            alerts_token=TOKEN,
            alert_channel="C1",
            alerts_max_body_bytes=8192,
            alerts_sns_topic_arns=TOPIC_ARN,
        )

        async def confirm(url: str) -> None:
            self.confirmed.append(url)

        verifier = SnsVerifier(self.certs, [self.ca], topic_arns=settings.topics)
        self.listener = AlertListener(
            settings, self.inbox, verifier, self.wake, confirm, clock=lambda: self.now
        )

    def wake(self) -> None:
        self.woken += 1


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[tuple[World, aiohttp.ClientSession, str]]:
    w = World(tmp_path)
    server = TestServer(w.listener.app())
    await server.start_server()
    async with aiohttp.ClientSession() as session:
        yield w, session, str(server.make_url(""))
    await server.close()


async def send(
    session: aiohttp.ClientSession, url: str, body: Any, token: str | None = TOKEN, raw: bytes | None = None
) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    data = raw if raw is not None else json.dumps(body).encode()
    async with session.post(url, data=data, headers=headers) as response:
        return response.status, await response.json()


async def test_an_alertmanager_delivery_is_stored_then_acknowledged_and_a_resend_changes_nothing(
    world: Any,
) -> None:
    w, session, base = world
    assert await send(session, base + "/alerts/alertmanager", AM_BODY) == (200, {"ok": True})
    [item] = w.inbox.pending()
    assert item.group_key == AM_BODY["groupKey"] and w.woken == 1
    status, answer = await send(session, base + "/alerts/alertmanager", AM_BODY)  # our 200 was lost
    assert (status, answer.get("duplicate")) == (200, True) and len(w.inbox.pending()) == 1 and w.woken == 1
    w.now += RESEND_WINDOW  # repeat_interval later: a repeat the header counts
    assert (await send(session, base + "/alerts/alertmanager", AM_BODY))[0] == 200
    assert len(w.inbox.pending()) == 2 and w.woken == 2


@pytest.mark.parametrize(("token", "status"), [("wrong-token-wrong-token-x", 401), (None, 401), ("", 401)])
async def test_a_wrong_or_missing_token_is_401_and_stores_nothing(
    world: Any, token: str | None, status: int
) -> None:
    w, session, base = world
    assert (await send(session, base + "/alerts/alertmanager", AM_BODY, token=token))[0] == status
    assert w.inbox.pending() == [] and w.woken == 0


async def test_a_malformed_body_is_400_with_the_reason(world: Any) -> None:
    w, session, base = world
    status, answer = await send(session, base + "/alerts/alertmanager", {**AM_BODY, "version": "3"})
    assert status == 400 and "version" in answer["error"]
    status, answer = await send(session, base + "/alerts/alertmanager", None, raw=b"{not json")
    assert status == 400 and answer["error"]
    assert w.inbox.pending() == []


async def test_a_body_over_the_limit_is_413_before_it_is_read(world: Any) -> None:
    w, session, base = world
    huge = {**AM_BODY, "commonAnnotations": {"x": "y" * 10_000}}
    assert (await send(session, base + "/alerts/alertmanager", huge))[0] == 413
    assert w.inbox.pending() == []


async def test_sns_a_signed_alarm_is_stored_and_only_from_a_listed_topic(world: Any) -> None:
    w, session, base = world
    signed = sign_message(notification(alarm_message()), w.key)
    assert (await send(session, base + "/alerts/sns", signed, token=None))[0] == 200
    assert [i.group_key for i in w.inbox.pending()] == [json.loads(alarm_message())["AlarmArn"]]
    other_topic = TOPIC_ARN.replace(":alarms", ":someone-elses")
    foreign = sign_message(notification(alarm_message(), TopicArn=other_topic), w.key)
    status, answer = await send(session, base + "/alerts/sns", foreign, token=None)
    assert status == 403 and "ALERTS_SNS_TOPIC_ARNS" in answer["error"]
    tampered = dict(signed, Message=alarm_message(AlarmName="other"))
    assert (await send(session, base + "/alerts/sns", tampered, token=None))[0] == 403
    assert len(w.inbox.pending()) == 1


async def test_sns_confirmation_insufficient_data_and_an_unreachable_certificate(world: Any) -> None:
    w, session, base = world
    confirmation = sign_message(subscription_confirmation(), w.key)
    assert (await send(session, base + "/alerts/sns", confirmation, token=None))[0] == 200
    assert w.confirmed == [confirmation["SubscribeURL"]]
    quiet = sign_message(notification(alarm_message("INSUFFICIENT_DATA")), w.key)
    status, answer = await send(session, base + "/alerts/sns", quiet, token=None)
    assert status == 200 and "ignored" in answer and w.inbox.pending() == []  # taken, not acted on
    w.certs.certs.clear()
    w.listener.verifier = SnsVerifier(w.certs, [w.ca], topic_arns={TOPIC_ARN})  # an empty cache
    status, _ = await send(
        session, base + "/alerts/sns", sign_message(notification(alarm_message()), w.key), token=None
    )
    assert status == 503 and w.inbox.pending() == []  # SNS delivers it again later


def test_doctor_says_whether_alerts_listen_and_what_an_enabled_listener_lacks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from frontends.cli import _alert_checks

    [off] = _alert_checks()
    assert off.status == "SKIP" and "ALERTS_PORT" in off.detail
    monkeypatch.setenv("ALERTS_PORT", "9095")
    [lacking] = _alert_checks()
    assert lacking.status == "FAIL" and "ALERTS_TOKEN" in lacking.detail and lacking.config
    monkeypatch.setenv("ALERTS_TOKEN", "short")
    monkeypatch.setenv("ALERT_CHANNEL", "C0123ABCD")
    [short] = _alert_checks()
    assert short.status == "FAIL" and "16 characters" in short.detail
    monkeypatch.setenv("ALERTS_TOKEN", TOKEN)
    [ready] = _alert_checks()
    assert ready.status == "OK" and "9095" in ready.detail and "C0123ABCD" in ready.detail


def test_the_certificate_fetch_follows_no_redirect() -> None:
    """The verifier checked the URL; a redirect from it would lead to a host nobody checked."""
    import threading
    import urllib.error
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from slackbot.alerts.service import fetch_certificate

    seen: list[str] = []

    class Redirecting(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            self.send_response(302)
            self.send_header("Location", "/elsewhere.pem")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Redirecting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with pytest.raises(urllib.error.HTTPError):
            fetch_certificate(f"http://127.0.0.1:{server.server_port}/cert.pem")
    finally:
        server.shutdown()
    assert seen == ["/cert.pem"]  # the redirect's target was never asked for


def counted(source: str, outcome: str, reason: str) -> float:
    from agents.metrics import REGISTRY

    labels = {"source": source, "outcome": outcome, "reason": reason}
    return REGISTRY.get_sample_value("sre_bot_alerts_total", labels) or 0.0


SURROGATE_AM = json.dumps({**AM_BODY, "groupKey": "\ud800"}).encode()  # valid JSON, not valid text


@pytest.mark.parametrize(
    ("path", "body", "token", "status", "labels", "error"),
    [
        (
            "/alerts/alertmanager",
            AM_BODY,
            "wrong-token-wrong-token-x",
            401,
            ("alertmanager", "refused", "auth"),
            "missing or wrong bearer token",
        ),
        (
            "/alerts/alertmanager",
            {**AM_BODY, "version": "3"},
            TOKEN,
            400,
            ("alertmanager", "refused", "malformed"),
            'version must be "4" (Alertmanager\'s webhook format)',
        ),
        (
            "/alerts/alertmanager",
            SURROGATE_AM,
            TOKEN,
            400,
            ("alertmanager", "refused", "malformed"),
            "text with invalid Unicode (a lone surrogate)",
        ),
        (
            "/alerts/alertmanager",
            {**AM_BODY, "commonAnnotations": {"x": "y" * 10_000}},
            TOKEN,
            413,
            ("alertmanager", "refused", "too_large"),
            "bodies are limited to 8192 bytes",
        ),
        ("/alerts/sns", b"{not json", None, 400, ("sns", "refused", "malformed"), "the body is not JSON"),
        (
            "/alerts/sns",
            b"[1]",
            None,
            400,
            ("sns", "refused", "malformed"),
            "the body is not an SNS message object",
        ),
        (
            "/alerts/sns",
            {"TopicArn": ["not", "a", "string"]},
            None,
            403,
            ("sns", "refused", "topic"),
            "this topic is not one of ALERTS_SNS_TOPIC_ARNS",
        ),
        (
            "/alerts/sns",
            {**notification(alarm_message()), "Signature": "AAAA", "SignatureVersion": "2"},
            None,
            403,
            ("sns", "refused", "signature"),
            "signature does not match the message",
        ),
    ],
)
async def test_each_refusal_has_its_status_words_and_counter(
    world: Any, path: str, body: Any, token: str | None, status: int, labels: tuple[str, str, str], error: str
) -> None:
    w, session, base = world
    before = counted(*labels)
    raw = body if isinstance(body, bytes) else None
    got, answer = await send(session, base + path, body, token=token, raw=raw)
    assert got == status and answer == {"ok": False, "error": error}
    assert counted(*labels) == before + 1
    assert w.inbox.pending() == [] and w.woken == 0


async def test_stored_duplicate_ignored_and_unreachable_are_counted_apart(world: Any) -> None:
    w, session, base = world
    received, duplicated = (
        counted("alertmanager", "received", ""),
        counted("alertmanager", "deduplicated", ""),
    )
    await send(session, base + "/alerts/alertmanager", AM_BODY)
    await send(session, base + "/alerts/alertmanager", AM_BODY)
    assert counted("alertmanager", "received", "") == received + 1
    assert counted("alertmanager", "deduplicated", "") == duplicated + 1
    ignored = counted("sns", "ignored", "state")
    await send(
        session,
        base + "/alerts/sns",
        sign_message(notification(alarm_message("INSUFFICIENT_DATA")), w.key),
        token=None,
    )
    assert counted("sns", "ignored", "state") == ignored + 1
    sns_received = counted("sns", "received", "")
    await send(session, base + "/alerts/sns", sign_message(notification(alarm_message()), w.key), token=None)
    assert counted("sns", "received", "") == sns_received + 1
    malformed = counted("sns", "refused", "malformed")
    status, answer = await send(
        session, base + "/alerts/sns", sign_message(notification("not an alarm"), w.key), token=None
    )
    assert status == 400 and counted("sns", "refused", "malformed") == malformed + 1 and answer["error"]
    certificate = counted("sns", "refused", "certificate")
    w.certs.certs.clear()
    w.listener.verifier = SnsVerifier(w.certs, [w.ca], topic_arns={TOPIC_ARN})
    status, answer = await send(
        session, base + "/alerts/sns", sign_message(notification(alarm_message()), w.key), token=None
    )
    assert status == 503 and answer["error"] == "the signing certificate could not be fetched; retry"
    assert counted("sns", "refused", "certificate") == certificate + 1


async def test_a_route_whose_source_is_not_configured_answers_404(tmp_path: Path) -> None:
    settings = AlertSettings(_env_file=None, alerts_port=9095, alert_channel="C1")  # type: ignore[call-arg]
    inbox = SqliteAlertInbox(tmp_path / "a.sqlite3")
    listener = AlertListener(settings, inbox, SnsVerifier(CertServer({})), lambda: None)
    server = TestServer(listener.app())
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as session:
            base = str(server.make_url(""))
            before = counted("alertmanager", "refused", "disabled"), counted("sns", "refused", "disabled")
            status, answer = await send(session, base + "/alerts/alertmanager", AM_BODY)
            assert status == 404 and answer["error"] == "Alertmanager is not configured here (ALERTS_TOKEN)"
            status, answer = await send(session, base + "/alerts/sns", {}, token=None)
            assert status == 404 and answer["error"] == "SNS is not configured here (ALERTS_SNS_TOPIC_ARNS)"
            assert (
                counted("alertmanager", "refused", "disabled"),
                counted("sns", "refused", "disabled"),
            ) == (before[0] + 1, before[1] + 1)
    finally:
        await server.close()


async def test_a_subscription_that_cannot_be_confirmed_is_400_and_counted(world: Any) -> None:
    w, session, base = world

    async def failing(_url: str) -> None:
        raise OSError("SNS answered 404")

    w.listener.confirm = failing
    before = counted("sns", "refused", "confirmation")
    status, answer = await send(
        session, base + "/alerts/sns", sign_message(subscription_confirmation(), w.key), token=None
    )
    assert status == 400 and answer["error"] == "could not confirm the subscription: SNS answered 404"
    assert counted("sns", "refused", "confirmation") == before + 1
