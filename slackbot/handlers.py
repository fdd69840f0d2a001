"""Bolt listeners: mentions, direct messages and /k8s become Questions for `Conversations`.

What a request must pass first (not noise, not a redelivery, not while restarting, not empty or too long)
is Bolt middleware (slackbot/middleware.py), registered here once for all of them, so a listener only
turns what reaches it into a Question. Listeners return at once (Bolt acks events itself; commands are
acked first thing) and leave the answer to `Conversations`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncAssistant
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_sdk.errors import SlackApiError

from agents.state.claims import EventDedupe
from slackbot.cluster_commands import ClusterCommands
from slackbot.clusters import FleetView, use_request
from slackbot.conversations import Conversations
from slackbot.middleware import (
    AnswerOnce,
    Draining,
    EmptyQuestion,
    SkipNoise,
    TooLong,
    Usage,
    clean_text,
    ephemeral,
)
from slackbot.safe_text import escape_mrkdwn, inline_code, mention, unescape_slack
from slackbot.threads import cannot_post, open_thread, question

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModeInfo:
    """What /k8s help shows about the current set-up."""

    cluster: str
    writes: str
    model: str
    capabilities: tuple[str, ...] = ()  # what it answers about ("Kubernetes/EKS", …)
    not_set_up: tuple[str, ...] = ()  # what it could answer about once set up, each with how


def usage(mode: ModeInfo, clusters: FleetView | None = None, channel: str | None = None) -> str:
    """/k8s help in `channel`: with a fleet file, the cluster a question there is about by default."""
    offered = f"*Answers about*: {', '.join(mode.capabilities)}\n" if mode.capabilities else ""
    missing = "".join(f"*Not set up*: {line}\n" for line in mode.not_set_up)
    text = (
        "*sre-bot* answers questions about your Kubernetes clusters and AWS costs.\n"
        "*Ask* by mentioning me (`@sre-bot why is crashy failing?`), in a direct message, or with "
        "`/k8s <question>`; follow-ups in the same thread keep the context.\n"
        "*Examples*\n"
        "• `/k8s list the pods in default`\n"
        "• `/k8s why is crashy in CrashLoopBackOff?`\n"
        "• `/k8s web` (one word: what is going on with it)\n"
        "• `/k8s what did we spend on EC2 last month, by service?`\n"
        "• `/k8s clusters` (the clusters I know, and whether they answer)\n"
    )
    here = clusters.default_for(channel) if clusters is not None and clusters.from_file else None
    if clusters is None or clusters.fleet is None or here is None:
        return (
            text
            + f"{offered}{missing}*Mode*: cluster `{mode.cluster}` · {mode.writes} · model `{mode.model}`"
        )
    name, bound = here
    names = ", ".join(inline_code(n) for n in clusters.fleet.clusters)
    why = "this channel's default" if bound else "the default"
    return text + (
        "• `/k8s use <cluster>` (a new thread about one cluster; `@sre-bot use <cluster>` in a thread)\n"
        f"{offered}{missing}"
        f"*Mode*: cluster {inline_code(name)} ({why}) · {clusters.writes(name)} · model `{mode.model}`\n"
        f"*Clusters*: {names}; name one in a question (`in prod`, `--cluster prod`) to ask about it."
    )


SUGGESTED_PROMPTS = [
    {"title": "Failing pods", "message": "Which pods are failing in default, and why?"},
    {"title": "Cluster health", "message": "Give me a health summary of the cluster."},
    {"title": "Last month's spend", "message": "What did we spend last month, by service?"},
]


class Handlers:
    """Registers the listeners on a Bolt app."""

    def __init__(
        self,
        conversations: Conversations,
        dedupe: EventDedupe,
        mode: ModeInfo,
        *,
        bot_user_id: str,
        max_question_chars: int,
        clusters: ClusterCommands | None = None,
    ) -> None:
        self.conversations = conversations
        self.dedupe = dedupe
        self.mode = mode
        self.bot_user_id = bot_user_id
        self.max_chars = max_question_chars
        self.clusters = clusters  # /k8s clusters, /k8s use and `use <cluster>` (None: questions only)

    def usage(self, body: dict[str, Any]) -> str:
        """/k8s help where it was asked (the channel's default cluster)."""
        view = self.clusters.view if self.clusters is not None else None
        return usage(self.mode, view, body.get("channel_id"))

    def register(self, app: AsyncApp) -> None:
        budget = self.conversations.budget
        # Is it a question, and a new one? Global, ahead of the assistant middleware: once for every
        # listener, assistant threads included.
        app.use(SkipNoise(self.bot_user_id))
        app.use(AnswerOnce(self.dedupe))
        # Does the bot take it now? Each listener's own middleware, in the order its asker is told why not.
        draining, empty, too_long = (
            Draining(self.conversations),
            EmptyQuestion(budget),
            TooLong(budget, self.max_chars),
        )

        def checks() -> list[AsyncMiddleware]:  # a list each: AsyncAssistant inserts into the one it gets
            return [draining, empty, too_long]

        # Slack's AI-app surface (assistant threads), where the workspace enables it: suggested prompts,
        # "is thinking…" status and a thread title. Its messages then take the same path as DMs.
        assistant = AsyncAssistant()
        assistant.thread_started(self.on_assistant_thread_started)
        # slack-bolt 1.30 annotates this `middleware` as one middleware, but takes (and needs) a list
        assistant.user_message(self.on_assistant_message, middleware=checks())  # type: ignore[arg-type]
        app.assistant(assistant)
        app.event("app_mention", middleware=checks())(self.on_question)
        app.event("message", middleware=checks())(self.on_question)  # DMs only: SkipNoise drops the rest
        if self.clusters is not None:  # first: the first listener that matches a command takes it
            self.clusters.register(app, draining)
        app.command("/k8s", middleware=[Usage(budget, self.usage), too_long, draining])(self.on_command)

    async def on_assistant_thread_started(
        self, body: dict[str, Any], say: Any, set_suggested_prompts: Any
    ) -> None:
        budget = self.conversations.budget
        channel = (body.get("event", {}).get("assistant_thread") or {}).get("channel_id")
        await budget.take("chat.postMessage", channel)
        await say("Hi! Ask me about your Kubernetes cluster or your AWS costs.")
        # the prompts are a nicety: only from the budget's surplus
        if budget.try_take("assistant.threads.setSuggestedPrompts"):
            with contextlib.suppress(SlackApiError):
                await set_suggested_prompts(prompts=SUGGESTED_PROMPTS, title="Try one of these:")

    async def on_assistant_message(
        self, body: dict[str, Any], payload: dict[str, Any], set_status: Any, set_title: Any
    ) -> None:
        budget = self.conversations.budget
        # status and title are niceties: only from the budget's surplus, never at an answer's expense,
        # and only for a question the checks let through (a refused one gets its note and nothing else)
        with contextlib.suppress(SlackApiError):
            if budget.try_take("assistant.threads.setStatus"):
                await set_status("is thinking…")
            if self.dedupe.claim(
                f"title:{payload.get('channel')}:{payload.get('thread_ts')}"
            ) and budget.try_take("assistant.threads.setTitle"):
                await set_title(clean_text(payload.get("text", ""))[:80] or "sre-bot")
        await self.on_question(body, payload)

    async def on_question(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        """A mention or a DM that passed every check: its answer goes in the message's thread (one that
        is exactly `use <cluster>` sets the thread's cluster instead)."""
        text = clean_text(event.get("text", ""))
        team = body.get("team_id") or event.get("team")
        cluster = use_request(text) if self.clusters is not None else None
        if self.clusters is not None and cluster is not None:
            await self.clusters.use_here(event, team, cluster)
            return
        self.conversations.submit(
            question(
                text,
                channel=event["channel"],
                thread_ts=event.get("thread_ts") or event["ts"],
                user=event["user"],
                team=team,
            )
        )

    async def on_command(
        self,
        ack: Callable[..., Awaitable[Any]],
        command: dict[str, Any],
        client: Any,
        respond: Callable[..., Awaitable[Any]],
    ) -> None:
        """/k8s with a question that passed every check (help and bad input were answered before)."""
        await ack()
        text = (command.get("text") or "").strip()
        channel, user = command["channel_id"], command["user_id"]
        try:
            root_ts = await open_thread(client, self.conversations.budget, channel, echo(user, text))
        except SlackApiError as exc:
            await ephemeral(respond, cannot_post(exc))
            return
        self.conversations.submit(
            question(text, channel=channel, thread_ts=root_ts, user=user, team=command.get("team_id"))
        )


def echo(user: str, question: str) -> str:
    """The thread's root for a /k8s question: who asked what, the question shown as typed (a
    `<!channel>` in it is shown, not sent to everyone)."""
    return f"{mention(user)} asked: {escape_mrkdwn(unescape_slack(question))}"
