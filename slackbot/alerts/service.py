"""The alert listener and desk as `sre-bot run` starts them (and tests drive them): one object to
start beside the Slack socket and to stop before the answers drain."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from cryptography import x509

from agents.compose import Core
from agents.settings import ConfigError
from slackbot.alerts.desk import AlertDesk
from slackbot.alerts.listener import AlertListener, start_listener
from slackbot.alerts.routing import router
from slackbot.alerts.settings import AlertSettings
from slackbot.alerts.sns import SnsVerifier
from slackbot.conversations import Conversations
from slackbot.rate_budget import RateBudget

logger = logging.getLogger(__name__)

CERT_TIMEOUT = 10


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """The URL was checked to be the SNS host's; a redirect would lead somewhere unchecked."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def fetch_certificate(url: str) -> bytes:
    """GET an SNS signing certificate (the verifier checked the URL is an SNS host's, https); no redirect."""
    with _OPENER.open(url, timeout=CERT_TIMEOUT) as response:
        return bytes(response.read(64 * 1024))


def trusted_ca(settings: AlertSettings) -> list[x509.Certificate] | None:
    if settings.alerts_sns_ca_file is None:
        return None
    return x509.load_pem_x509_certificates(settings.alerts_sns_ca_file.read_bytes())


@dataclass
class AlertService:
    desk: AlertDesk
    app: web.Application
    runner: web.AppRunner | None = None
    task: asyncio.Task[None] | None = field(default=None)

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        if self.runner is not None:
            await self.runner.cleanup()


def build_alerts(
    settings: AlertSettings,
    core: Core,
    *,
    client: Any,
    budget: RateBudget,
    conversations: Conversations,
    team: str | None,
    fetch: Callable[[str], bytes] = fetch_certificate,
) -> AlertService:
    """The desk over the core's alert stores and the bot's conversations, and the listener's routes."""
    stores = core.stores
    desk = AlertDesk(
        inbox=stores.alert_inbox,
        groups=stores.alert_groups,
        client=client,
        budget=budget,
        conversations=conversations,
        route=router(core.assistant.fleet, settings.alert_channel),
        audit=core.assistant.audit,
        team=team,
        max_concurrent=settings.alert_max_concurrent,
    )
    verifier = SnsVerifier(fetch, trusted_ca(settings), topic_arns=settings.topics)
    listener = AlertListener(settings, stores.alert_inbox, verifier, desk.wake)
    return AlertService(desk, listener.app())


async def start_alerts(service: AlertService, settings: AlertSettings) -> AlertService:
    """Listen on ALERTS_PORT (a taken port is a setting to fix) and work the inbox."""
    try:
        service.runner = await start_listener(service.app, settings.alerts_host, settings.alerts_port)
    except OSError as exc:
        raise ConfigError(
            "ALERTS_PORT",
            f"cannot listen on port {settings.alerts_port} ({exc.strerror or exc}); pick a free port, or 0 to turn alerts off",
        ) from None
    service.task = asyncio.create_task(service.desk.run())
    logger.info("alerts: listening on port %d", settings.alerts_port)
    return service
