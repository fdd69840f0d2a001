"""One replica answers in a thread at a time: two runners (two replicas) on one lease store and one
conversation memory. The second waits for the first's turn, then reads the thread as the first left it;
past its bound it is told the thread is busy; a dead replica's lease lapses by itself; a long turn keeps
its lease by renewing it. Each runs on both state backends (in-process leases, DynamoDB on moto)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agents import runner as runner_module
from agents.coordinator import Assistant
from agents.events import AgentEvent, ErrorEvent, FinalAnswer
from agents.runner import ConversationRunner
from agents.settings import load_settings
from agents.state.leases import ThreadLeases
from agents.state.sessions import FileSessionStore
from tests.fakes.brains import coordinator, default_brains
from tests.fakes.scripted_model import ScriptedModels
from tests.slack_harness import HeldModel, wait_until

THREAD = "T1:C1:1700000000.000100"
KEY = f"thread:{THREAD}"


class CountingLeases:
    """The store as a replica sees it, counting the acquires that failed (a waiter had its chance)."""

    def __init__(self, inner: ThreadLeases) -> None:
        self.inner = inner
        self.refused = 0

    def acquire(self, key: str, owner: str, ttl: float) -> bool:
        won = self.inner.acquire(key, owner, ttl)
        self.refused += not won
        return won

    def renew(self, key: str, owner: str, ttl: float) -> bool:
        return self.inner.renew(key, owner, ttl)

    def release(self, key: str, owner: str) -> bool:
        return self.inner.release(key, owner)


@pytest.fixture
def held() -> HeldModel:
    return HeldModel(coordinator)


@pytest.fixture
def assistant(agent_env: Path, held: HeldModel) -> Any:
    models = ScriptedModels(default_brains())
    models.models["coordinator"] = held
    assistant = Assistant(load_settings(), models=models)
    yield assistant
    held.release()  # a failed test leaves no turn waiting for the model forever
    assistant.close()


def replicas(assistant: Assistant, leases: Callable[[], ThreadLeases], **kwargs: Any) -> tuple[Any, ...]:
    sessions = FileSessionStore(load_settings().session_storage_path)  # shared memory (S3 in production)
    first = ConversationRunner(assistant, sessions, CountingLeases(leases()), owner="replica-a")
    second = ConversationRunner(assistant, sessions, CountingLeases(leases()), owner="replica-b", **kwargs)
    return first, second


async def events(runner: ConversationRunner, question: str) -> list[AgentEvent]:
    return [e async for e in runner.ask(question, THREAD)]


async def test_a_second_replica_waits_for_the_thread_then_reads_it_as_the_first_left_it(
    backend: Any, assistant: Assistant, held: HeldModel
) -> None:
    first, second = replicas(assistant, lambda: backend.leases(time.time))
    answering = asyncio.create_task(events(first, "hello"))
    await wait_until(held.asked.is_set, "the first replica's turn is with the model")
    waiting = asyncio.create_task(events(second, "and what about its events?"))
    await wait_until(lambda: second.leases.refused >= 2, "the second replica tried the lease", within=20)
    held.release()
    one, two = await answering, await waiting
    assert any(isinstance(e, FinalAnswer) for e in one) and any(isinstance(e, FinalAnswer) for e in two)
    # the second turn started after the first was saved: run beside it, it would not know it
    assert "hello" in held.requests[1].history
    assert backend.leases(time.time).acquire(KEY, "replica-c", 30)  # both let the thread go


async def test_past_its_bound_the_question_is_told_the_thread_is_busy(
    backend: Any, assistant: Assistant, held: HeldModel
) -> None:
    first, second = replicas(assistant, lambda: backend.leases(time.time), lease_wait=0.3)
    answering = asyncio.create_task(events(first, "hello"))
    await wait_until(held.asked.is_set, "the first replica's turn is with the model")
    busy = await events(second, "hello again")
    held.release()
    await answering
    [error] = busy
    assert isinstance(error, ErrorEvent) and error.kind == "thread_busy"
    assert "Still working on the previous question" in error.message and error.correlation_id
    assert len(held.requests) == 1  # the busy question never reached the model


async def test_a_dead_replicas_lease_lapses_and_the_next_question_is_answered(
    backend: Any, assistant: Assistant, held: HeldModel
) -> None:
    clock = [time.time()]
    leases = backend.leases(lambda: clock[0])
    assert leases.acquire(KEY, "replica-killed", runner_module.LEASE_SECONDS)  # then kill -9: never renewed
    _, second = replicas(assistant, lambda: backend.leases(lambda: clock[0]))
    held.release()
    answering = asyncio.create_task(events(second, "hello"))
    await wait_until(lambda: second.leases.refused >= 1, "the thread is still the dead replica's", within=20)
    assert not answering.done()
    clock[0] += runner_module.LEASE_SECONDS + 1
    assert any(isinstance(e, FinalAnswer) for e in await answering)


async def test_a_long_turn_keeps_its_lease_by_renewing_it(
    backend: Any, assistant: Assistant, held: HeldModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner_module, "LEASE_SECONDS", 1.0)
    monkeypatch.setattr(runner_module, "RENEW_SECONDS", 0.2)
    first, second = replicas(assistant, lambda: backend.leases(time.time), lease_wait=2.5)
    answering = asyncio.create_task(events(first, "hello"))
    await wait_until(held.asked.is_set, "the first replica's turn is with the model")
    busy = await events(second, "hello again")  # 2.5 s of trying: 2.5 lease lengths
    held.release()
    await answering
    assert [e.kind for e in busy if isinstance(e, ErrorEvent)] == ["thread_busy"]


async def test_exclusive_says_at_once_whether_another_replica_is_answering_in_the_thread(
    backend: Any, assistant: Assistant, held: HeldModel
) -> None:
    """What restart recovery asks before it judges a turn: never waits, never holds a busy thread."""
    first, second = replicas(assistant, lambda: backend.leases(time.time))
    answering = asyncio.create_task(events(first, "hello"))
    await wait_until(held.asked.is_set, "the first replica's turn is with the model")
    async with second.exclusive(THREAD) as free:
        assert not free
    held.release()
    await answering
    async with second.exclusive(THREAD) as free:
        assert free
        assert not backend.leases(time.time).acquire(KEY, "replica-c", 30)  # held meanwhile
    assert backend.leases(time.time).acquire(KEY, "replica-c", 30)  # and let go after
