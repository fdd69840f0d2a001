"""The Conversations queue without Bolt or agents: a scripted runner, the real Web API client, the fake Slack.

Races are made with held answers and held Slack calls (asyncio Events), never with timing: "the second
question's reply started first" and "this answer is still running" are facts the test sets up.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from agents.events import ApprovalRequired, FinalAnswer, TextDelta
from slackbot.conversations import NATIVE_OFF_ERRORS, Conversations, Question
from slackbot.rate_budget import RateBudget
from slackbot.renderer import INTERRUPTED, Renderer
from slackbot.threads import question
from tests.fakes.scripted_runner import ScriptedRunner
from tests.fakes.slack_api import BOT_TOKEN, BOT_USER, TEAM, FakeClock, FakeSlack, Message
from tests.slack_harness import wait_until

BOUND = 30  # seconds: only how long a stuck queue may take to fail a test, never a measurement


class HeldClient(AsyncWebClient):
    """The real client; a call of a method can be held (before it goes out) until the test releases it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.gates: dict[str, list[asyncio.Event]] = defaultdict(list)

    def hold_next(self, method: str) -> asyncio.Event:
        gate = asyncio.Event()
        self.gates[method].append(gate)
        return gate

    async def api_call(self, api_method: str, **kwargs: Any) -> Any:  # type: ignore[override]
        if self.gates.get(api_method):
            await self.gates[api_method].pop(0).wait()
        return await super().api_call(api_method, **kwargs)


@dataclass
class World:
    slack: FakeSlack
    client: HeldClient
    runner: ScriptedRunner
    conversations: Conversations

    def ask(self, text: str, thread: str = "1.0", channel: str = "C1") -> asyncio.Task[None]:
        return self.conversations.submit(q(text, thread, channel))

    async def settle(self) -> None:
        """Every answer scheduled so far has ended."""
        await asyncio.wait_for(asyncio.gather(*self.conversations.tasks), BOUND)

    def replies(self, thread: str = "1.0", channel: str = "C1") -> list[Message]:
        return [m for m in self.slack.thread(channel, thread) if m.user == BOT_USER]


def q(text: str, thread: str = "1.0", channel: str = "C1") -> Question:
    return question(text, channel=channel, thread_ts=thread, user="U1", team=TEAM)


@pytest.fixture
async def world() -> AsyncIterator[World]:
    slack = FakeSlack().start()
    client = HeldClient(token=BOT_TOKEN, base_url=slack.api_url)
    runner = ScriptedRunner()
    conversations = Conversations(runner, client, RateBudget(clock=FakeClock()))  # type: ignore[arg-type]
    try:
        yield World(slack, client, runner, conversations)
    finally:
        for gate in [*runner.holds.values(), *(g for gates in client.gates.values() for g in gates)]:
            gate.set()
        await conversations.drain(5)
        slack.stop()


async def test_follow_ups_in_one_thread_are_answered_in_the_order_asked_when_slack_answers_out_of_order(
    world: World,
) -> None:
    first_start = world.client.hold_next("chat.startStream")  # the first reply's sign of life is slow
    world.ask("first")
    world.ask("second")
    # the second question's reply started first ...
    await wait_until(lambda: len(world.slack.calls_of("chat.startStream")) == 1, "the second reply", BOUND)
    assert world.runner.asked == []  # ... yet its answer waits for the first question's
    first_start.set()
    await world.settle()
    assert world.runner.log == ["start:first", "end:first", "start:second", "end:second"]
    texts = sorted(m.final_text for m in world.replies())
    assert texts == ["Answer to first", "Answer to second"]


async def test_work_in_turn_waits_for_the_answer_before_it_and_holds_the_next(world: World) -> None:
    cid = q("x").conversation_id
    release = world.runner.hold("running")
    world.ask("running")
    await asyncio.wait_for(world.runner.when_asked("running").wait(), BOUND)

    async def use_prod() -> None:
        world.runner.log.append("use:prod")
        await world.conversations.set_thread_cluster(cid, "prod")

    world.conversations.in_turn(cid, use_prod)
    world.ask("next")
    release.set()
    await world.settle()
    assert world.runner.log == ["start:running", "end:running", "use:prod", "start:next", "end:next"]
    assert world.runner.thread_clusters == {cid: "prod"}


async def test_different_threads_are_answered_at_the_same_time(world: World) -> None:
    # the first thread's answer ends only once the second thread's question is being answered: answered
    # one after the other, the two would wait for each other until BOUND
    world.runner.holds["one"] = world.runner.when_asked("two")
    world.ask("one", thread="1.0")
    world.ask("two", thread="2.0")
    await world.settle()
    assert world.runner.log[:2] == ["start:one", "start:two"]
    assert [m.final_text for m in world.replies("1.0")] == ["Answer to one"]
    assert [m.final_text for m in world.replies("2.0")] == ["Answer to two"]


async def test_drain_lets_answers_in_flight_finish_within_the_grace_period(world: World) -> None:
    release = world.runner.hold("first")
    world.ask("first")
    world.ask("follow-up")  # queued behind it in the same thread
    await asyncio.wait_for(world.runner.when_asked("first").wait(), BOUND)
    draining = asyncio.create_task(world.conversations.drain(BOUND))
    await wait_until(lambda: world.conversations.closing, "draining", BOUND)
    assert not draining.done()  # it waits for the answer in flight
    release.set()
    await asyncio.wait_for(draining, BOUND)
    assert world.runner.log == ["start:first", "end:first", "start:follow-up", "end:follow-up"]
    assert [m.final_text for m in world.replies()] == ["Answer to first", "Answer to follow-up"]
    assert not any(INTERRUPTED in m.final_text or m.streaming for m in world.replies())


async def test_drain_ends_what_is_left_after_the_grace_period_with_the_interrupted_note(world: World) -> None:
    world.runner.hold("first")  # never released: still running when the grace period is over
    world.runner.hold("elsewhere")
    world.ask("first")
    world.ask("follow-up")  # its reply started; it waits for "first"
    world.ask("elsewhere", thread="2.0")
    await wait_until(
        lambda: (
            len(world.slack.calls_of("chat.startStream")) == 3
            and world.runner.asked == ["first", "elsewhere"]
        ),
        "three replies started, two answers running",
        BOUND,
    )
    await asyncio.wait_for(world.conversations.drain(0), BOUND)
    assert world.conversations.tasks == set()
    replies = world.replies() + world.replies("2.0")
    assert len(replies) == 3
    for reply in replies:
        assert not reply.streaming and INTERRUPTED in reply.final_text
    assert "follow-up" not in world.runner.asked


async def test_a_failure_while_replying_posts_the_internal_error_note_and_the_thread_goes_on(
    world: World,
) -> None:
    world.runner.scripts["boom"] = [TextDelta("Looking at "), RuntimeError("kaput")]
    world.ask("boom")
    world.ask("after")
    await world.settle()
    # both replies started at once (signs of life); the note followed the failed one
    answer, after, note = world.replies()
    assert answer.final_text == "Looking at"  # what was said so far ends the started reply
    assert "Something went wrong while replying." in note.text
    assert "The bot's log has the details (RuntimeError)." in note.text
    assert "Reference: `" in note.text
    assert after.final_text == "Answer to after"


@pytest.mark.parametrize("error", NATIVE_OFF_ERRORS)
async def test_native_streaming_falls_back_to_chat_update_on_these_errors_and_stays_off(
    world: World, error: str
) -> None:
    world.slack.fail_next("chat.startStream", status=200, error=error)
    world.ask("first")
    await world.settle()
    world.ask("second", thread="2.0")
    await world.settle()
    assert len(world.slack.calls_of("chat.startStream")) == 1  # tried once, never again
    assert world.conversations.native is False
    for thread, text in (("1.0", "Answer to first"), ("2.0", "Answer to second")):
        [reply] = world.replies(thread)
        assert not reply.stream and reply.final_text == text  # a placeholder edited with chat.update
    assert len(world.slack.calls_of("chat.update")) >= 2


async def test_another_stream_error_falls_back_for_that_reply_only(world: World) -> None:
    world.slack.fail_next("chat.startStream", status=200, error="internal_error")
    world.ask("first")
    await world.settle()
    world.ask("second", thread="2.0")
    await world.settle()
    assert world.conversations.native is True
    assert not world.replies("1.0")[0].stream
    assert world.replies("2.0")[0].stream and world.replies("2.0")[0].final_text == "Answer to second"


async def test_an_answer_stopped_at_approvals_goes_to_the_pause_listener(world: World) -> None:
    approval = ApprovalRequired(
        "int-1", "eks", "manage_k8s_resource", {"operation": "delete"}, "h", "Delete x"
    )
    world.runner.scripts["delete x"] = [approval, FinalAnswer("", paused=True)]
    paused: list[tuple[Question, list[ApprovalRequired], str]] = []

    async def on_paused(question: Question, renderer: Renderer, turn_id: str) -> None:
        paused.append((question, renderer.approvals, turn_id))

    world.conversations.when_paused(on_paused)
    world.ask("delete x")
    world.ask("hello", thread="2.0")
    await world.settle()
    [(asked, approvals, turn_id)] = paused
    assert asked.text == "delete x" and approvals == [approval] and turn_id
    world.runner.paused["T1:C1:1.0"] = {"int-1"}
    assert await world.conversations.paused_on("T1:C1:1.0") == {"int-1"}
    assert await world.conversations.paused_on("T1:C1:2.0") == set()
