"""Turn the agents' event stream into one Slack reply that grows in place.

Text deltas of the coordinator build the answer; tool steps (the coordinator's and the specialists')
show what is running. A ticker shows the latest state once a second even when no event arrives, so the
reply keeps up with a model that pauses. The final answer (or a short error with its correlation id)
always ends the reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from agents.events import (
    COORDINATOR,
    AgentEvent,
    ApprovalRequired,
    CapabilityNotice,
    ChartReady,
    ErrorEvent,
    FinalAnswer,
    TextDelta,
    ToolFinished,
    ToolStarted,
)
from slackbot.replies import MIN_UPDATE_INTERVAL, Reply, StepView

logger = logging.getLogger(__name__)

INTERRUPTED = "_Interrupted: the bot is restarting. Ask again in a moment._"
RESUMED_STEP = "Running the approved change"
WAITING = "_⏸ Waiting for approval: see the card below. Nothing changes until an approver decides._"


def error_text(event: ErrorEvent) -> str:
    """What failed and what the asker can do; the operator's detail on its own line, as notes have it."""
    action = f" {event.action}" if event.action else ""
    admin = f"\n_For the bot's admin: {event.hint}_" if event.hint else ""
    return f":warning: *{event.message}*{action}{admin}\n_Reference: `{event.correlation_id}`_"


class Renderer:
    """Drives `reply` from agent events; returns the final text that was delivered."""

    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.text = ""
        self.steps: dict[str, StepView] = {}
        self.final: str | None = None
        self.approvals: list[ApprovalRequired] = []
        self.chart: ChartReady | None = None  # shared into the thread after the answer (slackbot/charts.py)

    def apply(self, event: AgentEvent) -> None:
        if isinstance(event, TextDelta):
            if event.agent == COORDINATOR:
                self.text += event.text
        elif isinstance(event, ToolStarted):
            # the summary is already in plain words ("Listing pods in default"): no tool or agent names
            self.steps[event.tool_use_id] = StepView(event.tool_use_id, event.summary)
        elif isinstance(event, ToolFinished):
            # A resumed call (after an approval) finishes here but started in the earlier run.
            step = self.steps.setdefault(event.tool_use_id, StepView(event.tool_use_id, RESUMED_STEP))
            step.status = "complete" if event.ok else "error"
            step.detail = event.reason or event.detail
        elif isinstance(event, CapabilityNotice):
            key = f"unavailable-{event.capability}"
            self.steps[key] = StepView(key, f"{event.capability} unavailable", "error", event.reason)
        elif isinstance(event, ApprovalRequired):
            self.approvals.append(event)
        elif isinstance(event, ChartReady):
            self.chart = event
        elif isinstance(event, FinalAnswer):
            self.final = f"{event.text}\n\n{WAITING}".strip() if event.paused else event.text
        elif isinstance(event, ErrorEvent):
            partial = self.text.strip()
            self.final = f"{partial}\n\n{error_text(event)}" if partial else error_text(event)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(MIN_UPDATE_INTERVAL)
            await self.reply.show(self.text, list(self.steps.values()))

    async def run(self, events: AsyncIterator[AgentEvent]) -> str:
        """Render until the stream ends; the reply must already be started (the sign of life)."""
        ticker = asyncio.create_task(self._tick())
        try:
            async for event in events:
                self.apply(event)
                if self.final is None:
                    await self.reply.show(self.text, list(self.steps.values()))
        except asyncio.CancelledError:
            self.final = f"{self.text.strip()}\n\n{INTERRUPTED}".strip()
            raise
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
            final = self.final if self.final is not None else (self.text.strip() or "(no answer)")
            await asyncio.shield(self.reply.finish(final, list(self.steps.values())))
        return final
