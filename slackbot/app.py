"""`sre-bot run`: the Slack app over Socket Mode, wired to the agents.

Order of start-up: settings → tokens checked with Slack (auth.test) → MCP servers → socket. A bad token
stops here with one line and exit 2. SIGTERM stops taking questions, lets in-flight answers finish for
SHUTDOWN_GRACE_SECONDS, ends the rest with an "interrupted" note, then closes the socket and servers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_sdk.web.async_client import AsyncWebClient

from agents.capabilities import not_offered
from agents.capabilities.eks import EKS
from agents.charts.render import prepare as prepare_charts
from agents.compose import Core, FrontEnd, build_core
from agents.coordinator import Assistant, default_cluster
from agents.fleet import ReachProbe
from agents.mcp.servers import McpServer, ServerUnavailable
from agents.redact import remember_secrets
from agents.settings import ConfigError, Settings
from slackbot.alerts.service import AlertService, build_alerts, start_alerts
from slackbot.alerts.settings import AlertSettings, load_alert_settings
from slackbot.approvals.approvers import Approvers
from slackbot.approvals.desk import ApprovalDesk
from slackbot.approvals.desk import register as register_approvals
from slackbot.client import web_client
from slackbot.cluster_commands import ClusterCommands
from slackbot.clusters import FleetView
from slackbot.config import (
    NO_APPROVERS_TEXT,
    READ_ONLY_TEXT,
    ApproverSettings,
    SlackSettings,
    load_approver_settings,
    load_slack_settings,
    verify_tokens,
)
from slackbot.conversations import Conversations
from slackbot.fleet import SlackClusterConfig, channel_cluster
from slackbot.handlers import Handlers, ModeInfo
from slackbot.health import health_app, start_health_server
from slackbot.outbound import use_safe_client
from slackbot.rate_budget import RateBudget
from slackbot.recovery import Recovery

logger = logging.getLogger(__name__)


class _NoTokenSkippedWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


_NO_TOKEN_SKIPPED_WARNING = _NoTokenSkippedWarning()  # one instance: adding it again is a no-op


@dataclass
class SlackBot:
    """Everything `run` starts, so tests and the benchmark can drive the same wiring."""

    app: AsyncApp
    client: AsyncWebClient
    conversations: Conversations
    handlers: Handlers
    budget: RateBudget
    approvals: ApprovalDesk
    recovery: Recovery | None = None  # ends the replies of a replica that died (with recorded replies)


def slack_front(approvers: ApproverSettings, claims_path: Path | None = None) -> FrontEnd:
    """Slack as a front end: approvals where approvers are set, refusals in Slack's words, and the
    claims that answer each redelivered event once."""
    return FrontEnd(
        approvals=approvers.approvals_configured,
        read_only_text=READ_ONLY_TEXT,
        no_approvers_text=NO_APPROVERS_TEXT,
        claims_path=claims_path,
        cluster_model=SlackClusterConfig,
    )


def slack_core(
    settings: Settings,
    approvers: ApproverSettings | None = None,
    *,
    claims_path: Path | None = None,
    **kwargs: Any,
) -> Core:
    """The agents as Slack runs them, from the one composition root (approvers read from the
    environment unless given; `kwargs` are the root's fakes for tests)."""
    approvers = approvers if approvers is not None else load_approver_settings()
    return build_core(settings, slack_front(approvers, claims_path), **kwargs)


def cluster_commands(
    settings: Settings, slack: SlackSettings, core: Core, conversations: Conversations
) -> ClusterCommands:
    """/k8s clusters and /k8s use: the fleet as Slack shows it, and a probe that never starts a server."""
    view = FleetView(
        core.assistant.fleet,
        from_file=core.assistant.bind_clusters,
        allow_write=settings.eks_mcp_allow_write,
        approvers=slack.approvals_configured,
    )
    return ClusterCommands(conversations, view, ReachProbe(cluster_server(core.assistant)))


def build_bot(
    settings: Settings,
    slack: SlackSettings,
    core: Core,
    *,
    bot_user_id: str,
    budget: RateBudget | None = None,
) -> SlackBot:
    """The Bolt app and everything its listeners use, around the agents' `core`."""
    claims = core.stores.claims
    if claims is None:  # the stores are the factory's to make (slack_core with EVENT_DEDUPE_PATH)
        raise ValueError("the Slack bot needs a core built with claims: slack_core(..., claims_path=...)")
    budget = budget or RateBudget(share=slack.replica_count)
    client = web_client(slack, budget)
    # Bolt also reads SLACK_BOT_TOKEN from the environment and then warns at every start that the client
    # we pass wins over it; the client carries that same token, so the warning only misleads.
    logging.getLogger(f"slack_bolt.{AsyncApp.__name__}").addFilter(_NO_TOKEN_SKIPPED_WARNING)
    app = AsyncApp(client=client, process_before_response=False)
    use_safe_client(app, client)  # first: listeners and the assistant middleware get this client
    fleet = core.assistant.fleet
    conversations = Conversations(
        core.runner,
        client,
        budget,
        native=slack.slack_streaming == "native",
        place_cluster=lambda channel: channel_cluster(fleet, channel) if fleet is not None else None,
        open_replies=core.stores.open_replies,
    )
    mode = ModeInfo(
        cluster=default_cluster(settings),
        writes="writes with approval" if settings.eks_mcp_allow_write else "read-only",
        model=f"{settings.model_provider}:{settings.resolved_model_id}",
        capabilities=tuple(c.title for c in core.assistant.capabilities),
        not_set_up=tuple(
            f"{c.title}: {why}" for c, why in not_offered(settings, core.assistant.context.fleet)
        ),
    )
    handlers = Handlers(
        conversations,
        claims,
        mode,
        bot_user_id=bot_user_id,
        max_question_chars=slack.max_question_chars,
        clusters=cluster_commands(settings, slack, core, conversations),
    )
    handlers.register(app)
    desk = ApprovalDesk(
        settings,
        core.stores.approvals,
        client,
        budget,
        conversations,
        core.assistant.audit,
        Approvers(slack, client, budget, fleet),  # a cluster's own approvers decide its changes
    )
    conversations.when_paused(desk.post_cards)  # an answer stopped at approvals: the desk posts the cards
    register_approvals(app, desk)

    @app.error
    async def on_error(error: Exception, body: dict[str, Any]) -> None:
        logger.error("unhandled error in a listener: %s: %s", type(error).__name__, error, exc_info=error)

    replies = core.stores.open_replies
    recovery = (
        Recovery(replies, core.stores.leases, client, budget, core.runner.owner)
        if replies is not None
        else None
    )
    return SlackBot(app, client, conversations, handlers, budget, desk, recovery)


def cluster_server(assistant: Assistant) -> Callable[[str], McpServer | None]:
    """The EKS server process that serves a fleet cluster (see `Assistant.cluster_server`)."""
    return lambda cluster: assistant.cluster_server(EKS, cluster)


WATCH_SECONDS = 10.0  # how often a dead MCP server is looked for


async def serve(
    settings: Settings,
    slack: SlackSettings,
    stop: asyncio.Event | None = None,
    *,
    watch_seconds: float = WATCH_SECONDS,
    alerts: AlertSettings | None = None,
) -> int:
    """Run the bot until `stop` (SIGTERM, Ctrl-C): tokens, servers, health, socket, alerts, then a clean
    drain."""
    auth = await verify_tokens(slack)
    logger.info("Slack accepted both tokens: bot %s in %s", auth.get("user"), auth.get("team"))
    core = slack_core(settings, slack, claims_path=slack.event_dedupe_path)
    stop = stop or asyncio.Event()
    _stop_on_signals(stop)
    health = None
    handler: AsyncSocketModeHandler | None = None
    alert_service: AlertService | None = None
    try:
        await _start_servers(core)
        bot = build_bot(settings, slack, core, bot_user_id=str(auth.get("user_id", "")))
        handler = AsyncSocketModeHandler(
            bot.app,
            slack.slack_app_token,
            web_client=AsyncWebClient(token=slack.slack_app_token, base_url=slack.slack_api_url),
        )
        health = await _start_health(slack, handler, core, bot)
        await bot.approvals.recover()  # decisions a previous process took but did not finish (before clicks)
        if not await _connect(handler, stop):
            logger.info("stopped before the Slack socket connected")
            return 0
        if alerts is not None and alerts.enabled:  # stored alerts are worked once Slack is reachable
            service = build_alerts(
                alerts,
                core,
                client=bot.client,
                budget=bot.budget,
                conversations=bot.conversations,
                team=auth.get("team_id"),
            )
            alert_service = await start_alerts(service, alerts)
        await _serve_until(stop, bot, core, slack, watch_seconds, handler)
    finally:
        if alert_service is not None:
            await alert_service.stop()
        if handler is not None:
            with contextlib.suppress(Exception):
                await handler.close_async()
        if health is not None:
            await health.cleanup()
        await asyncio.to_thread(core.close)
    return 0


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)


async def _start_servers(core: Core) -> None:
    """Start the MCP servers; a capability whose server cannot start is degraded, not fatal."""
    if any(c.chart is not None for c in core.assistant.capabilities):  # matplotlib loads meanwhile
        threading.Thread(target=_prepare_charts, name="charts-warmup", daemon=True).start()
    outcome = await asyncio.to_thread(core.start)
    for _name, error in outcome.items():
        if error:
            logger.warning("capability degraded: %s", error)


def _prepare_charts() -> None:
    try:
        prepare_charts()
    except Exception:  # the first chart will try again, and say so in its thread if it fails
        logger.warning("charts could not be prepared", exc_info=True)


async def _start_health(
    slack: SlackSettings, handler: AsyncSocketModeHandler, core: Core, bot: SlackBot
) -> web.AppRunner | None:
    """/healthz, /readyz and /metrics on HEALTH_PORT (0: none); a taken port is a setting to fix."""
    if not slack.health_port:
        return None
    app = health_app(handler.client.is_connected, core.assistant.servers, lambda: bot.conversations.closing)
    try:
        return await start_health_server(app, slack.health_port)
    except OSError as exc:
        raise ConfigError(
            "HEALTH_PORT",
            f"cannot listen on port {slack.health_port} ({exc.strerror or exc}); pick a free port, "
            "or 0 to turn the health server off",
        ) from None


async def _connect(handler: AsyncSocketModeHandler, stop: asyncio.Event) -> bool:
    """Open the socket; False when `stop` came first (SIGTERM must work while Slack is unreachable)."""
    connecting = asyncio.create_task(handler.connect_async())
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({connecting, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if not connecting.done():
        connecting.cancel()
        return False
    stopping.cancel()
    connecting.result()
    return True


async def _serve_until(
    stop: asyncio.Event,
    bot: SlackBot,
    core: Core,
    slack: SlackSettings,
    watch_seconds: float,
    handler: AsyncSocketModeHandler,
) -> None:
    """Answer until `stop`, sweeping expired approvals and restarting dead servers; then drain.

    With other replicas running, the socket closes first: Slack then sends new questions and clicks to
    them while this one finishes its answers (over the Web API, which needs no socket). Alone, the bot
    keeps the socket and tells whoever asks meanwhile to come back (`Draining`).
    """
    tasks = [
        asyncio.create_task(bot.approvals.sweep()),
        asyncio.create_task(watch_servers(core.assistant, watch_seconds)),
    ]
    if bot.recovery is not None:  # this replica's heartbeat; the replies of one that died are ended
        tasks.append(asyncio.create_task(bot.recovery.run()))
    logger.info("connected to Slack; sre-bot is running (Socket Mode); Ctrl-C or SIGTERM stops it")
    await stop.wait()
    for task in tasks:
        task.cancel()
    if slack.replica_count > 1:
        logger.info("stopping: leaving new questions to the other replicas")
        with contextlib.suppress(Exception):
            await handler.close_async()
    logger.info("stopping: finishing %d answers in flight", len(bot.conversations.tasks))
    await bot.conversations.drain(slack.shutdown_grace_seconds)


async def watch_servers(assistant: Assistant, interval: float = WATCH_SECONDS) -> None:
    """Restart an MCP server that died, without waiting for the next question to notice."""
    while True:
        await asyncio.sleep(interval)
        for server in assistant.servers.to_restart():
            with contextlib.suppress(ServerUnavailable):
                await asyncio.to_thread(server.ensure_started)


def run(settings: Settings) -> int:
    slack = load_slack_settings()
    alerts = load_alert_settings()
    remember_secrets([slack.slack_bot_token, slack.slack_app_token, alerts.token])
    return asyncio.run(serve(settings, slack, alerts=alerts))
