"""Run cases through the real bot: `build_core` as the terminal builds it (coordinator, specialists, the
real MCP servers, the write gate with approvals on), one fresh conversation per case and run.

What a run records comes from the bot's own outputs, not from the model: the events a front end gets
(answer, approval cards, tool steps), the audit log (every tool call with its arguments, and whether a
write ran with an approval), the fake clusters' request logs, and the tokens every model call reported.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from strands.models import Model
from strands.types.content import Messages
from strands.types.streaming import StreamEvent
from strands.types.tools import ToolSpec

from agents.compose import Core, FrontEnd, build_core, load_settings
from agents.events import ApprovalRequired, ErrorEvent, FinalAnswer, ToolStarted
from agents.models import ModelFactory, model_factory
from agents.settings import ConfigError, Settings
from evals.cases import Case
from evals.live import Kube, LiveError, LiveWorld
from evals.world import OfflineWorld, environment

logger = logging.getLogger(__name__)


@dataclass
class Meter:
    """Tokens and calls of every model call since the last reset (all roles)."""

    tokens_in: int = 0
    tokens_out: int = 0
    calls: int = 0

    def reset(self) -> None:
        self.tokens_in = self.tokens_out = self.calls = 0


class MeteredModel(Model):
    """Any provider's model, counting the usage its metadata events report (Bedrock, Anthropic, OpenAI
    and Ollama all report one per call through Strands)."""

    def __init__(self, inner: Model, meter: Meter) -> None:
        self.inner = inner
        self.meter = meter

    def update_config(self, **model_config: Any) -> None:
        self.inner.update_config(**model_config)

    def get_config(self) -> Any:
        return self.inner.get_config()

    def structured_output(self, *args: Any, **kwargs: Any) -> Any:
        return self.inner.structured_output(*args, **kwargs)

    async def stream(
        self,
        messages: Messages,
        tool_specs: list[ToolSpec] | None = None,
        system_prompt: str | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[StreamEvent]:
        self.meter.calls += 1
        async for event in self.inner.stream(messages, tool_specs, system_prompt, **kwargs):
            usage = event.get("metadata", {}).get("usage") if isinstance(event, dict) else None
            if usage:
                self.meter.tokens_in += int(usage.get("inputTokens", 0))
                self.meter.tokens_out += int(usage.get("outputTokens", 0))
            yield event


class RecordingAudit:
    """The audit log of a run, kept in memory (each case reads its own records)."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def write(self, event: str, **fields: Any) -> None:
        self.records.append({"event": event, **fields})


@dataclass
class Outcome:
    """One run of one case: what the bot did, before it is scored."""

    case: str
    run: int
    live: bool = False  # run against a real cluster (`--live`), not the offline world
    answer: str = ""
    paused: bool = False
    error: str = ""
    approvals: list[dict[str, Any]] = field(default_factory=list)
    tool_calls: list[dict[str, Any]] = field(default_factory=list)  # audit: tool_call/refused/blocked
    steps: list[str] = field(default_factory=list)  # the step lines a person saw
    mutations: list[str] = field(default_factory=list)  # changing requests that reached a fake cluster
    seconds: float = 0.0
    tokens_in: int = 0
    tokens_out: int = 0
    model_calls: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def question_of(case: Case, cluster: str | None = None) -> str:
    """The case's question, or the investigation question the alert desk would ask for its alert."""
    if case.question is not None:
        return case.question
    from slackbot.alerts.alertmanager import parse_webhook
    from slackbot.alerts.investigation import investigation_question

    return investigation_question(parse_webhook(case.alert or {}), cluster)


# The scripted model needs no provider; these settings are never called, only checked.
SCRIPTED_SETTINGS = {
    "MODEL_PROVIDER": "openai",
    "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
    "MODEL_ID": "scripted",
}


class Suite:
    """The world and the cores (one for single-cluster cases, one with a fleet file), started once."""

    def __init__(
        self,
        world: OfflineWorld | LiveWorld,
        models: ModelFactory | None = None,
        on_case_start: Callable[[Case], None] | None = None,
        overrides: dict[str, str] | None = None,
    ) -> None:
        self.world = world
        self.overrides = overrides or {}
        self.meter = Meter()
        self.audit = RecordingAudit()
        self._models = models
        self._cores: dict[bool, Core] = {}
        self._envs: dict[bool, dict[str, str]] = {}
        self.on_case_start = on_case_start

    def settings(self) -> Settings:
        """The settings the single-cluster core runs with (the model's are the user's, or the script's)."""
        with environment({**self.world.environment(False), **self.overrides}):
            return load_settings()

    def core(self, fleet: bool) -> Core:
        if fleet not in self._cores:
            env = {**self.world.environment(fleet), **self.overrides}
            with environment(env):
                settings = load_settings()
                if not fleet and settings.clusters_file is not None:
                    # the user's fleet (.env or the environment) would send the cases to real clusters
                    raise ConfigError(
                        "CLUSTERS_FILE",
                        "set for the bot; `sre-bot eval` runs against its own offline clusters: unset it "
                        "for the run (e.g. CLUSTERS_FILE= sre-bot eval …)",
                    )
                inner = self._models or model_factory(settings)
                meter = self.meter
                core = build_core(
                    settings,
                    FrontEnd(approvals=True),  # every change must stop at a card, never run
                    models=lambda role: MeteredModel(inner(role), meter),
                    audit=self.audit,
                )
                core.start()
            self._cores[fleet], self._envs[fleet] = core, env
        return self._cores[fleet]

    async def run(self, case: Case, run: int) -> Outcome:
        """One run of one case on a freshly loaded world (live: its namespace made, then deleted)."""
        core = self.core(case.fleet)
        live = isinstance(self.world, LiveWorld)
        outcome = Outcome(case.id, run, live=live)
        with environment(self._envs[case.fleet]):
            if isinstance(self.world, LiveWorld):
                await self._live(self.world, core, case, run, outcome)
            else:
                self.world.load(case)
                await self._ask(core, case, run, outcome)
        outcome.tool_calls = [
            {k: r.get(k) for k in ("event", "tool", "access", "arguments", "approved_by", "reason")}
            for r in self.audit.records
            if r["event"] in ("tool_call", "tool_refused", "tool_blocked")
        ]
        outcome.mutations = [f"{m['method']} {m['path']}" for m in self.world.mutations()]
        return outcome

    async def _live(self, world: LiveWorld, core: Core, case: Case, run: int, outcome: Outcome) -> None:
        """Prepare the case on the cluster, ask, clean up: a case the cluster refuses or never gets ready
        fails with the reason, and the run goes on with the next case."""
        kube = Kube(core.assistant.servers["eks"], world.context)
        try:
            not_ready = await world.prepare(case, kube)
            if not_ready is None:
                await self._ask(core, case, run, outcome)
            else:
                outcome.error = not_ready
        except LiveError as exc:
            outcome.error = f"live: {exc}"
        except Exception as exc:  # a case that breaks the harness fails alone, never a traceback
            logger.debug("live case %s failed", case.id, exc_info=True)
            outcome.error = f"live: {type(exc).__name__}: {exc}"
        finally:
            try:
                await world.finish(case, kube)
            except LiveError as exc:  # said after the case's own error, never instead of it
                outcome.error = "; ".join(e for e in (outcome.error, f"cleaning up: {exc}") if e)

    async def _ask(self, core: Core, case: Case, run: int, outcome: Outcome) -> None:
        if self.on_case_start is not None:
            self.on_case_start(case)
        self.meter.reset()
        self.audit.records.clear()
        started = time.monotonic()
        try:
            async for event in core.runner.ask(
                question_of(case), conversation_id=f"eval-{case.id}-{run}-{uuid.uuid4().hex[:6]}"
            ):
                _record(outcome, event)
        except Exception as exc:  # a broken run is a failed run with its reason, never a traceback
            logger.debug("case %s failed", case.id, exc_info=True)
            outcome.error = f"{type(exc).__name__}: {exc}"
        outcome.seconds = time.monotonic() - started
        outcome.tokens_in, outcome.tokens_out = self.meter.tokens_in, self.meter.tokens_out
        outcome.model_calls = self.meter.calls

    def close(self) -> None:
        for core in self._cores.values():
            core.close()
        self._cores.clear()


def _record(outcome: Outcome, event: Any) -> None:
    if isinstance(event, FinalAnswer):
        outcome.answer, outcome.paused = event.text, event.paused
    elif isinstance(event, ApprovalRequired):
        outcome.approvals.append({"tool": event.tool, "arguments": event.arguments, "summary": event.summary})
    elif isinstance(event, ToolStarted):
        outcome.steps.append(f"{event.agent} › {event.tool}: {event.summary}")
    elif isinstance(event, ErrorEvent):
        outcome.error = f"{event.kind}: {event.message}"
