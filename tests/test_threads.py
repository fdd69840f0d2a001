"""A thread's question is named the same wherever it came from, and opening a thread spends the budget."""

from __future__ import annotations

from typing import Any

from slackbot.rate_budget import RateBudget
from slackbot.replies import ReplyTarget
from slackbot.threads import open_thread, question
from tests.fakes.slack_api import FakeClock


def test_a_question_is_answered_in_its_thread_and_remembered_by_it() -> None:
    q = question("why?", channel="C1", thread_ts="1.5", user="U1", team="T1")
    assert q.text == "why?" and q.user_id == "U1"
    assert q.target == ReplyTarget("C1", "1.5", "U1", "T1")
    assert q.conversation_id == "T1:C1:1.5"  # a mention, a DM or /k8s in that thread: the same memory


async def test_opening_a_thread_posts_its_root_and_spends_the_shared_budget() -> None:
    posted: list[dict[str, Any]] = []

    class Client:
        async def chat_postMessage(self, **kwargs: Any) -> dict[str, Any]:
            posted.append(kwargs)
            return {"ok": True, "ts": "1700000000.000200"}

    budget = RateBudget(clock=FakeClock())
    ts = await open_thread(Client(), budget, "C1", "<@U1> asked: why?")
    assert ts == "1700000000.000200"
    assert posted == [{"channel": "C1", "text": "<@U1> asked: why?"}]
    assert budget.granted["chat.postMessage"] == 1
