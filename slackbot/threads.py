"""Threads the bot opens or answers in: one question, one thread, one conversation id.

`open_thread` posts the root of a thread for a question that was not asked in one (`/k8s` today; an
alert's investigation next), spending the shared budget like every other post; `question` names the
conversation of a thread the same way wherever the question came from, so its memory is found again.
"""

from __future__ import annotations

from typing import Any

from slackbot.conversations import Question
from slackbot.rate_budget import RateBudget
from slackbot.replies import ReplyTarget


async def open_thread(client: Any, budget: RateBudget, channel: str, root_text: str) -> str:
    """Post `root_text` as a thread's root in `channel`; returns its ts (SlackApiError if Slack refuses)."""
    await budget.take("chat.postMessage", channel)
    root = await client.chat_postMessage(channel=channel, text=root_text)
    return str(root["ts"])


def question(text: str, *, channel: str, thread_ts: str, user: str, team: str | None) -> Question:
    """The question `text` from `user`, answered in the thread `thread_ts` of `channel`."""
    return Question(
        text=text,
        target=ReplyTarget(channel, thread_ts, user, team),
        conversation_id=f"{team}:{channel}:{thread_ts}",
        user_id=user,
    )
