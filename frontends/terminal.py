"""Terminal front end of `sre-bot ask`: streams the answer to stdout and tool steps to stderr.

The person at a terminal is the operator, so failures show the admin's detail (variables, commands)
that Slack keeps on a separate line, and the exit code says how the answer ended, for scripts.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from agents.charts.model import Chart
from agents.charts.render import render_png
from agents.compose import FrontEnd, build_core
from agents.events import (
    COORDINATOR,
    AgentEvent,
    CapabilityNotice,
    ChartReady,
    ErrorEvent,
    FailureNote,
    FinalAnswer,
    TextDelta,
    ToolFinished,
    ToolStarted,
)
from agents.failures import note_markdown
from agents.fleet import flag_resolution
from agents.settings import Settings
from slackbot.config import NO_APPROVERS_TEXT, READ_ONLY_TEXT, load_approver_settings
from slackbot.fleet import SlackClusterConfig

EXIT_ANSWERED = 0
EXIT_FAILED = 1  # no answer: the model failed (unreachable, throttled, credentials, …)
EXIT_USAGE = 2  # no question asked: `--cluster` names a cluster the bot does not know (cli's EXIT_CONFIG)
EXIT_INCOMPLETE = 3  # an answer, but a tool failed (cluster unreachable, MCP server not installed, …)
# (frontends/cli.py's --help explains these codes; tests keep the two in step)

# Where approvers are configured, a change is approved on a card in Slack; a terminal shows none.
CARDS_ELSEWHERE_TEXT = (
    "Changes need an approval card in Slack, which this terminal cannot show, so nothing was "
    "changed. Ask for this change in Slack (sre-bot run), where an approver can approve it."
)


class TerminalRenderer:
    """Prints the answer to stdout as it streams, and tool steps to stderr (so stdout stays the answer)."""

    def __init__(
        self, out: Callable[[str], object], err: Callable[[str], object], verbose: bool = False
    ) -> None:
        self.out, self.err, self.verbose = out, err, verbose
        self.streamed = False
        self.exit_code = EXIT_ANSWERED
        self.chart: Chart | None = None  # written to a file once the answer is complete (`ask`)

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
        elif isinstance(event, ChartReady):
            self.chart = event.chart
        elif isinstance(event, FinalAnswer):
            if not self.streamed:
                # the notes are printed below in the terminal's form, not as Slack's quote
                self.out(event.text.removesuffix("".join(note_markdown(n) for n in event.notes)))
            self.out("\n")
            for note in event.notes:
                self._note(note)
            if event.notes:
                self.exit_code = max(self.exit_code, EXIT_INCOMPLETE)
        elif isinstance(event, ErrorEvent):
            self.err(f"error: {event.message}\n")
            if event.hint or event.action:  # the operator's detail; else what the asker can do
                self.err(f"  {event.hint or event.action}\n")
            if event.cause and (self.verbose or event.kind == "internal"):
                self.err(f"  cause: {event.cause}\n")
            self.err(f"  (correlation id {event.correlation_id})\n")
            self.exit_code = EXIT_FAILED

    def _note(self, note: FailureNote) -> None:
        """A failure under the answer, with what the operator checks (the user's advice is for Slack)."""
        self.err(f"warning: {note.what}\n  {note.admin}\n  (correlation id {note.correlation_id})\n")


def write_chart(chart: Chart, directory: Path | None = None) -> Path:
    """The chart as a PNG file of its own (0600, a new name each time) in `directory` or the temp folder."""
    png = render_png(chart)
    fd, name = tempfile.mkstemp(prefix="sre-bot-chart-", suffix=".png", dir=directory)
    with os.fdopen(fd, "wb") as handle:
        handle.write(png)
    return Path(name)


async def print_chart(chart: Chart, err: Callable[[str], object]) -> None:
    """Write the answer's chart and print where (stderr: stdout stays the answer); a failure is one line."""
    try:
        path = await asyncio.to_thread(write_chart, chart)
    except Exception as exc:  # a chart is extra: the answer stands without it
        err(f"warning: the chart could not be written ({type(exc).__name__}: {exc})\n")
        return
    err(f"chart: {path}\n")


def _write(stream: object) -> Callable[[str], object]:
    def write(text: str) -> None:
        stream.write(text)  # type: ignore[attr-defined]
        stream.flush()  # type: ignore[attr-defined]

    return write


class _quiet_runner_log:
    """The runner and the answer's stream log each failure for the bot's log; here the renderer says it.

    Without this, every error is printed twice (an ERROR log line, then the error block). At DEBUG the
    log lines stay, with their tracebacks.
    """

    NAMES = ("agents.runner", "agents.turn")

    def __enter__(self) -> None:
        self.levels = {name: logging.getLogger(name).level for name in self.NAMES}
        if not logging.getLogger().isEnabledFor(logging.DEBUG):
            for name in self.NAMES:
                logging.getLogger(name).setLevel(logging.CRITICAL)

    def __exit__(self, *exc: object) -> None:
        for name, level in self.levels.items():
            logging.getLogger(name).setLevel(level)


def terminal_front() -> FrontEnd:
    """The terminal as a front end: no approvals here, so a change is refused, saying where to ask for
    it (Slack, when approvers are configured) or how to enable approvals."""
    elsewhere = load_approver_settings().approvals_configured
    return FrontEnd(
        approvals=False,
        read_only_text=READ_ONLY_TEXT,
        no_approvers_text=CARDS_ELSEWHERE_TEXT if elsewhere else NO_APPROVERS_TEXT,
        cluster_model=SlackClusterConfig,  # the deployment's one fleet file holds Slack's keys too
    )


async def ask(
    settings: Settings,
    question: str,
    conversation: str | None,
    verbose: bool,
    clusters: Sequence[str] = (),
) -> int:
    """Answer one question; returns the exit code (EXIT_ANSWERED, EXIT_FAILED or EXIT_INCOMPLETE).

    `clusters` are the `--cluster` values: the question is about them, exactly as a `--cluster` in a
    question in Slack. An unknown one is one line and EXIT_USAGE, before any server or model starts.
    """
    core = build_core(settings, terminal_front())
    flagged = flag_resolution(core.assistant.fleet, clusters)
    if flagged is not None and flagged.error:
        core.close()
        sys.stderr.write(f"sre-bot: {flagged.error}\n")
        return EXIT_USAGE
    # Start the servers while the coordinator's first model call runs; a specialist waits for its server.
    threading.Thread(target=core.start, daemon=True).start()
    render = TerminalRenderer(_write(sys.stdout), _write(sys.stderr), verbose)
    try:
        with _quiet_runner_log():
            async for event in core.runner.ask(
                question, conversation_id=conversation, flag_clusters=clusters
            ):
                render(event)
        if render.chart is not None:
            await print_chart(render.chart, render.err)
    finally:
        await asyncio.to_thread(core.close)
    return render.exit_code
