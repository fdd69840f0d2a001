"""Drive the real Bolt app (Socket Mode) against the fake Slack, with the agents on the fake cluster.

Tests wait for facts (`wait_until`), never for a fixed time; `HeldModel` keeps an answer in flight until the
test lets it go, so "while an answer is running" is a fact too.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_sdk.web.async_client import AsyncWebClient

from agents.compose import Core
from agents.coordinator import Assistant
from agents.settings import load_settings
from slackbot.app import SlackBot, build_bot, slack_core
from slackbot.config import SlackSettings
from tests.fakes.scripted_model import ScriptedModel, ScriptedModels
from tests.fakes.slack_api import APP_TOKEN, BOT_TOKEN, BOT_USER, FakeSlack, Message

# The Slack methods a reply uses: each call of one must have spent a token of the bot's one budget.
REPLY_METHODS = (
    "chat.startStream",
    "chat.appendStream",
    "chat.stopStream",
    "chat.update",
    "chat.postMessage",
    "chat.delete",
    "chat.postEphemeral",
    "assistant.threads.setStatus",
    "assistant.threads.setTitle",
    "assistant.threads.setSuggestedPrompts",
)


async def wait_until(condition: Callable[[], object], what: str, within: float = 60) -> None:
    """Poll until `condition()` holds; `within` is only a generous bound for a bot that is stuck."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not within {within}s: {what}")
        await asyncio.sleep(0.02)


class HeldModel(ScriptedModel):
    """A scripted model that answers only after `release()`: its answer is in flight until then."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.asked = threading.Event()  # a request is being held
        self.released = threading.Event()

    def release(self) -> None:
        self.released.set()

    async def stream(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        self.asked.set()
        while not self.released.is_set():
            await asyncio.sleep(0.01)
        async for event in super().stream(*args, **kwargs):
            yield event


@dataclass
class Harness:
    slack: FakeSlack
    bot: SlackBot
    assistant: Assistant
    models: ScriptedModels
    core: Core

    async def final_reply(
        self,
        channel: str,
        thread_ts: str,
        within: float = 30,
        count: int = 1,
    ) -> list[Message]:
        """Wait until `count` bot replies in the thread are complete (not streaming, not placeholders)."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            replies = [m for m in self.slack.thread(channel, thread_ts) if m.user == BOT_USER]
            done = [m for m in replies if not m.streaming and "Working on it" not in m.final_text]
            if len(done) >= count and not self.bot.conversations.tasks:
                return replies
            await asyncio.sleep(0.05)
        raise TimeoutError(
            f"no final reply in {channel}/{thread_ts}: {self.slack.thread(channel, thread_ts)}"
        )

    def bot_messages(self, channel: str, thread_ts: str) -> list[Message]:
        return [m for m in self.slack.thread(channel, thread_ts) if m.user == BOT_USER]

    def unbudgeted_calls(self) -> dict[str, tuple[int, float]]:
        """Reply methods whose calls (as Slack saw them) differ from the tokens the one budget granted."""
        calls, granted = self.slack.answered_calls(), self.bot.budget.granted
        return {m: (calls[m], granted[m]) for m in REPLY_METHODS if calls[m] != granted[m]}


@asynccontextmanager
async def running_bot(
    models: ScriptedModels,
    tmp_path,
    *,
    rate_limits: bool = False,
    slack_streaming: str = "native",
    configure: Callable[[FakeSlack], None] | None = None,
    slack: FakeSlack | None = None,
    burst: int | None = None,
) -> AsyncIterator[Harness]:
    """A bot on a fake Slack; pass `slack` to restart a bot on the Slack an earlier one used (kept running).
    `burst` caps the fake's burst per method (with `rate_limits`)."""
    own = slack is None
    slack = slack or FakeSlack(rate_limits=rate_limits, burst=burst).start()
    if configure:
        configure(slack)
    settings = load_settings()
    dedupe_path = tmp_path / f"events-{uuid.uuid4().hex[:8]}.sqlite3"  # a fresh fake Slack reuses ts values
    core = slack_core(settings, claims_path=dedupe_path, models=models)
    assistant = core.assistant
    slack_settings = SlackSettings(
        slack_bot_token=BOT_TOKEN,
        slack_app_token=APP_TOKEN,
        slack_api_url=slack.api_url,
        slack_streaming=slack_streaming,
        event_dedupe_path=dedupe_path,
    )
    bot = build_bot(settings, slack_settings, core, bot_user_id=BOT_USER)
    handler = AsyncSocketModeHandler(
        bot.app, APP_TOKEN, web_client=AsyncWebClient(token=APP_TOKEN, base_url=slack.api_url)
    )
    await bot.approvals.recover()  # as `sre-bot run` does at start, before clicks can arrive
    await handler.connect_async()
    assert await asyncio.to_thread(slack.wait_connected, 10)
    try:
        yield Harness(slack, bot, assistant, models, core)
    finally:
        await bot.conversations.drain(5)
        await handler.close_async()
        await asyncio.to_thread(assistant.close)
        if own:
            slack.stop()
