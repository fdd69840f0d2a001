"""Typed events of one answer, shared by every front end (the terminal, a chat).

The agents emit Strands' raw stream dicts; `runner` turns them into these small frozen records so a
renderer never has to know Strands' event shapes (which also hold non-JSON objects).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from agents.charts.model import Chart

COORDINATOR = "coordinator"


@dataclass(frozen=True)
class TextDelta:
    """A piece of model text. `agent` is "coordinator" for the answer, else the specialist's name."""

    text: str
    agent: str = COORDINATOR


@dataclass(frozen=True)
class ToolStarted:
    """A tool call is about to run: `summary` is a short human line such as "list pods in default"."""

    tool_use_id: str
    agent: str
    tool: str
    summary: str


@dataclass(frozen=True)
class ToolFinished:
    """A tool call ended; `ok` is False when it returned an error."""

    tool_use_id: str
    agent: str
    tool: str
    ok: bool
    detail: str = ""  # for errors: the start of the error text (logs, the terminal, failure notes)
    failure: str = ""  # for errors: unreachable, credentials, server_down, or "" (see agents.failures)
    reason: str = ""  # for errors: why, in a few plain words (the step line people see in a chat)


@dataclass(frozen=True)
class FailureNote:
    """A failed tool call the answer must not hide, added by code rather than left to the model.

    `what` failed and what the asker can do (`action`) are for everyone; `admin` (variables, commands)
    is the operator's detail, which a chat shows on its own line and the terminal shows instead.
    """

    what: str
    action: str
    admin: str
    correlation_id: str = ""


@dataclass(frozen=True)
class FinalAnswer:
    """The complete answer text of the coordinator: what a front end must show in the end.

    `paused` means the answer stops here until the ApprovalRequired events before it are decided.
    `notes` are the failures already appended to `text` (as `note_markdown` writes them), for front ends that show
    them their own way and for exit codes: an answer with notes is incomplete.
    """

    text: str
    paused: bool = False
    notes: tuple[FailureNote, ...] = ()


@dataclass(frozen=True)
class ApprovalRequired:
    """A write waits for a person: the exact call (tool, arguments, hash) and what it will do."""

    interrupt_id: str
    agent: str
    tool: str
    arguments: dict[str, Any]
    call_hash: str
    summary: str
    tool_use_id: str = ""
    cluster: str = ""  # the fleet cluster the change is for ("" when the bot knows no cluster)


ErrorKind = Literal[
    "model_throttled",
    "model_unavailable",
    "credentials",
    "context_overflow",
    "capability_unavailable",
    "approval_pending",
    "thread_busy",
    "unknown_cluster",
    "internal",
]


@dataclass(frozen=True)
class ErrorEvent:
    """A failure the user must hear about: short message, what to check, and an id for the logs.

    As with FailureNote, `action` is what the asker can do (everyone sees it); `hint` is the operator's
    detail (variables, commands), which a chat shows on its own admin line and the terminal shows as is.
    """

    kind: ErrorKind
    message: str
    hint: str = ""
    correlation_id: str = ""
    cause: str = ""  # the exception chain, for operators (terminal, logs); never shown in a chat
    action: str = ""


@dataclass(frozen=True)
class CapabilityNotice:
    """A domain (EKS or FinOps) is unavailable right now, and why; answers say so instead of failing."""

    capability: str
    reason: str


@dataclass(frozen=True)
class ChartReady:
    """The chart of an answer: the series of the last range query it used (at most one per answer,
    sent just before the FinalAnswer). A front end draws it (agents.charts.render) off its event loop."""

    chart: Chart
    agent: str


AgentEvent = (
    TextDelta
    | ToolStarted
    | ToolFinished
    | FinalAnswer
    | ErrorEvent
    | CapabilityNotice
    | ApprovalRequired
    | ChartReady
)


@dataclass
class Transcript:
    """Collects a stream for tests and non-streaming callers."""

    events: list[AgentEvent] = field(default_factory=list)

    def add(self, event: AgentEvent) -> None:
        self.events.append(event)

    @property
    def final(self) -> str | None:
        finals = [e.text for e in self.events if isinstance(e, FinalAnswer)]
        return finals[-1] if finals else None

    def of(self, kind: type) -> list[AgentEvent]:
        return [e for e in self.events if isinstance(e, kind)]
