"""The conversation runner and one answer's stream, without Slack and without an MCP server process.

Real Strands agents (the coordinator and a specialist, with the real write gate) run on scripted models;
the specialist's MCP server is a stand-in answering in memory, so each test takes milliseconds and shows
one behaviour of the runner: questions of one conversation in order and of different ones alongside,
a paused conversation refusing new questions, paragraphs between model turns, failure notes only for
failures no later try fixed, and who asked reaching the audit of a call made inside a specialist.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from strands.models import Model
from strands.types.content import Messages
from strands.types.exceptions import ModelThrottledException
from strands.types.streaming import StreamEvent
from strands.types.tools import ToolResult, ToolSpec

from agents.capabilities import EKS
from agents.coordinator import Assistant
from agents.events import (
    COORDINATOR,
    AgentEvent,
    ApprovalRequired,
    ErrorEvent,
    FinalAnswer,
    TextDelta,
    ToolFinished,
)
from agents.runner import ConversationRunner
from agents.settings import load_settings
from agents.state.sessions import FileSessionStore
from agents.turn import Answer
from tests.fakes.audit import Audit
from tests.fakes.scripted_model import Brain, Reply, Say, ScriptedModel, ToolCall, Turn, turn_from_messages

LIST_PODS = {"kind": "Pod", "api_version": "v1", "namespace": "default"}
DELETE_WEB = {"operation": "delete", "kind": "Deployment", "api_version": "apps/v1", "name": "web"}
UNREACHABLE = "Max retries exceeded: Connection refused"


def spec(name: str, *properties: str) -> ToolSpec:
    return {
        "name": name,
        "description": f"{name} (a stand-in)",
        "inputSchema": {
            "json": {"type": "object", "properties": {p: {"type": "string"} for p in properties}}
        },
    }


class Server:
    """The EKS MCP server's place: two of its tools, answered in memory by `answer` (name, arguments)."""

    def __init__(self, answer: Callable[[str, dict[str, Any]], tuple[str, str]] | None = None) -> None:
        self.spec = SimpleNamespace(name="eks")
        self.name = self.kind = "eks"
        self.answer = answer or (lambda _name, _args: ("success", "pods: crashy-7f9c"))
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def tool_specs(self) -> dict[str, ToolSpec]:
        return {
            "list_k8s_resources": spec("list_k8s_resources", "kind", "api_version", "namespace"),
            "manage_k8s_resource": spec("manage_k8s_resource", "operation", "kind", "api_version", "name"),
        }

    def ensure_started(self) -> None:
        pass

    async def call(self, tool_use_id: str, name: str, arguments: dict[str, Any]) -> ToolResult:
        self.calls.append((name, arguments))
        status, text = self.answer(name, arguments)
        return ToolResult(toolUseId=tool_use_id, status=status, content=[{"text": text}])  # type: ignore[typeddict-item]


class Servers:
    def __init__(self, server: Server) -> None:
        self.servers = {"eks": server}

    def start_all(self) -> dict[str, str | None]:
        return {"eks": None}

    def start_reaper(self, idle_seconds: float) -> None:
        pass

    def close(self) -> None:
        pass


class Gated(ScriptedModel):
    """A scripted model that records each question it is asked and holds those in `hold` until released."""

    def __init__(self, brain: Brain) -> None:
        super().__init__(brain)
        self.seen: list[str] = []
        self.entered: dict[str, asyncio.Event] = {}
        self.hold: dict[str, asyncio.Event] = {}

    async def stream(  # type: ignore[override]
        self,
        messages: Messages,
        tool_specs: list[ToolSpec] | None = None,
        system_prompt: str | None = None,
        **kw: Any,
    ) -> AsyncIterator[StreamEvent]:
        question = turn_from_messages(messages, tool_specs, system_prompt).user_text
        self.seen.append(question)
        self.entered.setdefault(question, asyncio.Event()).set()
        if question in self.hold:
            await self.hold[question].wait()
        async for event in super().stream(messages, tool_specs, system_prompt, **kw):
            yield event


def coordinator(turn: Turn) -> Reply:
    """Asks the specialist about anything with "pods" or "delete" in it; answers the rest itself."""
    if turn.tool_results:
        return "\n".join(turn.unfenced_results())
    if "pods" in turn.user_text or "delete" in turn.user_text:
        return ToolCall("eks_assistant", {"query": turn.user_text})
    return f"answer to {turn.user_text}"


def specialist(turn: Turn) -> Reply:
    """Lists pods, or deletes deployment web; asks the cluster once more after a failed call."""
    results = turn.unfenced_results()
    if results and "Not executed" not in results[-1] and UNREACHABLE in results[-1] and len(results) == 1:
        return ToolCall("list_k8s_resources", LIST_PODS)  # a second try
    if results:
        return f"found: {results[-1]}"
    if "delete" in turn.user_text:
        return ToolCall("manage_k8s_resource", DELETE_WEB)
    return ToolCall("list_k8s_resources", LIST_PODS)


class World:
    """A runner over a real Assistant whose models are scripted and whose EKS server is `Server`."""

    def __init__(self, tmp_path: Path, server: Server | None = None, sessions: bool = False, **brains: Brain):
        self.server = server or Server()
        self.models: dict[str, Model] = {
            "coordinator": Gated(brains.get("coordinator", coordinator)),
            "eks_assistant": ScriptedModel(brains.get("eks_assistant", specialist)),
        }
        self.audit = Audit()
        self.assistant = Assistant(
            load_settings(),
            servers=Servers(self.server),  # type: ignore[arg-type]
            models=self.models.__getitem__,
            approvals_configured=True,
            audit=self.audit,
            capabilities=(EKS,),
        )
        store = FileSessionStore(tmp_path / "sessions") if sessions else None
        self.runner = ConversationRunner(self.assistant, store)

    @property
    def coordinator(self) -> Gated:
        model = self.models["coordinator"]
        assert isinstance(model, Gated)
        return model

    async def ask(self, question: str, conversation: str | None = None, **kw: Any) -> list[AgentEvent]:
        return [e async for e in self.runner.ask(question, conversation, **kw)]


def final(events: list[AgentEvent]) -> FinalAnswer:
    [answer] = [e for e in events if isinstance(e, FinalAnswer)]
    return answer


@pytest.fixture(autouse=True)
def settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODEL_PROVIDER", "openai")  # the models are scripted: nothing is called
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")  # the EKS server is a stand-in: nothing is called
    monkeypatch.setenv("DEFAULT_CLUSTER", "demo")


@pytest.fixture
def writes(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("EKS_MCP_ALLOW_WRITE", "true")
    yield


# --- order and concurrency --------------------------------------------------------------------------------


async def test_one_conversation_answers_in_order_while_another_answers_alongside(tmp_path: Path) -> None:
    world = World(tmp_path)
    model = world.coordinator
    model.hold["first"] = asyncio.Event()
    first = asyncio.create_task(world.ask("first", "A"))
    await model.entered.setdefault("first", asyncio.Event()).wait()
    second = asyncio.create_task(world.ask("second", "A"))
    other = asyncio.create_task(world.ask("other", "B"))

    # B is answered while A's first question still waits for its model: conversations run alongside.
    other_events = await asyncio.wait_for(other, 30)  # a guard against a hang, not a timing assertion
    assert final(other_events).text == "answer to other"
    assert not first.done()
    assert "second" not in model.seen  # A's second question waits for A's first

    model.hold["first"].set()
    first_events, second_events = await asyncio.gather(first, second)
    assert model.seen == ["first", "other", "second"]
    assert final(first_events).text == "answer to first" and final(second_events).text == "answer to second"


# --- approvals --------------------------------------------------------------------------------------------


async def test_a_paused_conversation_refuses_a_new_question_until_the_change_is_decided(
    tmp_path: Path, writes: None
) -> None:
    world = World(tmp_path, sessions=True)
    asked = await world.ask("delete deployment web", "C1:1")
    [pending] = [e for e in asked if isinstance(e, ApprovalRequired)]
    assert final(asked).paused and pending.tool == "manage_k8s_resource"
    assert await world.runner.paused_on("C1:1") == {pending.interrupt_id}
    questions = len(world.coordinator.seen)

    meanwhile = await world.ask("list the pods", "C1:1")
    [refused] = meanwhile
    assert isinstance(refused, ErrorEvent) and refused.kind == "approval_pending"
    assert refused.correlation_id and "approval card" in refused.message
    assert len(world.coordinator.seen) == questions  # the model never saw it
    assert final(await world.ask("list the pods", "C2:1")).text  # another conversation is not paused

    denial = {"approved": False, "reason": "denied", "by": "U2"}
    resumed = [e async for e in world.runner.resume("C1:1", {pending.interrupt_id: denial})]
    assert "Not executed" in final(resumed).text and world.server.calls == [("list_k8s_resources", LIST_PODS)]
    assert await world.runner.paused_on("C1:1") == set()
    assert "crashy-7f9c" in final(await world.ask("list the pods", "C1:1")).text


# --- the answer's text ------------------------------------------------------------------------------------


async def test_a_model_turn_after_tools_starts_a_new_paragraph(tmp_path: Path) -> None:
    def says_then_asks(turn: Turn) -> Reply:
        if turn.tool_results:
            return "All pods run."
        return Say("Checking the pods.", ToolCall("eks_assistant", {"query": turn.user_text}))

    world = World(tmp_path, coordinator=says_then_asks)
    events = await world.ask("list the pods", "C1:1")
    streamed = "".join(e.text for e in events if isinstance(e, TextDelta) and e.agent == COORDINATOR)
    assert streamed == "Checking the pods.\n\nAll pods run."
    assert final(events).text == streamed  # the message that grew in place is the final one


@pytest.mark.parametrize(
    ("before", "separator"), [("Checking.", "\n\n"), ("Checking.\n", "\n"), ("Checking.\n\n", "")]
)
def test_the_paragraph_separator_completes_a_blank_line(before: str, separator: str) -> None:
    answer = Answer("c1")
    events = [*answer.events({"data": before})]
    events += answer.events({"message": {"role": "assistant", "content": [{"text": before}]}})
    events += answer.events({"data": "Done."})
    texts = [e.text for e in events if isinstance(e, TextDelta)]
    assert texts == [before, *([separator] if separator else []), "Done."]
    assert answer.text == before + separator + "Done."
    more = [*answer.events({"data": " More."})]  # the same turn goes on: no separator
    assert [e.text for e in more if isinstance(e, TextDelta)] == [" More."]


# --- failure notes ----------------------------------------------------------------------------------------


async def test_a_failure_that_a_later_try_fixed_leaves_no_note(tmp_path: Path) -> None:
    tries = iter([("error", UNREACHABLE), ("success", "pods: crashy-7f9c")])
    world = World(tmp_path, Server(lambda _name, _args: next(tries)))
    events = await world.ask("list the pods", "C1:1")
    failed = [e for e in events if isinstance(e, ToolFinished) and not e.ok]
    assert [f.failure for f in failed] == ["unreachable"]  # the step failed, and was shown
    answer = final(events)
    assert answer.notes == () and "⚠️" not in answer.text and "crashy-7f9c" in answer.text


async def test_a_failure_no_later_try_fixed_is_noted_with_the_correlation_id(tmp_path: Path) -> None:
    world = World(tmp_path, Server(lambda _name, _args: ("error", UNREACHABLE)))
    events = await world.ask("list the pods", "C1:1", correlation_id="corr-9")
    [note] = final(events).notes
    assert note.what == "The cluster's API server could not be reached." and note.correlation_id == "corr-9"
    assert "Reference: `corr-9`" in final(events).text


# --- the specialist's model -------------------------------------------------------------------------------


async def test_a_specialist_model_failure_ends_the_answer_with_that_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODEL_MAX_WAIT_SECONDS", "1")

    def throttled(_turn: Turn) -> Reply:
        raise ModelThrottledException("ThrottlingException: Too many requests")

    world = World(tmp_path, eks_assistant=throttled)
    events = await world.ask("list the pods", "C1:1", correlation_id="corr-3")
    [error] = events[-1:]
    assert (
        isinstance(error, ErrorEvent) and error.kind == "model_throttled" and error.correlation_id == "corr-3"
    )
    assert not [e for e in events if isinstance(e, FinalAnswer)]
    assert world.coordinator.seen == ["list the pods"]  # the coordinator did not improvise on it


async def test_a_specialist_model_failure_that_a_retry_fixed_is_no_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODEL_MAX_WAIT_SECONDS", "1")
    failures = iter([ModelThrottledException("ThrottlingException: Too many requests")])

    def throttled_once(turn: Turn) -> Reply:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return specialist(turn)

    world = World(tmp_path, eks_assistant=throttled_once)
    events = await world.ask("list the pods", "C1:1")
    assert not [e for e in events if isinstance(e, ErrorEvent)]
    assert "crashy-7f9c" in final(events).text


# --- who asked, in the audit ------------------------------------------------------------------------------


async def test_who_asked_reaches_the_audit_of_a_call_inside_a_specialist(tmp_path: Path) -> None:
    world = World(tmp_path)
    await world.ask("list the pods", "C1:7", correlation_id="corr-1", user="U9")
    who = {"conversation_id": "C1:7", "correlation_id": "corr-1", "user": "U9"}
    [call] = [
        r for r in world.audit.records if r["event"] == "tool_call" and r["tool"] == "list_k8s_resources"
    ]
    [result] = [
        r for r in world.audit.records if r["event"] == "tool_result" and r["tool"] == "list_k8s_resources"
    ]
    assert {k: call[k] for k in who} == who and {k: result[k] for k in who} == who
    one_shot = World(tmp_path)
    await one_shot.ask("list the pods", correlation_id="corr-2")
    [call] = [
        r for r in one_shot.audit.records if r["event"] == "tool_call" and r["tool"] == "list_k8s_resources"
    ]
    assert call["conversation_id"] == "oneshot-corr-2" and call["user"] is None


async def test_an_approved_change_is_audited_with_who_resumed_it(tmp_path: Path, writes: None) -> None:
    world = World(tmp_path, sessions=True)
    asked = await world.ask("delete deployment web", "C1:2", correlation_id="corr-a", user="U1")
    [pending] = [e for e in asked if isinstance(e, ApprovalRequired)]
    approval = {"approved": True, "hash": pending.call_hash, "by": "U2", "approval_id": "ap-1"}
    resumed = world.runner.resume(
        "C1:2", {pending.interrupt_id: approval}, correlation_id="corr-b", user="U2"
    )
    assert "found" in final([e async for e in resumed]).text
    [run] = [
        r for r in world.audit.records if r["event"] == "tool_call" and r["tool"] == "manage_k8s_resource"
    ]
    assert (run["user"], run["correlation_id"], run["conversation_id"]) == ("U2", "corr-b", "C1:2")
    assert run["approved_by"] == "U2" and world.server.calls == [("manage_k8s_resource", DELETE_WEB)]
