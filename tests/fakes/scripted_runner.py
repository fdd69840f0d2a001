"""A stand-in for `agents.runner.ConversationRunner` when the agents are not the subject of a test.

It answers each question from a script of AgentEvents (an exception in the script is raised there), records
what it was asked and when each answer started and ended, and can hold an answer until the test lets it go,
so "while this answer is running" is a fact a test sets up, not a matter of timing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

from agents.events import AgentEvent, FinalAnswer


class ScriptedRunner:
    def __init__(self) -> None:
        self.scripts: dict[str, list[AgentEvent | Exception]] = {}
        self.holds: dict[str, asyncio.Event] = {}  # question → the answer starts only once this is set
        self.paused: dict[str, set[str]] = {}
        self.asked: list[str] = []
        self.flagged: list[tuple[str, ...]] = []  # the clusters given apart from each question
        self.log: list[str] = []  # "start:<question>" / "end:<question>", in the order they happened
        self.resumed: list[tuple[str, dict[str, Any]]] = []
        self._asked_events: dict[str, asyncio.Event] = {}
        self.thread_clusters: dict[str, str] = {}  # conversation id → the cluster set for it

    def when_asked(self, question: str) -> asyncio.Event:
        """Set once `question` reaches the runner."""
        return self._asked_events.setdefault(question, asyncio.Event())

    def hold(self, question: str) -> asyncio.Event:
        """Hold the answer to `question` until the returned event is set."""
        return self.holds.setdefault(question, asyncio.Event())

    async def ask(
        self,
        question: str,
        conversation_id: str | None = None,
        correlation_id: str | None = None,
        user: str | None = None,
        *,
        place_cluster: str | None = None,
        flag_clusters: Sequence[str] = (),
    ) -> AsyncIterator[AgentEvent]:
        self.asked.append(question)
        self.flagged.append(tuple(flag_clusters))
        self.log.append(f"start:{question}")
        self.when_asked(question).set()
        if question in self.holds:
            await self.holds[question].wait()
        for item in self.scripts.get(question, [FinalAnswer(f"Answer to {question}")]):
            if isinstance(item, Exception):
                raise item
            yield item
        self.log.append(f"end:{question}")

    async def resume(
        self,
        conversation_id: str,
        responses: dict[str, Any],
        correlation_id: str | None = None,
        user: str | None = None,
    ) -> AsyncIterator[AgentEvent]:
        self.resumed.append((conversation_id, responses))
        yield FinalAnswer("Resumed")

    async def set_thread_cluster(self, conversation_id: str, cluster: str) -> None:
        self.thread_clusters[conversation_id] = cluster

    async def paused_on(self, conversation_id: str) -> set[str]:
        return set(self.paused.get(conversation_id, set()))
