"""Run questions from Slack: a sign of life at once, answers in order per thread, concurrent across threads.

Each question gets its place in its thread's queue the moment its event arrives (before any await), so
follow-ups are answered in the order they were asked even when Slack calls return out of order. The reply
starts (placeholder or native stream) immediately; the question then waits for the previous one in the
thread. On shutdown, in-flight answers get a grace period, then end with a clear "interrupted" note.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from agents.capabilities import ASK_AGAIN
from agents.charts.model import Chart
from agents.events import AgentEvent, ErrorEvent
from agents.metrics import FIRST_REPLY
from agents.runner import ConversationRunner, new_correlation_id
from agents.state.replies import OpenReplies
from slackbot.charts import share_chart
from slackbot.rate_budget import RateBudget
from slackbot.recovery import reply_place
from slackbot.renderer import INTERRUPTED, Renderer, error_text
from slackbot.replies import NativeStreamReply, Reply, ReplyTarget, StreamUnavailable, UpdateReply
from slackbot.slack_errors import slack_error

logger = logging.getLogger(__name__)

# Errors meaning "this workspace/app cannot use native streaming": stop trying it for this process.
NATIVE_OFF_ERRORS = (
    "unknown_method",
    "not_allowed_token_type",
    "feature_not_enabled",
    "missing_scope",
    "not_allowed",
    "method_deprecated",
)


@dataclass(frozen=True)
class Question:
    text: str
    target: ReplyTarget
    conversation_id: str
    user_id: str  # "" for the bot's own questions (an alert's investigation)
    received: float = field(default_factory=time.monotonic)
    clusters: tuple[str, ...] = ()  # given apart from the text, as a `--cluster` (an alert's cluster)


Paused = Callable[[Question, Renderer, str], Awaitable[None]]
"""Called when an answer stopped at approvals: (question, its renderer, correlation id); the approval desk
takes it from there."""
Finished = Callable[[Renderer], Awaitable[None]]


class Conversations:
    """Schedules answers; owns the in-flight tasks so shutdown can finish or close them cleanly."""

    def __init__(
        self,
        runner: ConversationRunner,
        client: AsyncWebClient,
        budget: RateBudget,
        *,
        native: bool = True,
        place_cluster: Callable[[str], str | None] = lambda _channel: None,
        open_replies: OpenReplies | None = None,
    ) -> None:
        self._runner = runner
        # each reply in flight, under the runner's replica id: a survivor ends it if this replica dies
        self._open_replies = open_replies
        # the fleet cluster of a channel (CLUSTERS_FILE clusters.<name>.channels): where a question is asked
        self._place_cluster = place_cluster
        self.client = client
        self.budget = budget
        self.native = native
        self._tails: dict[str, asyncio.Future[None]] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self.closing = False
        self._on_paused: Paused | None = None

    def when_paused(self, on_paused: Paused) -> None:
        """Hand answers that stop at approvals to `on_paused` (the approval desk: built after this queue,
        since it resumes answers through it, so it is wired here rather than in the constructor)."""
        self._on_paused = on_paused

    async def paused_on(self, conversation_id: str) -> set[str]:
        """The approval interrupt ids the conversation waits on (empty when it is not paused)."""
        return await self._runner.paused_on(conversation_id)

    def exclusive(self, conversation_id: str) -> contextlib.AbstractAsyncContextManager[bool]:
        """The runner's `exclusive`: True while no replica (this one included) answers in the thread."""
        return self._runner.exclusive(conversation_id)

    def submit(self, question: Question) -> asyncio.Task[None]:
        """Queue `question` in its thread now (synchronously) and answer it in the background."""
        place = self._place_cluster(question.target.channel)
        return self._schedule(
            question,
            lambda cid: self._runner.ask(
                question.text,
                question.conversation_id,
                cid,
                user=question.user_id or None,
                place_cluster=place,
                flag_clusters=question.clusters,
            ),
        )

    def resume(
        self, question: Question, responses: dict[str, Any], after: Finished | None = None
    ) -> asyncio.Task[None]:
        """Continue a paused answer in its thread, in order with anything asked there meanwhile."""
        return self._schedule(
            question,
            lambda cid: self._runner.resume(question.conversation_id, responses, cid, user=question.user_id),
            after,
        )

    def in_turn(self, conversation_id: str, work: Callable[[], Awaitable[None]]) -> asyncio.Task[None]:
        """Run `work` in the thread's order: after what was asked there before, before what comes after
        (`/k8s use` in a thread: the answer already running keeps its cluster, the next one gets the new)."""

        async def run(previous: asyncio.Future[None] | None) -> None:
            if previous is not None:
                await asyncio.shield(previous)
            try:
                await work()
            except Exception:  # in the background: nothing else would see it
                logger.exception("work in %s failed", conversation_id)

        return self._queue(conversation_id, run)

    async def set_thread_cluster(self, conversation_id: str, cluster: str) -> None:
        """The runner's `set_thread_cluster` (ValueError when it cannot keep it); call it `in_turn`."""
        await self._runner.set_thread_cluster(conversation_id, cluster)

    def _schedule(
        self,
        question: Question,
        run: Callable[[str], AsyncIterator[AgentEvent]],
        after: Finished | None = None,
    ) -> asyncio.Task[None]:
        return self._queue(
            question.conversation_id, lambda previous: self._answer(question, previous, run, after)
        )

    def _queue(
        self, conversation_id: str, run: Callable[[asyncio.Future[None] | None], Awaitable[None]]
    ) -> asyncio.Task[None]:
        """Take the thread's next place now (synchronously) and `run` there in the background; `run`
        gets the place before it (None when the thread is idle) to wait for."""
        previous = self._tails.get(conversation_id)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._tails[conversation_id] = done

        async def in_place() -> None:
            try:
                await run(previous)
            finally:
                done.set_result(None)
                if self._tails.get(conversation_id) is done:
                    del self._tails[conversation_id]

        task = asyncio.create_task(in_place())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def _start_reply(self, target: ReplyTarget) -> Reply:
        # A native stream in a channel is shown to the person who asked: the bot's own questions (an
        # alert's investigation) have nobody, so they grow by chat.update, which everyone sees.
        if self.native and (target.user_id or target.channel.startswith("D")):
            reply = NativeStreamReply(self.client, self.budget, target)
            try:
                await reply.start()
                return reply
            except StreamUnavailable as exc:
                if any(code in str(exc) for code in NATIVE_OFF_ERRORS):
                    logger.warning("native streaming unavailable (%s); using chat.update from now on", exc)
                    self.native = False
        fallback = UpdateReply(self.client, self.budget, target)
        await fallback.start()
        return fallback

    async def _answer(
        self,
        question: Question,
        previous: asyncio.Future[None] | None,
        run: Callable[[str], AsyncIterator[AgentEvent]],
        after: Finished | None,
    ) -> None:
        correlation_id = new_correlation_id()
        recorded: str | None = None
        try:
            reply = await self._open_reply(question, correlation_id)
            if reply is None:
                return
            FIRST_REPLY.observe(time.monotonic() - question.received)
            recorded = await self._record(reply, question.target)
            await self._wait_turn(previous, reply)
            logger.info(
                "question from %s in %s [correlation_id=%s]",
                question.user_id,
                question.conversation_id,
                correlation_id,
            )
            renderer = Renderer(reply)
            await renderer.run(run(correlation_id))
            if renderer.approvals and self._on_paused is not None:
                await self._on_paused(question, renderer, correlation_id)
            if after is not None:
                await after(renderer)
            if renderer.chart is not None:  # after the answer and its cards, before the next question
                await self._share_chart(question, renderer.chart.chart, correlation_id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.exception("reply failed [correlation_id=%s]", correlation_id)
            with contextlib.suppress(Exception):
                await self._say_failed(question.target, correlation_id, exc)
        finally:
            if recorded is not None:
                await asyncio.shield(self._forget(recorded))

    async def _record(self, reply: Reply, target: ReplyTarget) -> str | None:
        """Record the started reply as this replica's (None when nothing records replies)."""
        place = reply_place(reply, target)
        if self._open_replies is None or place is None:
            return None
        reply_id = f"{place['channel']}:{place['ts']}"
        try:
            await asyncio.to_thread(self._open_replies.open, reply_id, self._runner.owner, place)
        except Exception:  # the answer matters more than its record
            logger.warning("could not record reply %s", reply_id, exc_info=True)
            return None
        return reply_id

    async def _forget(self, reply_id: str) -> None:
        assert self._open_replies is not None
        try:
            await asyncio.to_thread(self._open_replies.close, reply_id)
        except Exception:  # left behind: a survivor would end an answered reply with a needless note
            logger.warning("could not forget reply %s", reply_id, exc_info=True)

    async def _share_chart(self, question: Question, chart: Chart, correlation_id: str) -> None:
        """The answer's chart; whatever fails there, the answer and its approval cards are already out."""
        try:
            await share_chart(self.client, self.budget, question.target, chart, correlation_id)
        except Exception:
            logger.exception("chart not shared [correlation_id=%s]", correlation_id)

    async def _open_reply(self, question: Question, correlation_id: str) -> Reply | None:
        """The sign of life; None (logged) when Slack refuses it, as there is then nowhere to answer."""
        try:
            return await self._start_reply(question.target)
        except SlackApiError as exc:
            logger.error(
                "cannot reply in %s [correlation_id=%s]: %s",
                question.target.channel,
                correlation_id,
                slack_error(exc),
            )
            return None

    @staticmethod
    async def _wait_turn(previous: asyncio.Future[None] | None, reply: Reply) -> None:
        """Wait for the earlier question in the thread; shielded, so its own cancellation is not ours."""
        if previous is None:
            return
        try:
            await asyncio.shield(previous)
        except asyncio.CancelledError:
            # Shutting down while waiting for the earlier question in this thread: end the started
            # reply with a note instead of leaving "Working on it…" forever.
            await asyncio.shield(reply.finish(INTERRUPTED, []))
            raise

    async def _say_failed(self, target: ReplyTarget, correlation_id: str, exc: Exception) -> None:
        await self.budget.take("chat.postMessage", target.channel)
        await self.client.chat_postMessage(
            channel=target.channel,
            thread_ts=target.thread_ts,
            text=error_text(
                ErrorEvent(
                    "internal",
                    "Something went wrong while replying.",
                    f"The bot's log has the details ({type(exc).__name__}).",
                    correlation_id,
                    action=ASK_AGAIN,
                )
            ),
        )

    async def drain(self, grace_seconds: float) -> None:
        """Let in-flight answers finish for `grace_seconds`, then cancel them (they end with a note)."""
        self.closing = True
        pending = set(self.tasks)
        if not pending:
            return
        _done, still = await asyncio.wait(pending, timeout=grace_seconds)
        for task in still:
            task.cancel()
        if still:
            await asyncio.wait(still, timeout=10)
