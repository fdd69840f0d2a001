"""The counters move by what happened: one tool call, one refusal, one error, one first reply.

Printing a metric's name proves nothing (counters print at zero); these read the values before and
after one known event and assert the exact difference.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from strands.types.exceptions import ModelThrottledException

from agents.coordinator import Assistant
from agents.events import ErrorEvent
from agents.metrics import REGISTRY
from agents.runner import ConversationRunner
from agents.settings import load_settings
from tests.fakes.brains import default_brains
from tests.fakes.scripted_model import ScriptedModels, ToolCall, Turn
from tests.fakes.slack_api import BOT_USER
from tests.slack_harness import running_bot


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def assistant_for(agent_env: Path) -> Iterator[list[Assistant]]:
    made: list[Assistant] = []
    yield made
    for assistant in made:
        assistant.close()


async def ask(assistant: Assistant, question: str) -> list[object]:
    return [e async for e in ConversationRunner(assistant, None).ask(question)]


async def test_each_tool_call_is_counted_by_tool_and_outcome(assistant_for: list[Assistant]) -> None:
    assistant = Assistant(load_settings(), models=ScriptedModels(default_brains()))
    assistant_for.append(assistant)
    # the fleet of one (no CLUSTERS_FILE) is the kubeconfig's current context; a specialist is about none
    pods = {"tool": "list_k8s_resources", "outcome": "success", "cluster": "fake-k3s"}
    asked = {"tool": "eks_assistant", "outcome": "success", "cluster": "(none)"}
    listed = value("sre_bot_tool_calls_total", **pods)
    delegated = value("sre_bot_tool_calls_total", **asked)
    await ask(assistant, "list the pods in default")
    assert value("sre_bot_tool_calls_total", **pods) == listed + 1
    assert value("sre_bot_tool_calls_total", **asked) == delegated + 1


async def test_a_refused_call_is_counted_as_refused(assistant_for: list[Assistant]) -> None:
    def walker(turn: Turn) -> ToolCall | str:
        if turn.tool_results:
            return "done"
        return ToolCall(
            "list_k8s_resources",
            {"cluster_name": "fake-k3s", "kind": "Secret", "api_version": "v1", "namespace": "x/../default"},
        )

    assistant = Assistant(
        load_settings(), models=ScriptedModels({**default_brains(), "eks_assistant": walker})
    )
    assistant_for.append(assistant)
    refused = {"tool": "list_k8s_resources", "outcome": "refused", "cluster": "fake-k3s"}
    before = value("sre_bot_tool_calls_total", **refused)
    await ask(assistant, "show the secrets in the cluster")
    assert value("sre_bot_tool_calls_total", **refused) == before + 1


async def test_an_answer_that_ends_in_an_error_is_counted_by_kind(
    assistant_for: list[Assistant], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODEL_MAX_WAIT_SECONDS", "1")

    def throttled(turn: Turn) -> str:
        raise ModelThrottledException("ThrottlingException: Too many requests")

    assistant = Assistant(
        load_settings(), models=ScriptedModels({**default_brains(), "coordinator": throttled})
    )
    assistant_for.append(assistant)
    # the fleet of one (no CLUSTERS_FILE): every request is about the kubeconfig's current context
    throttled_here = {"kind": "model_throttled", "cluster": "fake-k3s"}
    before = value("sre_bot_errors_total", **throttled_here)
    events = await ask(assistant, "hello")
    assert [e.kind for e in events if isinstance(e, ErrorEvent)] == ["model_throttled"]
    assert value("sre_bot_errors_total", **throttled_here) == before + 1


async def test_an_error_before_the_requests_clusters_are_known_is_counted_under_none(
    assistant_for: list[Assistant], monkeypatch: pytest.MonkeyPatch
) -> None:
    assistant = Assistant(load_settings(), models=ScriptedModels(default_brains()))
    assistant_for.append(assistant)

    def broken(**_: object) -> None:
        raise RuntimeError("no agent today")

    monkeypatch.setattr(assistant, "build_agent", broken)
    nowhere = {"kind": "internal", "cluster": "(none)"}
    default = {"kind": "internal", "cluster": "fake-k3s"}  # the fleet of one's: not known yet here
    before, before_default = (
        value("sre_bot_errors_total", **nowhere),
        value("sre_bot_errors_total", **default),
    )
    events = await ask(assistant, "hello")
    assert [e.kind for e in events if isinstance(e, ErrorEvent)] == ["internal"]
    assert value("sre_bot_errors_total", **nowhere) == before + 1
    assert value("sre_bot_errors_total", **default) == before_default


async def test_a_cluster_flag_the_fleet_of_one_does_not_have_is_counted_under_none(
    assistant_for: list[Assistant],
) -> None:
    """The asker's unknown name is an error without a model call, and never a metric label."""
    models = ScriptedModels(default_brains())
    assistant = Assistant(load_settings(), models=models)
    assistant_for.append(assistant)
    unknown = {"kind": "unknown_cluster", "cluster": "(none)"}
    before = value("sre_bot_errors_total", **unknown)
    events = [
        e async for e in ConversationRunner(assistant, None).ask("list the pods", flag_clusters=["prod"])
    ]
    [error] = [e for e in events if isinstance(e, ErrorEvent)]
    assert error.kind == "unknown_cluster" and "Known clusters: fake-k3s (default)." in error.message
    assert models.models["coordinator"].requests == []
    assert value("sre_bot_errors_total", **unknown) == before + 1
    assert value("sre_bot_errors_total", kind="unknown_cluster", cluster="prod") == 0.0


async def test_the_first_visible_reply_is_timed_once_per_question(agent_env: Path, tmp_path: Path) -> None:
    before = value("sre_bot_first_reply_seconds_count")
    async with running_bot(ScriptedModels(default_brains()), tmp_path) as h:
        event = h.slack.mention("list the pods in default")
        await asyncio.to_thread(h.slack.send_event, event)
        replies = await h.final_reply("C1", event["ts"])
    assert replies and replies[0].user == BOT_USER
    assert value("sre_bot_first_reply_seconds_count") == before + 1
