"""One bot reply in a Slack thread that grows in place, then ends as one clean final message.

Two ways to show it, same interface:
- `NativeStreamReply`: Slack's streaming methods (chat.startStream / appendStream / stopStream), tool
  steps as `task_update` chunks — Slack's own display of an agent's steps.
- `UpdateReply`: a placeholder message edited with chat.update — for workspaces or moments where the
  native methods are unavailable or their (Tier 2) budget is spent.

Both update a message at most once per second while the answer grows, spend the shared budget on every
Slack call (intermediate updates only from its surplus, skipped rather than retried when Slack says 429),
and always deliver the final text, as soon as it is complete: if a final call fails, the answer is posted
as a new message.

`show` and `finish` take the answer as the model and tools wrote it; everything they post went through
`slackbot.outbound` first (redacted, neutralized, a growing answer only as far as it is settled).

Why one module of ~330 lines: the two replies are one interface with two implementations that must
behave the same (pacing, budget, the final text always delivered); they are read side by side.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from slackbot.client import one_try
from slackbot.formatting import (
    MARKDOWN_LIMIT,
    SAFE_MARKDOWN,
    SAFE_TEXT,
    clip,
    cut_for_message,
    last_safe_break,
    open_fence,
    split_markdown,
    stable_prefix,
    tables_to_code,
    to_mrkdwn,
)
from slackbot.outbound import answer_markdown, growing_answer, step_text
from slackbot.rate_budget import Clock, RateBudget
from slackbot.slack_errors import slack_error

logger = logging.getLogger(__name__)

MIN_UPDATE_INTERVAL = 1.05  # Slack counts arrivals; a little margin over 1 s for network jitter
CUT_ZONE = 1_500  # near the size limit, a native stream shows only whole lines outside code
PLACEHOLDER = "_Working on it…_"


@dataclass
class StepView:
    """A tool step as shown to the user."""

    id: str
    title: str
    status: str = "in_progress"  # in_progress, complete, error
    detail: str = ""


@dataclass
class ReplyTarget:
    """Where a reply goes: channel, thread, and who asked (native streams in channels need them)."""

    channel: str
    thread_ts: str
    user_id: str | None = None
    team_id: str | None = None


class Reply(Protocol):
    async def start(self) -> None: ...
    async def show(self, text: str, steps: list[StepView], *, force: bool = False) -> None: ...
    async def finish(self, text: str, steps: list[StepView]) -> None: ...


def markdown_blocks(text: str) -> list[dict[str, Any]]:
    return [{"type": "markdown", "text": text}]


@dataclass
class _Pacer:
    """At most one intermediate update per message per second, on the budget's clock (so tests can check
    it). The final change does not wait for it: the answer is complete, and nothing follows it."""

    clock: Clock
    last: float = field(default=float("-inf"))

    def ready(self) -> bool:
        return self.clock.now() - self.last >= MIN_UPDATE_INTERVAL

    def mark(self) -> None:
        self.last = self.clock.now()


async def post_parts(
    client: AsyncWebClient, budget: RateBudget, target: ReplyTarget, parts: list[str]
) -> list[str]:
    """Post `parts` (Slack-ready: neutralized or built from escaped values) as follow-up messages in the
    thread; returns their ts."""
    stamps = []
    for part in parts:
        await budget.take("chat.postMessage", target.channel)
        response = await client.chat_postMessage(
            channel=target.channel,
            thread_ts=target.thread_ts,
            text=clip(to_mrkdwn(part), SAFE_TEXT),
            blocks=markdown_blocks(part),
        )
        stamps.append(str(response.get("ts")))
    return stamps


class UpdateReply:
    """Placeholder message edited in place with chat.update."""

    def __init__(self, client: AsyncWebClient, budget: RateBudget, target: ReplyTarget) -> None:
        self.client, self.budget, self.target = client, budget, target
        self.ts: str | None = None
        self.pacer = _Pacer(budget.clock)
        self.shown = ""

    async def start(self) -> None:
        await self.budget.take("chat.postMessage", self.target.channel)
        response = await self.client.chat_postMessage(
            channel=self.target.channel, thread_ts=self.target.thread_ts, text=PLACEHOLDER
        )
        self.ts = str(response["ts"])
        self.budget.pledge("chat.update")  # this reply's final update
        self.pacer.mark()

    @staticmethod
    def compose(text: str, steps: list[StepView]) -> str:
        """The intermediate view of a growing answer, with the step running now."""
        running = [s for s in steps if s.status == "in_progress"]
        body = tables_to_code(growing_answer(text.strip()))
        if running:
            line = f"_⏳ {step_text(running[-1].title)}_"
        elif not body:
            line = PLACEHOLDER
        else:
            line = "_…_"
        body = clip(body, SAFE_MARKDOWN - 200)
        return f"{body}\n\n{line}" if body else line

    async def show(self, text: str, steps: list[StepView], *, force: bool = False) -> None:
        if self.ts is None or not self.pacer.ready():
            return
        view = self.compose(text, steps)
        if view == self.shown or not self.budget.try_take("chat.update"):
            return
        self.pacer.mark()
        try:
            with one_try():  # a 429 skips this view; the next one shows the answer as it is then
                await self.client.chat_update(
                    channel=self.target.channel,
                    ts=self.ts,
                    text=clip(to_mrkdwn(view), SAFE_TEXT),
                    blocks=markdown_blocks(view),
                )
            self.shown = view
        except SlackApiError as exc:
            logger.warning("intermediate update failed: %s", slack_error(exc))

    async def finish(self, text: str, steps: list[StepView]) -> None:
        parts = split_markdown(tables_to_code(answer_markdown(text.strip())) or "(empty answer)")
        if self.ts is None:
            await post_parts(self.client, self.budget, self.target, parts)
            return
        if not self.budget.ready_now("chat.update") and self.budget.ready_now(
            "chat.postMessage", self.target.channel
        ):
            # Slack's chat.update budget is spent (many answers ending at once): the answer shows now as a
            # new message in the thread, and the placeholder goes when chat.delete's budget allows
            self.budget.release("chat.update")
            await post_parts(self.client, self.budget, self.target, parts)
            await self._remove_placeholder()
            return
        await self.budget.take("chat.update", pledged=True)
        self.pacer.mark()
        first = parts[0] + ("\n\n_(continued below)_" if len(parts) > 1 else "")
        try:
            await self.client.chat_update(
                channel=self.target.channel,
                ts=self.ts,
                text=clip(to_mrkdwn(first), SAFE_TEXT),
                blocks=markdown_blocks(first),
            )
        except SlackApiError as exc:
            logger.warning("final update failed (%s); posting the answer instead", slack_error(exc))
            await post_parts(self.client, self.budget, self.target, parts[:1])
            await self._remove_placeholder()
        if len(parts) > 1:
            await post_parts(self.client, self.budget, self.target, parts[1:])

    async def _remove_placeholder(self) -> None:
        """The answer was posted below the placeholder: it would otherwise keep a stale partial answer."""
        assert self.ts is not None
        with contextlib.suppress(SlackApiError):
            await self.budget.take("chat.delete")
            await self.client.chat_delete(channel=self.target.channel, ts=self.ts)


class StreamUnavailable(Exception):
    """The native streaming methods cannot be used for this reply; use UpdateReply instead."""


class NativeStreamReply:
    """Slack's native streaming: text appended as it comes, tool steps as task_update chunks."""

    def __init__(self, client: AsyncWebClient, budget: RateBudget, target: ReplyTarget) -> None:
        self.client, self.budget, self.target = client, budget, target
        self.ts: str | None = None
        self.pacer = _Pacer(budget.clock)
        self.sent = ""  # markdown text already appended
        self.sent_steps: dict[str, str] = {}  # step id → status already shown
        self.stop_reserved = False

    async def start(self) -> None:
        # Reserve the stop call up front so the final message never waits behind other streams' starts.
        if not self.budget.try_take("chat.startStream"):
            raise StreamUnavailable("startStream budget spent")
        if not self.budget.try_take("chat.stopStream"):
            self.budget.refund("chat.startStream")
            raise StreamUnavailable("stopStream budget spent")
        self.stop_reserved = True
        try:
            # the sign of life never waits out a 429: a placeholder (UpdateReply) shows instead
            with one_try():
                response = await self.client.chat_startStream(
                    channel=self.target.channel,
                    thread_ts=self.target.thread_ts,
                    recipient_user_id=self.target.user_id,
                    recipient_team_id=self.target.team_id,
                    task_display_mode="timeline",
                    chunks=[
                        {
                            "type": "task_update",
                            "id": "thinking",
                            "title": "Thinking",
                            "status": "in_progress",
                        }
                    ],
                )
        except SlackApiError as exc:
            self.budget.refund("chat.stopStream")
            raise StreamUnavailable(str(slack_error(exc))) from exc
        self.ts = str(response["ts"])
        self.sent_steps["thinking"] = "in_progress"
        self.pacer.mark()

    def _step_chunks(self, steps: list[StepView], final: bool) -> list[dict[str, Any]]:
        chunks: list[dict[str, Any]] = []
        views = list(steps)
        if "thinking" in self.sent_steps and self.sent_steps["thinking"] != "complete" and (steps or final):
            views.insert(0, StepView("thinking", "Thinking", "complete"))
        for step in views:
            status = step.status if not (final and step.status == "in_progress") else "complete"
            if self.sent_steps.get(step.id) == status:
                continue
            chunk: dict[str, Any] = {
                "type": "task_update",
                "id": step.id,
                "title": clip(step_text(step.title), 200),
                "status": status,
            }
            if step.detail:
                chunk["details"] = clip(step_text(step.detail), 500)
            chunks.append(chunk)
        return chunks

    def _mark_steps(self, chunks: list[dict[str, Any]]) -> None:
        for chunk in chunks:
            self.sent_steps[chunk["id"]] = chunk["status"]

    def _streamable(self, text: str) -> str:
        """What of `text` can go into this message now: stable (tables complete), cut where the message
        will end if the answer outgrows it (the rest goes to follow-ups)."""
        target = stable_prefix(growing_answer(text.lstrip()))
        if len(target) > SAFE_MARKDOWN:
            head = cut_for_message(target)[0]
        elif len(target) > SAFE_MARKDOWN - CUT_ZONE:
            # The message may have to end near here: only whole lines outside code, so the cut made at
            # the end (a line break outside code) never falls inside what was already streamed.
            head = target[: last_safe_break(target)]
        else:
            head = target
        return head if head.startswith(self.sent) else self.sent

    async def show(self, text: str, steps: list[StepView], *, force: bool = False) -> None:
        if self.ts is None or not self.pacer.ready():
            return
        target = self._streamable(text)
        delta = target[len(self.sent) :]
        chunks = self._step_chunks(steps, final=False)
        if not delta and not chunks:
            return
        if not self.budget.try_take("chat.appendStream"):
            return
        self.pacer.mark()
        if delta:
            chunks.append({"type": "markdown_text", "text": delta})
        try:
            with one_try():  # a 429 skips this append; the next one carries its text too
                await self.client.chat_appendStream(channel=self.target.channel, ts=self.ts, chunks=chunks)
            self.sent = target
            self._mark_steps(chunks[:-1] if delta else chunks)
        except SlackApiError as exc:
            logger.warning("appendStream failed: %s", slack_error(exc))

    async def finish(self, text: str, steps: list[StepView]) -> None:
        final = tables_to_code(answer_markdown(text.strip())) or "(empty answer)"
        assert self.ts is not None
        head, overflow, fence = cut_for_message(final)
        if head.startswith(self.sent):
            rest = head[len(self.sent) :] + ("```" if fence else "")  # a fenced cut ends at a line break
            overflow = (f"{fence}\n" if fence else "") + overflow
        elif final.startswith(self.sent):  # streamed past the clean cut (into a long code block)
            # end this message at the end of the line already begun, closing an open code block
            end = final.find("\n", len(self.sent)) + 1 or len(final)
            if end - len(self.sent) > MARKDOWN_LIMIT - SAFE_MARKDOWN - 200:
                end = len(self.sent)
            fence = open_fence(final[:end])
            rest = final[len(self.sent) : end] + (
                ("" if final[:end].endswith("\n") else "\n") + "```" if fence else ""
            )
            overflow = (f"{fence}\n" if fence else "") + final[end:]
        else:  # the text changed under the stream: never lose the answer
            rest, overflow = "", final
        chunks = self._step_chunks(steps, final=True)
        if rest:
            chunks.append({"type": "markdown_text", "text": rest})
        if overflow.strip():
            chunks.append({"type": "markdown_text", "text": "\n\n_(continued below)_"})
        else:
            overflow = ""
        if not self.stop_reserved:
            await self.budget.take("chat.stopStream")
        self.pacer.mark()
        try:
            await self.client.chat_stopStream(channel=self.target.channel, ts=self.ts, chunks=chunks or None)
            self.sent += rest
        except SlackApiError as exc:
            logger.warning("stopStream failed (%s); posting the answer instead", slack_error(exc))
            overflow = final
        if overflow:
            await post_parts(self.client, self.budget, self.target, split_markdown(overflow))
