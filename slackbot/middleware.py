"""Bolt middleware: what a request must pass to become a question, written once for every listener.

Global (`app.use`, ahead of the assistant middleware, so assistant-thread messages pass it exactly once):
the request is a question at all. Not the bot's own message, another bot's, an edit or a join (subtypes),
nor a channel message (the bot gets those again as app_mention); and not one it has seen: Slack redelivers
an event it thinks was not acked (same event_id) and sends a DM that mentions the bot twice (app_mention
and message, same channel and ts). The claims live in a store replicas share: their keys must not change.

Per question listener (mention, DM, assistant thread, /k8s): whether the bot takes the question now. Not
while restarting, not empty, not too long; the asker is told why, in the thread for an event (in the
background: the event's ack never waits on Slack) and ephemerally through the ack for /k8s.

A middleware that stops a request acks it and returns that response without calling next(), as Bolt's own
IgnoringSelfEvents does: Bolt then logs no "Unhandled request" and answers 200 (a 404 would leave the
Socket Mode envelope unacked, and Slack would deliver it again).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError

from agents.state.claims import EventDedupe
from slackbot.conversations import Conversations
from slackbot.rate_budget import RateBudget
from slackbot.slack_errors import slack_error

logger = logging.getLogger(__name__)

Next = Callable[[], Awaitable[BoltResponse]]

MENTION_RE = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")
SUBCOMMANDS = ("help", "status")
RESTARTING = "I'm restarting and not taking new questions; ask again in a moment."
EMPTY_MENTION = (
    "Ask me something after the mention, e.g. `@sre-bot why is crashy failing?` or "
    "`@sre-bot what did we spend last month?` (`/k8s help` shows more)."
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


async def ephemeral(answer: Callable[..., Awaitable[Any]], text: str) -> Any:
    """A note only the asker sees, through `ack` or `respond`: these go back over the socket or the
    response_url, not through the Web API client, so they ask for no link previews themselves."""
    return await answer(response_type="ephemeral", text=text, unfurl_links=False, unfurl_media=False)


def is_question(event: dict[str, Any]) -> bool:
    """A mention, or a direct message (assistant threads are DMs too)."""
    kind = event.get("type")
    return kind == "app_mention" or (kind == "message" and event.get("channel_type") == "im")


def question_text(body: dict[str, Any]) -> str:
    """The question as asked: a /k8s command's text, or an event's text without the bot's mention."""
    if "command" in body:
        return str(body.get("text") or "").strip()
    return clean_text((body.get("event") or {}).get("text", ""))


class SkipNoise(AsyncMiddleware):
    """Message events that are no question for the bot end here, acked, before any listener sees them."""

    def __init__(self, bot_user_id: str) -> None:
        self.bot_user_id = bot_user_id

    def _noise(self, event: dict[str, Any]) -> bool:
        if event.get("type") not in ("message", "app_mention"):
            return False
        return (
            not is_question(event)  # channel messages reach the bot as app_mention events
            or bool(event.get("bot_id") or event.get("subtype"))
            or event.get("user") in (None, self.bot_user_id)
        )

    async def async_process(self, *, req: AsyncBoltRequest, resp: BoltResponse, next: Next) -> BoltResponse:
        if self._noise(req.body.get("event") or {}):
            return await req.context.ack()
        return await next()


def claim_keys(body: dict[str, Any]) -> list[str]:
    """What makes a delivery the first one: its event (a redelivery repeats the event_id) and, for a
    question, its message (channel and ts: the same message sent as a mention and as a DM)."""
    event = body.get("event") or {}
    question = is_question(event)
    keys = []
    if body.get("event_id") and (question or event.get("type") == "assistant_thread_started"):
        keys.append(f"event:{body['event_id']}")
    if question:
        keys.append(f"msg:{event.get('channel')}:{event.get('ts')}")
    return keys


class AnswerOnce(AsyncMiddleware):
    """One answer (or greeting) per message, whatever Slack delivers again; claims shared by replicas."""

    def __init__(self, dedupe: EventDedupe) -> None:
        self.dedupe = dedupe
        self._in_order = asyncio.Lock()  # first come, first served

    async def async_process(self, *, req: AsyncBoltRequest, resp: BoltResponse, next: Next) -> BoltResponse:
        keys = claim_keys(req.body)
        fresh: list[bool] = []
        if keys:
            # Off the event loop (a shared store is a network call: the streams and replies in flight go on
            # meanwhile), one event at a time in arrival order: a thread's follow-up must take its place in
            # the thread's queue after the question before it, as the events came.
            async with self._in_order:
                fresh = await asyncio.to_thread(lambda: [self.dedupe.claim(key) for key in keys])
        if not all(fresh):
            return await req.context.ack()
        return await next()


async def say_in_thread(client: Any, budget: RateBudget, event: dict[str, Any], text: str) -> None:
    """A short answer in the thread of the message (or the thread it started)."""
    try:
        await budget.take("chat.postMessage", event["channel"])
        await client.chat_postMessage(
            channel=event["channel"], thread_ts=event.get("thread_ts") or event["ts"], text=text
        )
    except SlackApiError as exc:
        logger.warning("could not answer in %s: %s", event.get("channel"), slack_error(exc))
    except Exception:  # in the background: nothing else would see it
        logger.exception("could not answer in %s", event.get("channel"))


class ShortAnswer(AsyncMiddleware):
    """Answers the asker itself, instead of the listener, when `problem` finds something to say."""

    def __init__(self, budget: RateBudget) -> None:
        self.budget = budget
        self._notes: set[asyncio.Task[None]] = set()  # notes being posted (a task nothing holds may vanish)

    def problem(self, body: dict[str, Any]) -> str | None:
        raise NotImplementedError

    async def async_process(self, *, req: AsyncBoltRequest, resp: BoltResponse, next: Next) -> BoltResponse:
        text = self.problem(req.body)
        if text is None:
            return await next()
        if "command" in req.body:
            response: BoltResponse = await ephemeral(req.context.ack, text)
            return response
        note = asyncio.create_task(say_in_thread(req.context.client, self.budget, req.body["event"], text))
        self._notes.add(note)
        note.add_done_callback(self._notes.discard)
        return await req.context.ack()


class Draining(ShortAnswer):
    """While draining: Slack will not deliver again what was acked, so say so instead of dropping it."""

    def __init__(self, conversations: Conversations) -> None:
        super().__init__(conversations.budget)
        self.conversations = conversations

    def problem(self, body: dict[str, Any]) -> str | None:
        return RESTARTING if self.conversations.closing else None


class EmptyQuestion(ShortAnswer):
    """A bare mention: show how to ask."""

    def problem(self, body: dict[str, Any]) -> str | None:
        return None if question_text(body) else EMPTY_MENTION


class TooLong(ShortAnswer):
    """Past the limit a question costs tokens and time for nothing: ask for the relevant part."""

    def __init__(self, budget: RateBudget, limit: int) -> None:
        super().__init__(budget)
        self.limit = limit

    def problem(self, body: dict[str, Any]) -> str | None:
        return too_long(question_text(body), self.limit)


class Usage(ShortAnswer):
    """`/k8s`, `/k8s help` or `/k8s status` alone: the usage where it was asked (`usage(body)`); any
    other text is a question."""

    def __init__(self, budget: RateBudget, usage: Callable[[dict[str, Any]], str]) -> None:
        super().__init__(budget)
        self.usage = usage

    def problem(self, body: dict[str, Any]) -> str | None:
        words = question_text(body).split()
        if not words or (len(words) == 1 and words[0].lower() in SUBCOMMANDS):
            return self.usage(body)
        return None
