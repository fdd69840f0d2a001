"""Slack settings and their checks: a bad token stops `sre-bot run` with one line, before anything starts."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from agents.settings import ConfigError, check_writable, describe_validation_error
from slackbot.safe_text import USER_ID

logger = logging.getLogger(__name__)

MANIFEST_HINT = "create the app from deploy/slack/manifest.yaml (README: Slack setup)"
DEFAULT_API_URL = "https://slack.com/api/"


# What the write gate says when it refuses a change, in the words of this front end: approvals happen in
# Slack and are enabled by the approver settings below (the terminal says the same, see frontends/terminal).
READ_ONLY_TEXT = (
    "Read-only mode: this bot cannot change the cluster. An operator can enable changes with "
    "EKS_MCP_ALLOW_WRITE=true (each change then needs an approval in Slack)."
)
NO_APPROVERS_TEXT = (
    "Changes are enabled but nobody is configured to approve them, so nothing was changed. Set "
    "APPROVER_USER_IDS (Slack user ids) or APPROVER_USERGROUP (a user group id) to enable approvals."
)


class ApproverSettings(BaseSettings):
    """Who may approve writes in Slack: Slack user ids and/or a Slack user group id.

    A class of its own so the terminal and `doctor` can read them (to say where changes get approved)
    without the Slack tokens the rest of `SlackSettings` is about.
    """

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True
    )

    approver_user_ids: str = ""
    approver_usergroup: str = ""
    require_separate_approver: bool = False

    @field_validator("approver_user_ids", "approver_usergroup", mode="before")
    @classmethod
    def _ids(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value

    @field_validator("approver_user_ids")
    @classmethod
    def _user_ids_shape(cls, value: str) -> str:
        for user in filter(None, (u.strip() for u in value.split(","))):
            if not USER_ID.fullmatch(user):
                raise ValueError(
                    f"expected Slack user ids such as U012ABCDEF, comma-separated; {user!r} is not one"
                )
        return value

    @field_validator("approver_usergroup")
    @classmethod
    def _usergroup_shape(cls, value: str) -> str:
        if value and not re.fullmatch(r"S[A-Z0-9]+", value):
            raise ValueError(
                f"expected a Slack user group id such as S0123ABCD (not its @handle); {value!r} is not one"
            )
        return value

    @property
    def approvers(self) -> list[str]:
        return [u.strip() for u in self.approver_user_ids.split(",") if u.strip()]

    @property
    def approvals_configured(self) -> bool:
        return bool(self.approvers or self.approver_usergroup)


def load_approver_settings() -> ApproverSettings:
    """Read the approver settings alone; raises ConfigError naming the variable."""
    try:
        return ApproverSettings()
    except ValidationError as exc:
        raise describe_validation_error(dict(exc.errors()[0]), ApproverSettings) from None


class SlackSettings(ApproverSettings):
    """Settings of the Slack front end (environment and .env, like the agents' settings)."""

    slack_bot_token: str = ""
    slack_app_token: str = ""
    slack_api_url: str = DEFAULT_API_URL
    slack_streaming: Literal["native", "update"] = "native"
    event_dedupe_path: Path = Path("var/slack-events.sqlite3")
    max_question_chars: int = Field(default=8000, ge=100, le=40_000)
    shutdown_grace_seconds: float = Field(default=20.0, ge=0, le=600)
    health_port: int = Field(default=8080, ge=0, le=65535)
    # replicas of the bot sharing the workspace's Slack rate tiers (Socket Mode: at most 10 connections)
    replica_count: int = Field(default=1, ge=1, le=10)

    @field_validator("slack_bot_token", "slack_app_token", "slack_api_url", mode="before")
    @classmethod
    def _strip(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value

    @field_validator("slack_api_url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        return value if value.endswith("/") else value + "/"


def load_slack_settings() -> SlackSettings:
    """Read and check the tokens' presence and shape; raises ConfigError naming the variable."""
    try:
        slack = SlackSettings()
    except ValidationError as exc:
        raise describe_validation_error(dict(exc.errors()[0]), SlackSettings) from None
    if not slack.slack_bot_token:
        raise ConfigError(
            "SLACK_BOT_TOKEN", f"missing; it is the Bot User OAuth Token (xoxb-…): {MANIFEST_HINT}"
        )
    if not slack.slack_bot_token.startswith("xoxb-"):
        raise ConfigError(
            "SLACK_BOT_TOKEN", "expected a bot token starting with xoxb- (OAuth & Permissions page)"
        )
    if not slack.slack_app_token:
        raise ConfigError(
            "SLACK_APP_TOKEN",
            f"missing; it is an app-level token (xapp-…) with connections:write: {MANIFEST_HINT}",
        )
    if not slack.slack_app_token.startswith("xapp-"):
        raise ConfigError(
            "SLACK_APP_TOKEN", "expected an app-level token starting with xapp- (Basic Information page)"
        )
    if not slack.slack_api_url.startswith(("http://", "https://")):
        raise ConfigError("SLACK_API_URL", f"expected an http(s) URL, got {slack.slack_api_url!r}")
    check_writable("EVENT_DEDUPE_PATH", slack.event_dedupe_path.parent)
    return slack


# Slack unreachable at start (network still coming up, a proxy restarting): retry before giving up.
CONNECT_RETRY_DELAYS = (1.0, 2.0, 4.0, 8.0)


class SlackUnreachable(Exception):
    """Slack's own address could not be reached: a network problem, not a setting to fix."""


_NETWORK_REASONS = (
    (
        ("name resolution", "Name or service not known", "nodename nor servname", "DNSError", "getaddrinfo"),
        "DNS failed",
    ),
    (("Connection refused",), "connection refused"),
    (("SSL", "certificate", "CERTIFICATE"), "TLS failed (a proxy's certificate? set SSL_CERT_FILE)"),
    (("Timeout", "timed out", "TimeoutError"), "timed out"),
    (("proxy", "Proxy"), "the proxy failed"),
)


def network_reason(exc: BaseException) -> str:
    """A few words for what went wrong on the way, e.g. "DNS failed", then the error itself."""
    text = f"{type(exc).__name__}: {exc}"
    for markers, reason in _NETWORK_REASONS:
        if any(marker in text for marker in markers):
            return f"{reason} ({text})"
    return text


def unreachable_error(slack: SlackSettings, exc: BaseException) -> Exception:
    """Slack could not be reached: a network problem on the default URL, else the URL may be wrong.

    On slack.com itself no setting is at fault, so naming SLACK_API_URL would send a newcomer to fix
    the wrong thing; a URL someone set (GovSlack, a proxy) may be the mistake, so that one is named.
    """
    reason = network_reason(exc)
    if slack.slack_api_url == DEFAULT_API_URL:
        return SlackUnreachable(
            f"cannot reach slack.com: {reason}; check the network, DNS and any proxy (HTTPS_PROXY)"
        )
    return ConfigError(
        "SLACK_API_URL",
        f"cannot reach Slack at {slack.slack_api_url} ({reason}); check the URL, the network and any "
        "proxy (HTTPS_PROXY)",
    )


async def _reachable(call: Callable[[], Awaitable[Any]], slack: SlackSettings) -> Any:
    """Run a Web API call, retrying network failures (not Slack's answers) for about 15 s."""
    for attempt, delay in enumerate((*CONNECT_RETRY_DELAYS, None)):
        try:
            return await call()
        except SlackApiError:
            raise
        except Exception as exc:  # network errors have many types; the message is what helps
            if delay is None:
                raise unreachable_error(slack, exc) from None
            logger.warning("Slack unreachable (%s); retry %d in %.0fs", exc, attempt + 1, delay)
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


async def verify_tokens(slack: SlackSettings) -> dict[str, Any]:
    """Ask Slack whether both tokens work (auth.test; apps.connections.open); returns auth.test's answer."""
    bot = AsyncWebClient(token=slack.slack_bot_token, base_url=slack.slack_api_url, timeout=15)
    try:
        auth = await _reachable(bot.auth_test, slack)
    except SlackApiError as exc:
        raise ConfigError("SLACK_BOT_TOKEN", f"Slack rejected it ({exc.response.get('error')})") from None
    app = AsyncWebClient(token=slack.slack_app_token, base_url=slack.slack_api_url, timeout=15)
    try:
        await _reachable(lambda: app.apps_connections_open(app_token=slack.slack_app_token), slack)
    except SlackApiError as exc:
        raise ConfigError(
            "SLACK_APP_TOKEN", f"Slack rejected it ({exc.response.get('error')}); it needs connections:write"
        ) from None
    return dict(auth.data) if isinstance(auth.data, dict) else {}
