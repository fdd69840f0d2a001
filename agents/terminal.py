"""Terminal front end of `sre-bot ask`: streams the answer to stdout and tool steps to stderr."""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Callable

from agents.coordinator import Assistant
from agents.events import (
    COORDINATOR,
    AgentEvent,
    CapabilityNotice,
    ErrorEvent,
    FinalAnswer,
    TextDelta,
    ToolFinished,
    ToolStarted,
)
from agents.runner import ConversationRunner, FileSessionStore
from agents.settings import Settings


class TerminalRenderer:
    """Prints the answer to stdout as it streams, and tool steps to stderr (so stdout stays the answer)."""

    def __init__(
        self, out: Callable[[str], object], err: Callable[[str], object], verbose: bool = False
    ) -> None:
        self.out, self.err, self.verbose = out, err, verbose
        self.streamed = False

    def __call__(self, event: AgentEvent) -> None:
        if isinstance(event, TextDelta):
            if event.agent == COORDINATOR:
                self.out(event.text)
                self.streamed = True
            elif self.verbose:
                self.err(event.text)
        elif isinstance(event, ToolStarted):
            self.err(f"  → {event.agent} › {event.tool}: {event.summary}\n")
        elif isinstance(event, ToolFinished):
            mark = "✓" if event.ok else "✗"
            self.err(
                f"  {mark} {event.agent} › {event.tool}{(': ' + event.detail) if event.detail else ''}\n"
            )
        elif isinstance(event, CapabilityNotice):
            self.err(f"  ! {event.capability} unavailable: {event.reason}\n")
        elif isinstance(event, FinalAnswer):
            if not self.streamed:
                self.out(event.text)
            self.out("\n")
        elif isinstance(event, ErrorEvent):
            self.err(f"error: {event.message}\n")
            if event.hint:
                self.err(f"  {event.hint}\n")
            self.err(f"  (correlation id {event.correlation_id})\n")


def _write(stream: object) -> Callable[[str], object]:
    def write(text: str) -> None:
        stream.write(text)  # type: ignore[attr-defined]
        stream.flush()  # type: ignore[attr-defined]

    return write


async def ask(settings: Settings, question: str, conversation: str | None, verbose: bool) -> int:
    assistant = Assistant(settings)
    # Start the servers while the coordinator's first model call runs; a specialist waits for its server.
    threading.Thread(target=assistant.start, daemon=True).start()
    runner = ConversationRunner(assistant, FileSessionStore(settings.session_storage_path))
    render = TerminalRenderer(_write(sys.stdout), _write(sys.stderr), verbose)
    failed = False
    try:
        async for event in runner.ask(question, conversation_id=conversation):
            render(event)
            failed = failed or isinstance(event, ErrorEvent)
    finally:
        await asyncio.to_thread(assistant.close)
    return 1 if failed else 0
