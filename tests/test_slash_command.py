"""/k8s: only `help` and `status` are subcommands; any other text, one word included, is a question."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from tests.fakes.brains import default_brains
from tests.fakes.scripted_model import ScriptedModels
from tests.fakes.slack_api import BOT_USER
from tests.slack_harness import Harness, running_bot


async def root_for(h: Harness, text: str, within: float = 30) -> str:
    """The ts of the thread root the bot posted for a /k8s question."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for m in h.slack.messages.values():
            if m.thread_ts is None and m.user == BOT_USER and m.text.endswith(f"asked: {text}"):
                return m.ts
        await asyncio.sleep(0.05)
    raise TimeoutError(f"no thread for {text!r}: {list(h.slack.messages.values())}")


@pytest.mark.parametrize("word", ["crashy-7f9c", "web", "logs", "frobnicate"])
async def test_one_word_is_a_question(agent_env: Path, tmp_path: Path, word: str) -> None:
    models = ScriptedModels(default_brains())
    async with running_bot(models, tmp_path) as h:
        ack = await asyncio.to_thread(h.slack.wait_ack, h.slack.send_slash_command(word, user_id="U7"))
        replies = await h.final_reply("C1", await root_for(h, word))
    assert "text" not in (ack["ack"] or {})  # no "unknown subcommand" note: it went to the agents
    assert [r.user_text for r in models.models["coordinator"].requests][:1] == [word]
    assert replies and replies[-1].final_text
