"""A replica killed mid-answer: a survivor ends the reply it left growing, once, and leaves live ones alone.

The record of replies in flight (agents/state/replies.py) on both backends, then slackbot/recovery.py on a
fake Slack: the dead replica's native stream is stopped and a note says to ask again; a second survivor
sweeping at the same time ends nothing twice; a replica still beating keeps its replies.
"""

from __future__ import annotations

import asyncio
from typing import Any

from agents.state.leases import ThreadLeases
from agents.state.replies import OpenReplies, SqliteOpenReplies
from slackbot import recovery as recovery_module
from slackbot.client import web_client
from slackbot.config import SlackSettings
from slackbot.rate_budget import RateBudget
from slackbot.recovery import STOPPED, Recovery, reply_place
from slackbot.replies import NativeStreamReply, ReplyTarget, UpdateReply
from tests.fakes.slack_api import BOT_TOKEN, BOT_USER, FakeSlack
from tests.state_backends import Backend, Clock, race

PLACE = {"channel": "C1", "thread_ts": "1.0", "ts": "2.0", "kind": "update"}


def open_replies(backend: Backend) -> OpenReplies:
    if backend.kind == "local":
        return SqliteOpenReplies(backend.root / "approvals.sqlite3")
    from agents.state.aws.replies import DynamoOpenReplies

    return DynamoOpenReplies(backend._table())


def test_replies_in_flight_are_recorded_forgotten_and_taken_once(backend: Backend) -> None:
    replica_a, replica_b = open_replies(backend), open_replies(backend)  # two replicas, one record
    replica_a.open("C1:2.0", "a", PLACE)
    replica_a.open("C2:3.0", "a", {**PLACE, "channel": "C2", "ts": "3.0"})
    assert [(r.id, r.owner, r.place) for r in replica_b.all()] == [
        ("C1:2.0", "a", PLACE),
        ("C2:3.0", "a", {**PLACE, "channel": "C2", "ts": "3.0"}),
    ]
    replica_a.close("C2:3.0")
    assert [r.id for r in replica_b.all()] == ["C1:2.0"]
    assert not replica_b.take("C1:2.0", "b")  # only as the owner it was recorded under
    stores = [open_replies(backend) for _ in range(8)]
    won = race(8, lambda i: stores[i].take("C1:2.0", "a"))
    assert won.count(True) == 1 and replica_a.all() == []


async def started_reply(slack: FakeSlack, budget: RateBudget, kind: str, thread_ts: str) -> Any:
    client = web_client(SlackSettings(slack_bot_token=BOT_TOKEN, slack_api_url=slack.api_url), budget)
    target = ReplyTarget("C1", thread_ts, "U1", "T1")
    reply = (NativeStreamReply if kind == "stream" else UpdateReply)(client, budget, target)
    await reply.start()
    await reply.show("the first words of an answer that never ends", [])
    return reply, target, client


async def test_a_survivor_ends_the_dead_replicas_replies_once_and_leaves_the_living_ones(
    backend: Backend,
) -> None:
    clock = Clock()
    leases: list[ThreadLeases] = [backend.leases(clock) for _ in range(3)]
    records = [open_replies(backend) for _ in range(3)]
    with FakeSlack() as slack:
        budget = RateBudget(tiers={})
        streamed, target_1, client = await started_reply(slack, budget, "stream", "1.0")
        placeholder, target_2, _ = await started_reply(slack, budget, "update", "5.0")
        living, target_3, _ = await started_reply(slack, budget, "update", "9.0")
        dead = Recovery(records[0], leases[0], client, budget, "replica-dead")
        alive = Recovery(records[1], leases[1], client, budget, "replica-alive")
        survivors = [alive, Recovery(records[2], leases[2], client, budget, "replica-c")]
        for recovery, reply, target in (
            (dead, streamed, target_1),
            (dead, placeholder, target_2),
            (alive, living, target_3),
        ):
            place = reply_place(reply, target)
            assert place is not None
            await asyncio.to_thread(
                recovery.replies.open, f"{place['channel']}:{place['ts']}", recovery.owner, place
            )
        await dead.beat()
        await alive.beat()
        assert [await s.sweep_once() for s in survivors] == [0, 0]  # everyone alive: nothing ended
        clock.now += recovery_module.ALIVE_SECONDS + 1  # the dead replica stopped beating (kill -9)
        await alive.beat()
        ended = await asyncio.gather(*(s.sweep_once() for s in survivors))
        assert sorted(ended) == [0, 2]  # the dead one's two replies, by one survivor
        stream = slack.messages[("C1", streamed.ts)]
        assert not stream.streaming  # stopped, no longer shown as still being written
        for thread_ts in ("1.0", "5.0"):
            notes = [m for m in slack.thread("C1", thread_ts) if m.user == BOT_USER and STOPPED in m.text]
            assert len(notes) == 1, thread_ts
        assert not [m for m in slack.thread("C1", "9.0") if STOPPED in m.text]  # the living one's reply
        assert [r.owner for r in records[2].all()] == ["replica-alive"]
        assert [await s.sweep_once() for s in survivors] == [0, 0]  # nothing twice
