"""A scripted Strands model: the model edge faked, everything else (Agent, tools, MCP) real.

A `Brain` looks at a neutral view of the request (`Turn`) and returns what the model "says": text, or
tool calls. The same brains drive `ScriptedModel` in-process and the OpenAI-compatible fake server, so a
test can choose between the in-process path and the real OpenAI provider over HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from strands.models import Model
from strands.types.content import Messages
from strands.types.streaming import StreamEvent
from strands.types.tools import ToolSpec

FENCE_RE = re.compile(r'<untrusted-data source="[^"]*">\n?(.*?)\n?</untrusted-data>', re.S)


@dataclass(frozen=True)
class ToolCall:
    name: str
    input: dict[str, Any]


@dataclass(frozen=True)
class Say:
    """Text, then tool calls, in one model turn (models often say what they will do first)."""

    text: str
    then: ToolCall | list[ToolCall]


Reply = str | ToolCall | list[ToolCall] | Say


@dataclass
class Turn:
    """What a brain sees: the system prompt, offered tools, the latest user text and results since."""

    system: str
    tools: list[str]
    user_text: str
    tool_results: list[str]
    history: list[str] = field(default_factory=list)  # earlier user texts in this conversation

    def unfenced_results(self) -> list[str]:
        return [(m.group(1) if (m := FENCE_RE.search(r)) else r) for r in self.tool_results]


Brain = Callable[[Turn], Reply]


def turn_from_messages(messages: Messages, tool_specs: list[ToolSpec] | None, system: str | None) -> Turn:
    """Neutral view of a Strands request: results after the latest plain user text count as 'since'."""
    user_texts: list[str] = []
    results: list[str] = []
    for message in messages:
        content = message.get("content", [])
        if message.get("role") == "user":
            texts = [b["text"] for b in content if "text" in b]
            tool_results = [b["toolResult"] for b in content if "toolResult" in b]
            if texts and not tool_results:
                user_texts.append("\n".join(texts))
                results = []
            for tr in tool_results:
                results.append(
                    "\n".join(str(c.get("text", json.dumps(c.get("json")))) for c in tr.get("content", []))
                )
    return Turn(
        system=system or "",
        tools=[t["name"] for t in tool_specs or []],
        user_text=user_texts[-1] if user_texts else "",
        tool_results=results,
        history=user_texts[:-1],
    )


def sequence(*replies: Reply) -> Brain:
    """A brain that says the given replies in order, whatever it is asked (the last one repeats)."""
    it = iter(replies)
    last: list[Reply] = [replies[-1]]

    def brain(_turn: Turn) -> Reply:
        with contextlib.suppress(StopIteration):
            last[0] = next(it)
        return last[0]

    return brain


_ids = itertools.count(1)


def chunks(text: str, size: int) -> Iterable[str]:
    for i in range(0, len(text), size):
        yield text[i : i + size]


class ScriptedModel(Model):
    """A Strands Model whose answers come from a brain; streams text in small chunks like a real one.

    `delay` seconds pass between chunks (0 for a zero-latency model in benchmarks); every request is
    recorded in `requests` (tool names offered, system prompt, messages) for assertions.
    """

    def __init__(self, brain: Brain, *, chunk_size: int = 12, delay: float = 0.0) -> None:
        self.brain = brain
        self.chunk_size = chunk_size
        self.delay = delay
        self.requests: list[Turn] = []
        self.times: list[float] = []  # time.monotonic() of each request
        self.finished: list[float] = []  # time.monotonic() each answer's last event was ready
        self.config: dict[str, Any] = {"model_id": "scripted"}

    def update_config(self, **model_config: Any) -> None:
        self.config.update(model_config)

    def get_config(self) -> Any:
        return self.config

    def structured_output(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover - unused
        raise NotImplementedError("scripted model has no structured output")

    async def stream(  # type: ignore[override]
        self,
        messages: Messages,
        tool_specs: list[ToolSpec] | None = None,
        system_prompt: str | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[StreamEvent]:
        turn = turn_from_messages(messages, tool_specs, system_prompt)
        self.requests.append(turn)
        self.times.append(time.monotonic())
        reply = self.brain(turn)
        yield {"messageStart": {"role": "assistant"}}
        if isinstance(reply, str):
            for piece in chunks(reply, self.chunk_size):
                if self.delay:
                    await asyncio.sleep(self.delay)
                yield {"contentBlockDelta": {"delta": {"text": piece}}}
            yield {"contentBlockStop": {}}
            stop = "end_turn"
        else:
            if isinstance(reply, Say):
                for piece in chunks(reply.text, self.chunk_size):
                    if self.delay:
                        await asyncio.sleep(self.delay)
                    yield {"contentBlockDelta": {"delta": {"text": piece}}}
                yield {"contentBlockStop": {}}
                reply = reply.then
            calls = reply if isinstance(reply, list) else [reply]
            for call in calls:
                if self.delay:
                    await asyncio.sleep(self.delay)
                tool_use_id = f"tooluse_{next(_ids)}"
                yield {
                    "contentBlockStart": {"start": {"toolUse": {"name": call.name, "toolUseId": tool_use_id}}}
                }
                yield {"contentBlockDelta": {"delta": {"toolUse": {"input": json.dumps(call.input)}}}}
                yield {"contentBlockStop": {}}
            stop = "tool_use"
        yield {"messageStop": {"stopReason": stop}}  # type: ignore[typeddict-item]
        self.finished.append(time.monotonic())
        yield {
            "metadata": {
                "usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2},
                "metrics": {"latencyMs": 0},
            }
        }


class ScriptedModels:
    """A model factory for `Assistant(models=...)`: one ScriptedModel per agent role."""

    def __init__(self, brains: dict[str, Brain], *, delay: float = 0.0, chunk_size: int = 12) -> None:
        self.models = {
            role: ScriptedModel(b, delay=delay, chunk_size=chunk_size) for role, b in brains.items()
        }

    def __call__(self, role: str) -> Model:
        return self.models[role]
