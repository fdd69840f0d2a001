"""The scripted model of `sre-bot eval --scripted` (what CI runs): it follows each case's expected tool
path and answers only with what the tools returned.

It measures no model. It keeps the harness, the cases and the offline cluster honest: the coordinator
asks the script's specialists, each makes the script's calls through the real MCP servers and the write
gate, and answers with the parts of its tool results that match the step's `quote` regexes. So a case
whose expected finding is not in its own cluster state fails its checks, whatever its script says.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import AsyncIterator
from typing import Any

from strands.models import Model
from strands.types.content import Messages
from strands.types.streaming import StreamEvent
from strands.types.tools import ToolSpec

from evals.cases import Case, Step
from evals.patterns import finditer
from evals.world import SINGLE

FENCE = re.compile(r"</?untrusted-data[^>]*>|\[fence tag removed\]( source=\"[^\"]*\">)?")
STEP = re.compile(r"\(eval step (\d+)\)")
_ids = itertools.count(1)


def _texts(messages: Messages) -> tuple[str, list[str]]:
    """The latest plain user text, and the tool results since it (as text)."""
    user, results = "", list[str]()
    for message in messages:
        if message.get("role") != "user":
            continue
        blocks = message.get("content", [])
        tool_results = [b["toolResult"] for b in blocks if "toolResult" in b]
        texts = [b["text"] for b in blocks if "text" in b]
        if texts and not tool_results:
            user, results = "\n".join(texts), []
        for result in tool_results:
            results.append(
                "\n".join(str(c.get("text", json.dumps(c.get("json")))) for c in result.get("content", []))
            )
    return user, results


def _chars(messages: Messages, system: str | None, tools: list[ToolSpec] | None) -> int:
    return len(json.dumps(messages, default=str)) + len(system or "") + len(json.dumps(tools or []))


def quoted(step: Step, results: list[str]) -> str:
    """The step's answer: every match of its quote regexes in the tool results, in order, once each."""
    found: list[str] = []
    for pattern in step.quote:
        for result in results:
            for match in finditer(pattern, FENCE.sub("", result), ignore_case=True):
                if match.group(0) not in found:
                    found.append(match.group(0))
    return "\n".join(f"- {f}" for f in found) if found else "(nothing in the tool results matched)"


class ScriptedEvalModel(Model):
    """One role's model ("coordinator" or a specialist) following `case`'s script (set per case)."""

    def __init__(self, role: str, script: ScriptHolder) -> None:
        self.role = role
        self.holder = script
        self.config: dict[str, Any] = {"model_id": "scripted"}

    def update_config(self, **model_config: Any) -> None:
        self.config.update(model_config)

    def get_config(self) -> Any:
        return self.config

    def structured_output(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover - never asked
        raise NotImplementedError("the scripted model has no structured output")

    async def stream(
        self,
        messages: Messages,
        tool_specs: list[ToolSpec] | None = None,
        system_prompt: str | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[StreamEvent]:
        user, results = _texts(messages)
        reply = self._reply(user, results)
        yield {"messageStart": {"role": "assistant"}}
        if isinstance(reply, str):
            yield {"contentBlockDelta": {"delta": {"text": reply}}}
            yield {"contentBlockStop": {}}
            stop, out = "end_turn", len(reply)
        else:
            name, arguments = reply
            start = {"toolUse": {"name": name, "toolUseId": f"eval_{next(_ids)}"}}
            yield {"contentBlockStart": {"start": start}}  # type: ignore[typeddict-item]
            yield {"contentBlockDelta": {"delta": {"toolUse": {"input": json.dumps(arguments)}}}}
            yield {"contentBlockStop": {}}
            stop, out = "tool_use", len(json.dumps(arguments))
        yield {"messageStop": {"stopReason": stop}}  # type: ignore[typeddict-item]
        # tokens estimated as characters / 4, so a case's budget check means something in CI too
        tokens_in, tokens_out = _chars(messages, system_prompt, tool_specs) // 4, max(1, out // 4)
        usage = {"inputTokens": tokens_in, "outputTokens": tokens_out, "totalTokens": tokens_in + tokens_out}
        yield {"metadata": {"usage": usage, "metrics": {"latencyMs": 0}}}  # type: ignore[typeddict-item]

    def _reply(self, user: str, results: list[str]) -> str | tuple[str, dict[str, Any]]:
        case = self.holder.case
        assert case is not None, "no case is running"
        if self.role == "coordinator":
            return coordinator_reply(case, user, results)
        match = STEP.search(user)
        step = (
            case.script[int(match.group(1))]
            if match
            else next(s for s in case.script if s.agent == self.role)
        )
        if len(results) < len(step.calls):
            call = step.calls[len(results)]
            args = dict(call.args)
            if step.agent == "eks_assistant":
                args.setdefault("cluster_name", step.cluster or self.holder.cluster)
            return call.tool, args
        return quoted(step, results)


def coordinator_reply(case: Case, user: str, results: list[str]) -> str | tuple[str, dict[str, Any]]:
    """Ask each step's specialist in turn; then relay what they answered, nothing of its own."""
    if len(results) < len(case.script):
        index = len(results)
        step = case.script[index]
        args: dict[str, Any] = {"query": f"{user[:2000]} (eval step {index})"}
        if step.cluster:
            args["cluster"] = step.cluster
        return step.agent, args
    # a fleet step's answer is labelled with the cluster the coordinator asked (its routing, not a finding)
    return "\n\n".join(
        (f"{step.cluster}:\n" if step.cluster else "") + FENCE.sub("", r).strip()
        for step, r in zip(case.script, results, strict=False)
    )


class ScriptHolder:
    """The case the scripted models follow now (one case runs at a time)."""

    def __init__(self, cluster: str = SINGLE) -> None:
        self.case: Case | None = None
        self.cluster = cluster  # the single cluster's name: the offline world's, or the --live context


def scripted_models(holder: ScriptHolder) -> Any:
    """A model factory (role → model) for `build_core(models=...)`."""
    models: dict[str, ScriptedEvalModel] = {}

    def factory(role: str) -> Model:
        if role not in models:
            models[role] = ScriptedEvalModel(role, holder)
        return models[role]

    return factory
