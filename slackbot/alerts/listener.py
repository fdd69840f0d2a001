"""The alert listener: `POST /alerts/alertmanager` and `POST /alerts/sns` on ALERTS_PORT.

A delivery is acknowledged (200) only once it is stored in the inbox, so nothing is lost between here and
Slack: the desk (`desk.py`) takes it from there, also after a restart. A request that fails authentication
gets 401/403 and stores nothing; a malformed body 400 with the reason; a body over
ALERTS_MAX_BODY_BYTES 413 before it is parsed. Alert text is never logged or echoed: only reasons.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import aiohttp
from aiohttp import web
from prometheus_client import Counter

from agents.metrics import REGISTRY
from agents.state.alerts import AlertInbox
from slackbot.alerts import alertmanager, sns
from slackbot.alerts.codec import notification_to_json
from slackbot.alerts.model import Notification, PayloadError
from slackbot.alerts.settings import AlertSettings

logger = logging.getLogger(__name__)

ALERTS = Counter(
    "sre_bot_alerts",
    "Alert notifications by outcome (received, deduplicated, investigated, refused) and reason",
    ["source", "outcome", "reason"],
    registry=REGISTRY,
)
RESEND_WINDOW = 5.0  # seconds: Alertmanager's resends of one notification come within it, repeats later


def refused(source: str, status: int, reason: str, why: str) -> web.Response:
    ALERTS.labels(source, "refused", reason).inc()
    return web.json_response({"ok": False, "error": why}, status=status)


class AlertListener:
    """The two routes, over the inbox; `wake` tells the desk there is something new."""

    def __init__(
        self,
        settings: AlertSettings,
        inbox: AlertInbox,
        verifier: sns.SnsVerifier,
        wake: Callable[[], None],
        confirm: Callable[[str], Awaitable[None]] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.inbox = inbox
        self.verifier = verifier
        self.wake = wake
        self.confirm = confirm or _get
        self.clock = clock

    def app(self) -> web.Application:
        app = web.Application(client_max_size=self.settings.alerts_max_body_bytes)
        app.router.add_post("/alerts/alertmanager", self.alertmanager)
        app.router.add_post("/alerts/sns", self.sns)
        return app

    async def alertmanager(self, request: web.Request) -> web.Response:
        source = "alertmanager"
        token = self.settings.token
        given = request.headers.get("Authorization", "")
        if not token:
            return refused(source, 404, "disabled", "Alertmanager is not configured here (ALERTS_TOKEN)")
        if not hmac.compare_digest(given.encode("utf-8", "surrogateescape"), f"Bearer {token}".encode()):
            return refused(source, 401, "auth", "missing or wrong bearer token")
        body = await self._body(request, source)
        if isinstance(body, web.Response):
            return body
        try:
            notification = alertmanager.parse_webhook(body)
        except PayloadError as exc:  # the parser's reason (deep nesting included)
            return refused(source, 400, "malformed", str(exc))
        # The same body again is a resend (our 200 was lost) when it comes within RESEND_WINDOW, and a
        # repeat (repeat_interval: the header counts it) after that; Alertmanager sends no id of its own.
        window = int(self.clock() // RESEND_WINDOW)
        return await self._store(replace(notification, delivery_id=f"{notification.delivery_id}:{window}"))

    async def sns(self, request: web.Request) -> web.Response:
        source = "sns"
        if not self.settings.topics:
            return refused(source, 404, "disabled", "SNS is not configured here (ALERTS_SNS_TOPIC_ARNS)")
        body = await self._body(request, source)
        if isinstance(body, web.Response):
            return body
        try:
            message = json.loads(body)
        except (ValueError, RecursionError):
            return refused(source, 400, "malformed", "the body is not JSON")
        if not isinstance(message, dict):
            return refused(source, 400, "malformed", "the body is not an SNS message object")
        topic = message.get("TopicArn")
        if not isinstance(topic, str) or topic not in self.settings.topics:
            return refused(source, 403, "topic", "this topic is not one of ALERTS_SNS_TOPIC_ARNS")
        try:
            await asyncio.to_thread(self.verifier.verify, message)  # may fetch the signing certificate
        except sns.SignatureError as exc:
            return refused(source, 403, "signature", str(exc))
        except OSError as exc:  # the certificate could not be fetched: 503, so SNS delivers it again
            logger.warning("SNS signing certificate not fetched: %s", exc)
            return refused(source, 503, "certificate", "the signing certificate could not be fetched; retry")
        return await self._sns_message(message)

    async def _sns_message(self, message: dict[str, Any]) -> web.Response:
        kind = message.get("Type")
        if kind == "SubscriptionConfirmation":
            try:
                await self.confirm(sns.confirm_url(message))
            except (sns.SignatureError, PayloadError, OSError, aiohttp.ClientError) as exc:
                return refused("sns", 400, "confirmation", f"could not confirm the subscription: {exc}")
            logger.info("SNS subscription confirmed for %s", message.get("TopicArn"))
            return web.json_response({"ok": True, "confirmed": True})
        if kind == "UnsubscribeConfirmation":
            logger.warning("SNS unsubscribed %s: no more alerts arrive from it", message.get("TopicArn"))
            return web.json_response({"ok": True})
        try:
            notification = sns.parse_alarm(message)
        except (
            sns.NotActionable
        ) as exc:  # INSUFFICIENT_DATA: taken (a 4xx is a failed delivery), not acted on
            ALERTS.labels("sns", "ignored", "state").inc()
            return web.json_response({"ok": True, "ignored": str(exc)})
        except PayloadError as exc:
            return refused("sns", 400, "malformed", str(exc))
        return await self._store(notification)

    async def _body(self, request: web.Request, source: str) -> bytes | web.Response:
        length = request.content_length
        if length is not None and length > self.settings.alerts_max_body_bytes:
            return refused(
                source, 413, "too_large", f"bodies are limited to {self.settings.alerts_max_body_bytes} bytes"
            )
        try:
            return await request.read()
        except web.HTTPRequestEntityTooLarge:
            return refused(
                source, 413, "too_large", f"bodies are limited to {self.settings.alerts_max_body_bytes} bytes"
            )

    async def _store(self, notification: Notification) -> web.Response:
        """Stored first, then acknowledged: a crash after the 200 loses nothing, one before it is resent."""
        if not _valid_text(notification):
            return refused(
                notification.source, 400, "malformed", "text with invalid Unicode (a lone surrogate)"
            )
        payload = notification_to_json(notification)
        new = await asyncio.to_thread(
            self.inbox.put, notification.delivery_id, notification.group_key, payload
        )
        source = notification.source
        if not new:
            ALERTS.labels(source, "deduplicated", "").inc()
            return web.json_response({"ok": True, "duplicate": True})
        ALERTS.labels(source, "received", "").inc()
        self.wake()
        return web.json_response({"ok": True})


def _valid_text(notification: Notification) -> bool:
    """Whether every text can be written as UTF-8 (a JSON `\\ud800` escape cannot): the store, Slack and
    the audit log all need it, and a sender should hear 400 now rather than see nothing later."""
    try:
        json.dumps(dataclasses.asdict(notification), ensure_ascii=False, default=str).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


async def _get(url: str) -> None:
    """Confirm an SNS subscription: a GET of its SubscribeURL (already checked to be an SNS host)."""
    timeout = aiohttp.ClientTimeout(total=10)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.get(url, allow_redirects=False) as response,
    ):
        if response.status != 200:
            raise OSError(f"SNS answered {response.status}")


async def start_listener(app: web.Application, host: str, port: int) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None)  # alert text is not for the log
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
