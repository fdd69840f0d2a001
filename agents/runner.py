"""Conversation runner: one conversation per id (a front end's thread or session), with memory.

Questions in one conversation run in order (a lock per id); different conversations run concurrently.
Memory lives behind `SessionStore` (agents/state/sessions.py), so replicas can share it.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
import weakref
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

from agents.coordinator import Assistant
from agents.events import (
    COORDINATOR,
    AgentEvent,
    ApprovalRequired,
    ErrorEvent,
    FailureNote,
    FinalAnswer,
    TextDelta,
    ToolFinished,
)
from agents.failures import describe_failure, note_markdown, specialist_failures, tool_failure_note
from agents.gate.write_gate import APPROVAL_INTERRUPT, request_context
from agents.metrics import ANSWER, ERRORS, QUESTIONS
from agents.state.sessions import SessionStore
from agents.stream import translate

logger = logging.getLogger(__name__)


def new_correlation_id() -> str:
    return uuid.uuid4().hex[:10]


class ConversationRunner:
    """Runs questions through a fresh coordinator Agent per request, streaming typed events."""

    def __init__(self, assistant: Assistant, sessions: SessionStore | None) -> None:
        self.assistant = assistant
        self.sessions = sessions
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def _lock(self, conversation_id: str) -> asyncio.Lock:
        lock = self._locks.get(conversation_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[conversation_id] = lock
        return lock

    async def ask(
        self,
        question: str,
        conversation_id: str | None = None,
        correlation_id: str | None = None,
        user: str | None = None,
    ) -> AsyncIterator[AgentEvent]:
        """Answer `question`, yielding text deltas, tool steps, and a FinalAnswer or an ErrorEvent."""
        correlation_id = correlation_id or new_correlation_id()
        key = conversation_id or f"oneshot-{correlation_id}"
        lock = self._lock(key)  # held in a local: the weak dict keeps it only while someone uses it
        async with lock:
            QUESTIONS.inc()
            self.assistant.audit.write(
                "question",
                conversation_id=key,
                user=user,
                correlation_id=correlation_id,
                question=question[:2000],
            )
            async for event in self._run(question, conversation_id, correlation_id, user):
                yield event

    async def paused_on(self, conversation_id: str) -> set[str]:
        """The interrupt ids a conversation is paused on (empty when it is not paused)."""
        if self.sessions is None:
            return set()
        sessions = self.sessions

        def load() -> set[str]:
            return _paused_on(self.assistant.build_agent(session_manager=sessions.manager(conversation_id)))

        async with self._lock(conversation_id):
            return await asyncio.to_thread(load)

    async def resume(
        self,
        conversation_id: str,
        responses: dict[str, Any],
        correlation_id: str | None = None,
        user: str | None = None,
    ) -> AsyncIterator[AgentEvent]:
        """Continue a paused answer with the decisions on its approvals (interrupt id → response)."""
        correlation_id = correlation_id or new_correlation_id()
        blocks = [{"interruptResponse": {"interruptId": i, "response": r}} for i, r in responses.items()]
        async with self._lock(conversation_id):
            async for event in self._run(blocks, conversation_id, correlation_id, user):
                yield event

    async def _run(
        self, prompt: Any, conversation_id: str | None, correlation_id: str, user: str | None
    ) -> AsyncIterator[AgentEvent]:
        names: dict[str, str] = {}
        started = time.monotonic()
        token = request_context.set(
            {
                # one-shot questions (the terminal) are keyed like their "question" audit record
                "conversation_id": conversation_id or f"oneshot-{correlation_id}",
                "correlation_id": correlation_id,
                "user": user,
            }
        )
        failures: list[BaseException] = []
        failures_token = specialist_failures.set(failures)
        try:
            manager = (
                self.sessions.manager(conversation_id)
                if self.sessions is not None and conversation_id
                else None
            )
            agent = self.assistant.build_agent(session_manager=manager)
            if not isinstance(prompt, str):  # a resume: its steps finish calls started in an earlier run
                names.update(_tool_names(agent.messages, prompt))
            if isinstance(prompt, str) and _paused_on(agent):
                # The conversation is paused on an approval: a new question cannot run until it is
                # decided (and the change shown on the card must stay exactly what runs).
                yield ErrorEvent(
                    "approval_pending",
                    "A change in this conversation is waiting for a decision on its approval card.",
                    "",
                    correlation_id,
                    action="Approve or deny it (or let it expire), then ask again.",
                )
                return
            result: Any = None
            text = ""
            turn_ended = False
            notes: dict[str, FailureNote] = {}
            async for raw in agent.stream_async(prompt):
                if "result" in raw:
                    result = raw["result"]
                    continue
                if isinstance(raw.get("message"), dict) and raw["message"].get("role") == "assistant":
                    turn_ended = True
                for event in translate(raw, names=names):
                    if isinstance(event, ToolFinished) and event.failure:
                        logger.warning(
                            "tool failed [correlation_id=%s] %s %s (%s): %s",
                            correlation_id,
                            event.agent,
                            event.tool,
                            event.failure,
                            event.detail,
                        )
                        note = tool_failure_note(event.failure, event.agent, event.tool, event.detail)
                        if note is not None:
                            notes[_note_key(event)] = note
                    elif isinstance(event, ToolFinished) and event.ok:
                        notes.pop(_note_key(event), None)  # it worked on a later try: no note
                    if isinstance(event, TextDelta) and event.agent == COORDINATOR:
                        if turn_ended and text and not text.endswith("\n\n"):
                            # A new model turn after tools: keep it a paragraph apart, in the stream too.
                            separator = "\n\n" if not text.endswith("\n") else "\n"
                            text += separator
                            yield TextDelta(separator, COORDINATOR)
                        turn_ended = False
                        text += event.text
                    yield event
            if result is not None and getattr(result, "stop_reason", None) == "interrupt":
                for interrupt in result.interrupts or []:
                    reason = interrupt.reason if isinstance(interrupt.reason, dict) else {}
                    if interrupt.name != APPROVAL_INTERRUPT or not reason:
                        continue
                    yield ApprovalRequired(
                        interrupt.id,
                        str(reason.get("agent", "")),
                        str(reason["tool"]),
                        dict(reason["arguments"]),
                        str(reason["hash"]),
                        str(reason["summary"]),
                        str(reason.get("tool_use_id", "")),
                    )
                yield FinalAnswer(text.strip(), paused=True)
                return
            if failures:
                raise failures[-1]
            # The answer is everything the coordinator said, as streamed (a preamble before a tool call
            # included), so the message that grew in place is the final message.
            final = text.strip() or (str(result).strip() if result is not None else "")
            # what failed and what to do, whatever the model made of it; front ends also get them apart
            found = tuple(replace(n, correlation_id=correlation_id) for n in dict.fromkeys(notes.values()))
            for note in found:
                final += note_markdown(note)
            yield FinalAnswer(final.strip() or "(no answer)", notes=found)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.exception("answer failed [correlation_id=%s]", correlation_id)
            failure: ErrorEvent = describe_failure(exc, correlation_id, self.assistant.settings)
            ERRORS.labels(failure.kind).inc()
            yield failure
        finally:
            ANSWER.observe(time.monotonic() - started)
            request_context.reset(token)
            specialist_failures.reset(failures_token)


def _paused_on(agent: Any) -> set[str]:
    """The interrupt ids an agent restored from its session is paused on (empty when it is not)."""
    state = agent._interrupt_state
    return set(state.interrupts) if state.activated else set()


def _tool_names(messages: Any, blocks: Any) -> dict[str, str]:
    """toolUseId → tool name from the conversation so far and from approval responses (nested calls)."""
    names: dict[str, str] = {}
    for message in messages or []:
        for block in message.get("content", []) or []:
            if isinstance(block, dict) and "toolUse" in block:
                names[block["toolUse"]["toolUseId"]] = block["toolUse"]["name"]
    for block in blocks or []:
        response = (block.get("interruptResponse") or {}).get("response") if isinstance(block, dict) else None
        if isinstance(response, dict) and response.get("tool_use_id") and response.get("tool"):
            names[str(response["tool_use_id"])] = str(response["tool"])
    return names


def _note_key(event: ToolFinished) -> str:
    """Whose failure a note is about: a specialist's cluster or account, or a specialist itself."""
    return f"{COORDINATOR}:{event.tool}" if event.agent == COORDINATOR else event.agent
