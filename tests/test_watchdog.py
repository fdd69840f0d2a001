"""`sre-bot run` restarts an MCP server that died on its own, before any question needs it."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from agents.compose import Core
from agents.coordinator import Assistant
from agents.settings import load_settings
from slackbot import app
from slackbot.config import SlackSettings
from tests.fakes.slack_api import APP_TOKEN, BOT_TOKEN, FakeSlack
from tests.slack_harness import wait_until


async def test_a_killed_mcp_server_is_restarted_without_a_question(
    agent_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The watchdog as `serve` wires it (a short interval injected): no question asked, yet a new server."""
    monkeypatch.setenv("MCP_SERVERS", "eks")
    started: list[Assistant] = []

    def keep(*args: Any, **kwargs: Any) -> Core:
        core = original(*args, **kwargs)
        started.append(core.assistant)
        return core

    original = app.slack_core
    monkeypatch.setattr(app, "slack_core", keep)
    with FakeSlack() as slack:
        slack_settings = SlackSettings(
            slack_bot_token=BOT_TOKEN, slack_app_token=APP_TOKEN, slack_api_url=slack.api_url, health_port=0
        )
        stop = asyncio.Event()
        serving = asyncio.create_task(app.serve(load_settings(), slack_settings, stop, watch_seconds=0.1))
        try:
            await wait_until(lambda: slack.connected, "the bot connected")
            [assistant] = started
            server = assistant.servers["eks"]
            pid = server.pid
            assert pid is not None and server.alive()
            os.kill(pid, signal.SIGKILL)
            await wait_until(lambda: server.alive() and server.pid != pid, "the eks server restarted")
            assert server.restarts == 1
            assert slack.calls_of("chat.startStream") == [] and slack.calls_of("chat.postMessage") == []
        finally:
            stop.set()
            assert await asyncio.wait_for(serving, 60) == 0
