"""One answer's stream: Strands' raw events in, the typed events a front end shows out.

Apart from the runner (which orders questions per conversation and owns sessions and metrics), so what
happens inside one answer can be tested by feeding it raw events: the coordinator's text with a paragraph
between model turns, failure notes only for failures no later try fixed, the approvals an interrupted
answer waits for, and the final answer.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from typing import Any

from agents.events import (
    COORDINATOR,
    AgentEvent,
    ApprovalRequired,
    ChartReady,
    FailureNote,
    FinalAnswer,
    TextDelta,
    ToolFinished,
)
from agents.failures import note_markdown, tool_failure_note
from agents.gate.write_gate import APPROVAL_INTERRUPT
from agents.stream import translate

logger = logging.getLogger(__name__)


async def answer_events(
    raw_events: AsyncIterator[dict[str, Any]],
    correlation_id: str,
    names: dict[str, str] | None = None,
    model_failures: list[BaseException] | None = None,
) -> AsyncIterator[AgentEvent]:
    """The typed events of one answer, ending with its FinalAnswer.

    `names` maps toolUseId → tool name (a resume finishes calls started earlier); `model_failures` are
    the specialists' model failures reported during the answer: the last one is raised at the end, so
    the answer ends with the error that caused it instead of the coordinator's improvisation.
    """
    answer = Answer(correlation_id, names)
    async for raw in raw_events:
        for event in answer.events(raw):
            yield event
    if not answer.paused and model_failures:
        raise model_failures[-1]
    for event in answer.ending():
        yield event


class Answer:
    """What one answer has said so far, as its raw events stream by."""

    def __init__(self, correlation_id: str, names: dict[str, str] | None = None) -> None:
        self.correlation_id = correlation_id
        self.names = {} if names is None else names
        self.text = ""  # everything the coordinator said, as streamed
        self.result: Any = None  # Strands' AgentResult, at the end
        self._turn_ended = False
        self._notes: dict[str, FailureNote] = {}
        self.chart: ChartReady | None = None  # the last range query's chart: one per answer, at its end

    @property
    def paused(self) -> bool:
        """Whether the answer stopped on an interrupt (approvals) rather than finished."""
        return getattr(self.result, "stop_reason", None) == "interrupt"

    def events(self, raw: dict[str, Any]) -> Iterator[AgentEvent]:
        """The typed events of one raw Strands event."""
        if "result" in raw:
            self.result = raw["result"]
            return
        if isinstance(raw.get("message"), dict) and raw["message"].get("role") == "assistant":
            self._turn_ended = True
        for event in translate(raw, names=self.names):
            if isinstance(event, ChartReady):
                self.chart = event  # held back: only the answer's last one is drawn, once it is complete
                continue
            if isinstance(event, ToolFinished):
                self._track(event)
            if isinstance(event, TextDelta) and event.agent == COORDINATOR:
                separator = self._separator()
                if separator:
                    yield TextDelta(separator, COORDINATOR)
                self.text += event.text
            yield event

    def _separator(self) -> str:
        """A new model turn after tools stays a paragraph apart, in the stream too."""
        ended, self._turn_ended = self._turn_ended, False
        if not ended or not self.text or self.text.endswith("\n\n"):
            return ""
        separator = "\n" if self.text.endswith("\n") else "\n\n"
        self.text += separator
        return separator

    def _track(self, event: ToolFinished) -> None:
        """Keep a note of a classified failure until the same source works on a later try."""
        if event.failure:
            logger.warning(
                "tool failed [correlation_id=%s] %s %s (%s): %s",
                self.correlation_id,
                event.agent,
                event.tool,
                event.failure,
                event.detail,
            )
            note = tool_failure_note(event.failure, event.agent, event.tool, event.detail)
            if note is not None:
                self._notes[_note_key(event)] = note
        elif event.ok:
            self._notes.pop(_note_key(event), None)  # it worked on a later try: no note

    def ending(self) -> Iterator[AgentEvent]:
        """The approvals a paused answer waits for and its text, or the final answer with its notes."""
        if self.paused:
            yield from self._approvals()
            yield FinalAnswer(self.text.strip(), paused=True)
            return
        # The answer is everything the coordinator said, as streamed (a preamble before a tool call
        # included), so the message that grew in place is the final message.
        final = self.text.strip() or (str(self.result).strip() if self.result is not None else "")
        # what failed and what to do, whatever the model made of it; front ends also get them apart
        found = tuple(
            replace(n, correlation_id=self.correlation_id) for n in dict.fromkeys(self._notes.values())
        )
        for note in found:
            final += note_markdown(note)
        if self.chart is not None:
            yield self.chart
        yield FinalAnswer(final.strip() or "(no answer)", notes=found)

    def _approvals(self) -> Iterator[ApprovalRequired]:
        """The write gate's approval interrupts in the result (other interrupts are not approvals)."""
        for interrupt in self.result.interrupts or []:
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
                str(reason.get("cluster") or ""),
            )


def _note_key(event: ToolFinished) -> str:
    """Whose failure a note is about: a specialist's cluster or account, or a specialist itself."""
    return f"{COORDINATOR}:{event.tool}" if event.agent == COORDINATOR else event.agent
