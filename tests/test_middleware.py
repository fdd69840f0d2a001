"""Each question filter through a real AsyncApp dispatch: the listeners and middleware `Handlers` registers,
the real Conversations with a scripted runner, the fake Slack's Web API. No socket: a request is handed to
`AsyncApp.async_dispatch` as the Socket Mode adapter hands it, and its response is what the adapter would ack.

To show that something was *not* answered, a later question is answered first ("the proof"): requests are
dispatched in order, so the earlier one had its chance.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from slackbot.conversations import Conversations
from slackbot.handlers import Handlers, ModeInfo
from slackbot.middleware import EMPTY_MENTION, RESTARTING
from slackbot.outbound import use_safe_client
from slackbot.rate_budget import RateBudget
from tests.fakes.scripted_runner import ScriptedRunner
from tests.fakes.slack_api import BOT_TOKEN, BOT_USER, TEAM, FakeClock, FakeSlack, Message
from tests.slack_harness import wait_until

LIMIT = 100
BOUND = 30  # seconds: only how long a stuck bot may take to fail a test, never a measurement


class Claims:
    """An in-memory EventDedupe that keeps every key it was asked to claim, in order."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.held: set[str] = set()

    def claim(self, key: str) -> bool:
        self.asked.append(key)
        fresh = key not in self.held
        self.held.add(key)
        return fresh


@dataclass
class World:
    app: AsyncApp
    slack: FakeSlack
    runner: ScriptedRunner
    conversations: Conversations
    claims: Claims

    async def deliver(self, event: dict[str, Any], event_id: str | None = None) -> BoltResponse:
        body = {
            "token": "x",
            "team_id": TEAM,
            "api_app_id": "A1",
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
            "event_time": 1700000000,
            "authorizations": [{"team_id": TEAM, "user_id": BOT_USER, "is_bot": True}],
        }
        return await self.app.async_dispatch(AsyncBoltRequest(mode="socket_mode", body=body))

    async def command(self, text: str) -> dict[str, Any]:
        """/k8s `text`; returns what the ack carries back to Slack."""
        body = {
            "token": "x",
            "team_id": TEAM,
            "channel_id": "C1",
            "user_id": "U1",
            "command": "/k8s",
            "text": text,
            "api_app_id": "A1",
            "response_url": f"http://127.0.0.1:{self.slack.port}/response/1",
            "trigger_id": "1.2.3",
        }
        response = await self.app.async_dispatch(AsyncBoltRequest(mode="socket_mode", body=body))
        assert response.status == 200
        return json.loads(response.body) if response.body else {}

    async def proof(self, channel: str = "D9") -> None:
        """A DM answered after everything delivered before it had its turn."""
        event = self.slack.dm("proof", channel=channel)
        assert (await self.deliver(event, event_id="EvPROOF")).status == 200
        await wait_until(lambda: self.replies(channel, event["ts"]), "the proof answered", BOUND)
        await wait_until(lambda: not self.conversations.tasks, "every answer finished", BOUND)

    def replies(self, channel: str, ts: str) -> list[Message]:
        return [m for m in self.slack.thread(channel, ts) if m.user == BOT_USER]


@pytest.fixture
async def world(caplog: pytest.LogCaptureFixture) -> AsyncIterator[World]:
    slack = FakeSlack().start()
    client = AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url)
    runner = ScriptedRunner()
    conversations = Conversations(runner, client, RateBudget(clock=FakeClock()))  # type: ignore[arg-type]
    app = AsyncApp(client=client, process_before_response=False)  # as build_bot makes it
    use_safe_client(app, client)  # type: ignore[arg-type]
    claims = Claims()
    mode = ModeInfo(cluster="fake-k3s", writes="read-only", model="scripted")
    Handlers(conversations, claims, mode, bot_user_id=BOT_USER, max_question_chars=LIMIT).register(app)
    try:
        with caplog.at_level(logging.DEBUG, logger="slack_bolt"):
            yield World(app, slack, runner, conversations, claims)
        # a request a middleware stopped is acked: Bolt neither warns about it nor answers Slack with a 404
        assert [
            r.getMessage() for r in caplog.records if r.name.startswith("slack_bolt") and r.levelno >= 30
        ] == []
    finally:
        await conversations.drain(5)
        slack.stop()


async def test_the_bots_own_other_bots_edits_and_channel_messages_are_no_questions(world: World) -> None:
    noises = [
        {**world.slack.dm("mine"), "user": BOT_USER},
        {**world.slack.dm("from a bot"), "bot_id": "B2"},
        {**world.slack.dm("edited"), "subtype": "message_changed"},
        {key: value for key, value in world.slack.dm("no user").items() if key != "user"},
        {**world.slack.mention("a bot mentions me"), "bot_id": "B2"},
        {**world.slack.dm("in a channel", channel="C1"), "channel_type": "channel"},
    ]
    for noise in noises:
        assert (await world.deliver(noise)).status == 200  # acked, so Slack does not deliver it again
    await world.proof()
    assert world.runner.asked == ["proof"]
    assert all(world.replies(n["channel"], n["ts"]) == [] for n in noises)
    assert not any(key.endswith(tuple(n["ts"] for n in noises)) for key in world.claims.asked)


async def test_a_redelivered_event_is_answered_once(world: World) -> None:
    event = world.slack.mention("hello")
    for _ in range(2):  # Slack delivers again what it thinks was not acked: same event_id
        assert (await world.deliver(event, event_id="Ev1")).status == 200
    await world.proof()
    assert world.runner.asked == ["hello", "proof"]
    assert len(world.replies("C1", event["ts"])) == 1
    # the keys in the store the replicas share: their format must not change
    assert world.claims.asked[:4] == [
        "event:Ev1",
        f"msg:C1:{event['ts']}",
        "event:Ev1",
        f"msg:C1:{event['ts']}",
    ]


async def test_a_dm_that_mentions_the_bot_is_answered_once(world: World) -> None:
    dm = world.slack.dm(f"<@{BOT_USER}> hello")
    mention = {**dm, "type": "app_mention"}
    mention.pop("channel_type")
    await world.deliver(mention, event_id="EvA")  # the same message arrives as two events
    await world.deliver(dm, event_id="EvB")
    await world.proof()
    assert world.runner.asked == ["hello", "proof"]
    assert len(world.replies("D1", dm["ts"])) == 1


async def test_while_restarting_a_question_is_told_to_come_back(world: World) -> None:
    await world.conversations.drain(0)  # nothing in flight: the bot is now closing
    mention, dm = world.slack.mention("hello"), world.slack.dm("hello")
    in_assistant_thread = world.slack.dm("hello", channel="D2", thread_ts="1700000000.000001")
    for event in (mention, dm, in_assistant_thread):
        assert (await world.deliver(event)).status == 200
    for event in (mention, dm, in_assistant_thread):
        channel, thread = event["channel"], event.get("thread_ts") or event["ts"]
        await wait_until(lambda: world.replies(channel, thread), "the note", BOUND)  # noqa: B023
        assert [m.text for m in world.replies(channel, thread)] == [RESTARTING]
    assert (await world.command("list the pods"))["text"] == RESTARTING
    assert "/k8s list the pods in default" in (await world.command("help"))["text"]  # help still answers
    assert world.runner.asked == []


async def test_a_question_over_the_limit_is_told_the_limit(world: World) -> None:
    long_dm = world.slack.dm("x" * (LIMIT + 1))
    at_limit = world.slack.mention("y" * LIMIT, channel="C2")
    for event in (long_dm, at_limit):
        assert (await world.deliver(event)).status == 200
    told = await world.command("why " * 30)
    await world.proof()
    [note] = world.replies("D1", long_dm["ts"])
    assert note.text.startswith(f"Your message is {LIMIT + 1:,} characters; I take at most {LIMIT:,}.")
    assert told["response_type"] == "ephemeral" and "119 characters; I take at most 100" in told["text"]
    assert world.runner.asked == ["y" * LIMIT, "proof"]  # the limit itself is allowed


async def test_an_empty_mention_is_shown_how_to_ask(world: World) -> None:
    empty = world.slack.mention("")
    assert (await world.deliver(empty)).status == 200
    await world.proof()
    assert [m.text for m in world.replies("C1", empty["ts"])] == [EMPTY_MENTION]
    assert world.runner.asked == ["proof"]


async def test_an_assistant_thread_message_passes_the_filters_once_and_is_answered_once(world: World) -> None:
    thread = "1700000000.000001"
    started = {
        "type": "assistant_thread_started",
        "assistant_thread": {"user_id": "U1", "channel_id": "D1", "thread_ts": thread, "context": {}},
        "event_ts": thread,
    }
    for _ in range(2):
        await world.deliver(started, event_id="EvSTART")
    question = world.slack.dm("list the pods", thread_ts=thread)
    for _ in range(2):
        await world.deliver(question, event_id="EvQ")
    await world.proof()
    await wait_until(
        lambda: len(world.replies("D1", thread)) == 2 and not world.conversations.tasks, "both replies", BOUND
    )
    greeting, answer = world.replies("D1", thread)
    assert greeting.text.startswith("Hi! Ask me") and answer.final_text == "Answer to list the pods"
    # (status and title go first: the proof may be asked before it)
    assert sorted(world.runner.asked) == ["list the pods", "proof"]  # not also answered as a plain DM
    keys = [k for k in world.claims.asked if "PROOF" not in k and not k.startswith("msg:D9:")]
    assert sorted(keys) == sorted(
        ["event:EvSTART"] * 2 + ["event:EvQ", f"msg:D1:{question['ts']}"] * 2 + [f"title:D1:{thread}"]
    )


async def test_claims_are_made_off_the_event_loop() -> None:
    """With the shared state a claim is a DynamoDB call: made on the event loop, 50 events at once would
    each wait for the others' claims before being acknowledged. The loop must stay free meanwhile."""
    import asyncio
    import threading

    from slackbot.middleware import AnswerOnce

    started, release = threading.Event(), threading.Event()

    class SlowStore:
        def claim(self, key: str) -> bool:
            started.set()
            if not release.wait(5):
                raise AssertionError("the claim blocked the event loop")
            return True

    body = {
        "type": "event_callback",
        "event_id": "Ev1",
        "event": {"type": "app_mention", "user": "U1", "text": "hi", "channel": "C1", "ts": "1.0"},
    }
    request = AsyncBoltRequest(body=json.dumps(body), mode="socket_mode")
    passed_on: list[bool] = []

    async def next_() -> BoltResponse:
        passed_on.append(True)
        return BoltResponse(status=200)

    task = asyncio.create_task(
        AnswerOnce(SlowStore()).async_process(req=request, resp=BoltResponse(status=200), next=next_)
    )
    await asyncio.to_thread(started.wait, 5)
    release.set()  # only reachable while the claim runs elsewhere
    await task
    assert passed_on == [True]


async def test_events_pass_on_in_the_order_they_came_whatever_their_claims_take() -> None:
    """A follow-up arriving right after its question must take its place in the thread's queue after it:
    a claim that happens to be slow for the first event must not let the second overtake it."""
    import asyncio
    import time

    from slackbot.middleware import AnswerOnce

    class FirstIsSlow:
        def claim(self, key: str) -> bool:
            if key.endswith("1.0") or key == "event:Ev1":
                time.sleep(0.3)  # a slow network call, in the claim's worker thread
            return True

    def request(event_id: str, ts: str) -> AsyncBoltRequest:
        body = {
            "type": "event_callback",
            "event_id": event_id,
            "event": {"type": "app_mention", "user": "U1", "text": "hi", "channel": "C1", "ts": ts},
        }
        return AsyncBoltRequest(body=json.dumps(body), mode="socket_mode")

    order: list[str] = []

    def next_for(name: str) -> Any:
        async def next_() -> BoltResponse:
            order.append(name)
            return BoltResponse(status=200)

        return next_

    middleware = AnswerOnce(FirstIsSlow())
    await asyncio.gather(
        middleware.async_process(
            req=request("Ev1", "1.0"), resp=BoltResponse(status=200), next=next_for("question")
        ),
        middleware.async_process(
            req=request("Ev2", "2.0"), resp=BoltResponse(status=200), next=next_for("follow-up")
        ),
    )
    assert order == ["question", "follow-up"]
