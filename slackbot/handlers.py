"""Bolt listeners: mentions, direct messages and /k8s become Questions; bad input gets a short answer.

Listeners return at once (Bolt acks events itself; commands are acked first thing) and leave the answer
to `Conversations`. Redeliveries, edits, the bot's own messages and other bots are ignored.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncAssistant
from slack_sdk.errors import SlackApiError

from agents.state.claims import EventDedupe
from slackbot.conversations import Conversations
from slackbot.safe_text import escape_mrkdwn, mention, unescape_slack
from slackbot.slack_errors import slack_error
from slackbot.threads import open_thread, question

logger = logging.getLogger(__name__)

MENTION_RE = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")
SUBCOMMANDS = ("help", "status")


@dataclass(frozen=True)
class ModeInfo:
    """What /k8s help shows about the current set-up."""

    cluster: str
    writes: str
    model: str


def usage(mode: ModeInfo) -> str:
    return (
        "*sre-bot* answers questions about your Kubernetes clusters and AWS costs.\n"
        "*Ask* by mentioning me (`@sre-bot why is crashy failing?`), in a direct message, or with "
        "`/k8s <question>`; follow-ups in the same thread keep the context.\n"
        "*Examples*\n"
        "• `/k8s list the pods in default`\n"
        "• `/k8s why is crashy in CrashLoopBackOff?`\n"
        "• `/k8s web` (one word: what is going on with it)\n"
        "• `/k8s what did we spend on EC2 last month, by service?`\n"
        f"*Mode*: cluster `{mode.cluster}` · {mode.writes} · model `{mode.model}`"
    )


def clean_text(text: str) -> str:
    return MENTION_RE.sub("", text or "").strip()


def too_long(text: str, limit: int) -> str | None:
    if len(text) <= limit:
        return None
    return (
        f"Your message is {len(text):,} characters; I take at most {limit:,}. Paste only the relevant part "
        "(an error, a few log lines) and I'll look up the rest in the cluster."
    )


SUGGESTED_PROMPTS = [
    {"title": "Failing pods", "message": "Which pods are failing in default, and why?"},
    {"title": "Cluster health", "message": "Give me a health summary of the cluster."},
    {"title": "Last month's spend", "message": "What did we spend last month, by service?"},
]

RESTARTING = "I'm restarting and not taking new questions; ask again in a moment."
EMPTY_MENTION = (
    "Ask me something after the mention, e.g. `@sre-bot why is crashy failing?` or "
    "`@sre-bot what did we spend last month?` (`/k8s help` shows more)."
)


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
    ) -> None:
        self.conversations = conversations
        self.dedupe = dedupe
        self.mode = mode
        self.bot_user_id = bot_user_id
        self.max_chars = max_question_chars

    def register(self, app: AsyncApp) -> None:
        # Slack's AI-app surface (assistant threads), where the workspace enables it: suggested prompts,
        # "is thinking…" status and a thread title. Its messages then take the same path as DMs.
        assistant = AsyncAssistant()
        assistant.thread_started(self.on_assistant_thread_started)
        assistant.user_message(self.on_assistant_message)
        app.assistant(assistant)
        app.event("app_mention")(self.on_mention)
        app.event("message")(self.on_message)
        app.command("/k8s")(self.on_command)

    async def on_assistant_thread_started(
        self, body: dict[str, Any], say: Any, set_suggested_prompts: Any
    ) -> None:
        if body.get("event_id") and not self.dedupe.claim(f"event:{body['event_id']}"):
            return  # a redelivery: greet once
        budget = self.conversations.budget
        channel = (body.get("event", {}).get("assistant_thread") or {}).get("channel_id")
        await budget.take("chat.postMessage", channel)
        await say("Hi! Ask me about your Kubernetes cluster or your AWS costs.")
        # the prompts are a nicety: only from the budget's surplus
        if budget.try_take("assistant.threads.setSuggestedPrompts"):
            with contextlib.suppress(SlackApiError):
                await set_suggested_prompts(prompts=SUGGESTED_PROMPTS, title="Try one of these:")

    async def on_assistant_message(
        self, body: dict[str, Any], payload: dict[str, Any], client: Any, set_status: Any, set_title: Any
    ) -> None:
        if self._ignored(payload) or not self._first_time(body, payload):
            return
        budget = self.conversations.budget
        # status and title are niceties: only from the budget's surplus, never at an answer's expense
        with contextlib.suppress(SlackApiError):
            if budget.try_take("assistant.threads.setStatus"):
                await set_status("is thinking…")
            if self.dedupe.claim(
                f"title:{payload.get('channel')}:{payload.get('thread_ts')}"
            ) and budget.try_take("assistant.threads.setTitle"):
                await set_title(clean_text(payload.get("text", ""))[:80] or "sre-bot")
        await self._handle(body, payload, client, claimed=True)

    # events -------------------------------------------------------------------------------------

    def _first_time(self, body: dict[str, Any], event: dict[str, Any]) -> bool:
        """One answer per message, whatever Slack redelivers (event_id) or double-sends (mention + DM)."""
        keys = [f"msg:{event.get('channel')}:{event.get('ts')}"]
        if body.get("event_id"):
            keys.insert(0, f"event:{body['event_id']}")
        fresh = [self.dedupe.claim(k) for k in keys]
        return all(fresh)

    def _ignored(self, event: dict[str, Any]) -> bool:
        return bool(
            event.get("bot_id") or event.get("subtype") or event.get("user") in (None, self.bot_user_id)
        )

    async def _say(self, client: Any, event: dict[str, Any], text: str) -> None:
        try:
            await self.conversations.budget.take("chat.postMessage", event["channel"])
            await client.chat_postMessage(
                channel=event["channel"], thread_ts=event.get("thread_ts") or event["ts"], text=text
            )
        except SlackApiError as exc:
            logger.warning("could not answer in %s: %s", event.get("channel"), slack_error(exc))

    async def _handle(
        self, body: dict[str, Any], event: dict[str, Any], client: Any, claimed: bool = False
    ) -> None:
        if not claimed and (self._ignored(event) or not self._first_time(body, event)):
            return
        if self.conversations.closing:  # Slack will not redeliver what was acked: never drop it silently
            await self._say(client, event, RESTARTING)
            return
        text = clean_text(event.get("text", ""))
        if not text:
            await self._say(client, event, EMPTY_MENTION)
            return
        problem = too_long(text, self.max_chars)
        if problem:
            await self._say(client, event, problem)
            return
        self.conversations.submit(
            question(
                text,
                channel=event["channel"],
                thread_ts=event.get("thread_ts") or event["ts"],
                user=event["user"],
                team=body.get("team_id") or event.get("team"),
            )
        )

    async def on_mention(self, body: dict[str, Any], event: dict[str, Any], client: Any) -> None:
        await self._handle(body, event, client)

    async def on_message(self, body: dict[str, Any], event: dict[str, Any], client: Any) -> None:
        if event.get("channel_type") != "im":
            return  # channel messages reach the bot as app_mention events
        await self._handle(body, event, client)

    # /k8s ---------------------------------------------------------------------------------------

    async def on_command(
        self,
        ack: Callable[..., Awaitable[Any]],
        command: dict[str, Any],
        client: Any,
        respond: Callable[..., Awaitable[Any]],
    ) -> None:
        text = (command.get("text") or "").strip()
        words = text.split()
        # `help` / `status` alone show the usage; any other text is a question (`/k8s crashy`, `/k8s logs`,
        # "help me with crashy").
        if not words or (len(words) == 1 and words[0].lower() in SUBCOMMANDS):
            await ephemeral(ack, usage(self.mode))
            return
        problem = too_long(text, self.max_chars)
        if problem:
            await ephemeral(ack, problem)
            return
        if self.conversations.closing:
            await ephemeral(ack, RESTARTING)
            return
        await ack()
        channel, user = command["channel_id"], command["user_id"]
        try:
            root_ts = await open_thread(client, self.conversations.budget, channel, echo(user, text))
        except SlackApiError as exc:
            error = slack_error(exc)
            hint = (
                "invite me first: `/invite @sre-bot`"
                if error in ("not_in_channel", "channel_not_found")
                else (f"Slack said `{error}`")
            )
            await ephemeral(respond, f"I can't post in this channel: {hint}.")
            return
        self.conversations.submit(
            question(text, channel=channel, thread_ts=root_ts, user=user, team=command.get("team_id"))
        )


async def ephemeral(answer: Callable[..., Awaitable[Any]], text: str) -> None:
    """A note only the asker sees, through `ack` or `respond`: these go back over the socket or the
    response_url, not through the Web API client, so they ask for no link previews themselves."""
    await answer(response_type="ephemeral", text=text, unfurl_links=False, unfurl_media=False)


def echo(user: str, question: str) -> str:
    """The thread's root for a /k8s question: who asked what, the question shown as typed (a
    `<!channel>` in it is shown, not sent to everyone)."""
    return f"{mention(user)} asked: {escape_mrkdwn(unescape_slack(question))}"
