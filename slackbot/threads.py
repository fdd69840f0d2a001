"""Threads the bot opens or answers in: one question, one thread, one conversation id.

`open_thread` posts the root of a thread for a question that was not asked in one (`/k8s`, `/k8s use`;
an alert's investigation next), spending the shared budget like every other post (`cannot_post` says
why it could not); `conversation_id` and `question` name the conversation of a thread the same way
wherever the question came from, so its memory (and its cluster) is found again.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.errors import SlackApiError

from slackbot.conversations import Question
from slackbot.rate_budget import RateBudget
from slackbot.replies import ReplyTarget
from slackbot.safe_text import escape_mrkdwn
from slackbot.slack_errors import slack_error


async def open_thread(client: Any, budget: RateBudget, channel: str, root_text: str) -> str:
    """Post `root_text` as a thread's root in `channel`; returns its ts (SlackApiError if Slack refuses)."""
    await budget.take("chat.postMessage", channel)
    root = await client.chat_postMessage(channel=channel, text=root_text)
    return str(root["ts"])


def cannot_post(exc: SlackApiError) -> str:
    """What to tell the asker when Slack refused the thread's root."""
    error = slack_error(exc)
    hint = (
        "invite me first: `/invite @sre-bot`"
        if error in ("not_in_channel", "channel_not_found")
        else f"Slack said `{escape_mrkdwn(error)}`"
    )
    return f"I can't post in this channel: {hint}."


def conversation_id(*, team: str | None, channel: str, thread_ts: str) -> str:
    """The conversation of a thread: its memory, its queue, and the cluster `/k8s use` set for it."""
    return f"{team}:{channel}:{thread_ts}"


def question(text: str, *, channel: str, thread_ts: str, user: str, team: str | None) -> Question:
    """The question `text` from `user`, answered in the thread `thread_ts` of `channel`."""
    return Question(
        text=text,
        target=ReplyTarget(channel, thread_ts, user, team),
        conversation_id=conversation_id(team=team, channel=channel, thread_ts=thread_ts),
        user_id=user,
    )
