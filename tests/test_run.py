"""`sre-bot run` as a process: token problems stop it with one line (exit 2); SIGTERM lets answers finish."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PROJECT_ROOT
from tests.fakes.brains import coordinator, default_brains
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.scripted_model import Brain, Reply, Turn
from tests.fakes.slack_api import APP_TOKEN, BOT_TOKEN, BOT_USER, FakeSlack
from tests.test_cli import sre_bot
from tests.test_health import free_port


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "SLACK_BOT_TOKEN: missing; it is the Bot User OAuth Token (xoxb-…)"),
        ({"SLACK_BOT_TOKEN": "xoxp-user-token"}, "SLACK_BOT_TOKEN: expected a bot token starting with xoxb-"),
        ({"SLACK_BOT_TOKEN": BOT_TOKEN}, "SLACK_APP_TOKEN: missing; it is an app-level token (xapp-…)"),
        (
            {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": "xoxb-wrong"},
            "SLACK_APP_TOKEN: expected an app-level",
        ),
        (
            {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN, "SLACK_STREAMING": "fast"},
            "SLACK_STREAMING: expected one of native, update (got 'fast')",
        ),
        (
            {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN, "MAX_QUESTION_CHARS": "lots"},
            "MAX_QUESTION_CHARS: expected a whole number (got 'lots')",
        ),
    ],
)
def test_bad_tokens_stop_before_anything_starts(
    agent_env: Path, tmp_path: Path, env: dict[str, str], expected: str
) -> None:
    proc = sre_bot("run", env={**os.environ, **env}, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1  # one line, no traceback
    assert proc.stderr.startswith(f"sre-bot: configuration error: {expected}")


def test_tokens_slack_rejects_are_named(agent_env: Path, tmp_path: Path) -> None:
    with FakeSlack() as slack:
        proc = sre_bot(
            "run",
            env={
                **os.environ,
                "SLACK_BOT_TOKEN": "xoxb-revoked",
                "SLACK_APP_TOKEN": APP_TOKEN,
                "SLACK_API_URL": slack.api_url,
            },
            cwd=tmp_path,
        )
        assert proc.returncode == 2
        assert (
            proc.stderr == "sre-bot: configuration error: SLACK_BOT_TOKEN: Slack rejected it (invalid_auth)\n"
        )
        proc = sre_bot(
            "run",
            env={
                **os.environ,
                "SLACK_BOT_TOKEN": BOT_TOKEN,
                "SLACK_APP_TOKEN": "xapp-revoked",
                "SLACK_API_URL": slack.api_url,
            },
            cwd=tmp_path,
        )
        assert proc.returncode == 2
        assert proc.stderr.startswith(
            "sre-bot: configuration error: SLACK_APP_TOKEN: Slack rejected it (invalid_auth)"
        )
        assert slack.calls_of("chat.postMessage") == []


def held_until(released: threading.Event) -> Brain:
    """The coordinator, holding its final answer (after the tool ran) until `released`: in flight for sure.

    It blocks the fake model's own thread only; 120 s bounds a test that failed before releasing it."""

    def brain(turn: Turn) -> Reply:
        if turn.tool_results:
            released.wait(120)
        return coordinator(turn)

    return brain


def poll(condition: Callable[[], object], what: str, within: float = 60) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, f"not within {within}s: {what}"
        time.sleep(0.05)


def readyz(port: int) -> tuple[int, dict[str, Any]]:
    """/readyz's status and body; (0, {}) when nothing answers (the process has gone)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)
    except urllib.error.URLError:
        return 0, {}


def test_sigterm_stops_readiness_and_finishes_the_answer_in_flight(agent_env: Path, tmp_path: Path) -> None:
    """The real SIGTERM path: /readyz turns 503 at once, the answer in flight still ends in full."""
    released = threading.Event()
    brains = {**default_brains(), "coordinator": held_until(released)}
    with FakeSlack() as slack, FakeOpenAI(brains, chunk_size=4) as model:
        port = free_port()
        env = {
            "HEALTH_PORT": str(port),
            **os.environ,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_APP_TOKEN": APP_TOKEN,
            "SLACK_API_URL": slack.api_url,
            "OPENAI_BASE_URL": model.base_url,
            "SHUTDOWN_GRACE_SECONDS": "120",
            "MODEL_MAX_WAIT_SECONDS": "300",  # the held answer is not given up on
            "PYTHONPATH": str(PROJECT_ROOT),
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "frontends.cli", "run"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            assert slack.wait_connected(60), "the bot did not connect"
            status, ready = readyz(port)
            assert status == 200 and ready["ready"] is True, ready
            event = slack.mention("list the pods in default")
            slack.wait_ack(slack.send_event(event))
            poll(lambda: slack.calls_of("chat.appendStream"), "the tool step streamed into the reply")
            metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
            assert "sre_bot_questions_total 1.0" in metrics
            proc.send_signal(signal.SIGTERM)
            poll(lambda: readyz(port)[0] == 503, "/readyz saying not ready after SIGTERM")
            status, ready = readyz(port)
            assert status == 503 and "draining" in ready["checks"].get("shutdown", ""), ready
            assert slack.calls_of("chat.stopStream") == []  # the answer was still in flight
            released.set()
            _, err = proc.communicate(timeout=60)
        finally:
            released.set()
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 0, err.decode()
        [reply] = [m for m in slack.thread("C1", event["ts"]) if m.user == BOT_USER]
        assert not reply.streaming
        for pod in ("web-6d4cf56db6-abcde", "crashy-7f9c", "pending-0"):
            assert pod in reply.final_text
        assert "Traceback" not in err.decode()


async def test_slack_unreachable_is_retried_then_named(monkeypatch: pytest.MonkeyPatch) -> None:
    from agents.settings import ConfigError
    from slackbot import config

    monkeypatch.setattr(config, "CONNECT_RETRY_DELAYS", (0.01, 0.01))
    port = free_port()  # nothing listens there
    slack = config.SlackSettings(
        slack_bot_token=BOT_TOKEN, slack_app_token=APP_TOKEN, slack_api_url=f"http://127.0.0.1:{port}/api/"
    )
    with pytest.raises(ConfigError) as err:
        await config.verify_tokens(slack)
    assert str(err.value).startswith(f"SLACK_API_URL: cannot reach Slack at http://127.0.0.1:{port}/api/")
    assert "\n" not in str(err.value)


def test_a_busy_health_port_is_named(agent_env: Path, tmp_path: Path) -> None:
    import socket

    with FakeSlack() as slack, socket.socket() as busy:
        busy.bind(("0.0.0.0", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = {
            **os.environ,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_APP_TOKEN": APP_TOKEN,
            "SLACK_API_URL": slack.api_url,
            "HEALTH_PORT": str(port),
        }
        proc = sre_bot("run", env=env, cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]  # after the start-up log lines, one line that says why
    assert last.startswith(f"sre-bot: configuration error: HEALTH_PORT: cannot listen on port {port}")


async def test_sigterm_while_the_socket_is_still_connecting_stops_the_bot(
    agent_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from agents.settings import load_settings
    from slackbot import app
    from slackbot.config import SlackSettings

    connecting = asyncio.Event()

    async def never_connects(self: object) -> None:
        connecting.set()
        await asyncio.Event().wait()  # Slack's socket endpoint unreachable: retrying forever

    monkeypatch.setattr(app.AsyncSocketModeHandler, "connect_async", never_connects)
    with FakeSlack() as slack:
        slack_settings = SlackSettings(
            slack_bot_token=BOT_TOKEN, slack_app_token=APP_TOKEN, slack_api_url=slack.api_url, health_port=0
        )
        stop = asyncio.Event()
        serving = asyncio.create_task(app.serve(load_settings(), slack_settings, stop))
        await asyncio.wait_for(connecting.wait(), 60)  # MCP servers started, now connecting
        assert not serving.done()
        stop.set()  # what SIGTERM does
        assert await asyncio.wait_for(serving, 30) == 0


@pytest.mark.parametrize("replicas", [1, 3])
async def test_a_stopping_replica_leaves_new_questions_to_the_others_and_finishes_its_answers(
    agent_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, replicas: int
) -> None:
    """SIGTERM with REPLICA_COUNT>1: the socket closes first (Slack sends new questions and clicks to
    the other replicas) and the answer in flight still ends in its thread. Alone, the socket stays open
    so a question asked meanwhile is told to come back."""
    import asyncio

    from agents.settings import load_settings
    from slackbot import app
    from slackbot.config import SlackSettings
    from slackbot.middleware import RESTARTING
    from tests.fakes.scripted_model import ScriptedModels
    from tests.slack_harness import HeldModel, wait_until

    models = ScriptedModels(default_brains())
    held = HeldModel(coordinator)
    models.models["coordinator"] = held
    original = app.slack_core
    monkeypatch.setattr(app, "slack_core", lambda *a, **k: original(*a, **k, models=models))
    with FakeSlack() as slack:
        slack_settings = SlackSettings(
            slack_bot_token=BOT_TOKEN,
            slack_app_token=APP_TOKEN,
            slack_api_url=slack.api_url,
            health_port=0,
            replica_count=replicas,
            event_dedupe_path=tmp_path / "events.sqlite3",
        )
        stop = asyncio.Event()
        serving = asyncio.create_task(app.serve(load_settings(), slack_settings, stop))
        try:
            await wait_until(lambda: slack.connected, "the bot connected")
            first = slack.mention("hello", channel="C1")
            await asyncio.to_thread(slack.send_event, first)
            await wait_until(held.asked.is_set, "the answer is in flight")
            stop.set()  # what SIGTERM does
            if replicas > 1:
                await wait_until(
                    lambda: not slack.connected, "the socket closed while the answer is in flight"
                )
            else:
                second = slack.mention("are you there?", channel="C2")
                await asyncio.to_thread(slack.send_event, second)
                await wait_until(
                    lambda: any(RESTARTING in m.final_text for m in slack.thread("C2", second["ts"])),
                    "the question asked while stopping is told to come back",
                )
                assert slack.connected
            assert not [m for m in slack.thread("C1", first["ts"]) if "Hello" in m.final_text]
            held.release()
            assert await asyncio.wait_for(serving, 60) == 0
        finally:
            held.release()
            stop.set()
        [reply] = [m for m in slack.thread("C1", first["ts"]) if m.user == BOT_USER]
        assert not reply.streaming and "Interrupted" not in reply.final_text and reply.final_text
