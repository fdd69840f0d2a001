"""The terminal shows the notes Slack shows (in the operator's form) and its exit code says how it ended."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from agents.compose import Core, FrontEnd, build_core
from agents.events import ErrorEvent, FailureNote, FinalAnswer, TextDelta
from agents.failures import note_markdown
from agents.gate.write_gate import GatePolicy
from agents.settings import Settings, load_settings
from frontends import terminal
from frontends.terminal import (
    EXIT_ANSWERED,
    EXIT_FAILED,
    EXIT_INCOMPLETE,
    TerminalRenderer,
    terminal_front,
)
from tests.fakes.brains import default_brains
from tests.fakes.scripted_model import ScriptedModels, Turn

NOTE = FailureNote(
    "The cluster's API server could not be reached.",
    "Ask again in a few minutes; if it keeps failing, tell the bot's admin.",
    "Check KUBECONFIG / DEFAULT_CLUSTER and the network; `sre-bot doctor` tests it.",
    "abc123",
)


def render(*events: object, verbose: bool = False) -> tuple[str, str, int]:
    out: list[str] = []
    err: list[str] = []
    renderer = TerminalRenderer(out.append, err.append, verbose)
    for event in events:
        renderer(event)  # type: ignore[arg-type]
    return "".join(out), "".join(err), renderer.exit_code


def test_notes_are_shown_although_the_answer_streamed() -> None:
    answer = "Failed to list Pod resources."
    out, err, code = render(TextDelta(answer), FinalAnswer(answer + note_markdown(NOTE), notes=(NOTE,)))
    assert out == answer + "\n"
    assert err == (
        "warning: The cluster's API server could not be reached.\n"
        "  Check KUBECONFIG / DEFAULT_CLUSTER and the network; `sre-bot doctor` tests it.\n"
        "  (correlation id abc123)\n"
    )
    assert code == EXIT_INCOMPLETE


def test_an_answer_that_did_not_stream_is_printed_without_slacks_quote() -> None:
    out, err, code = render(FinalAnswer("Pods: web" + note_markdown(NOTE), notes=(NOTE,)))
    assert out == "Pods: web\n" and "⚠️" not in out
    assert "warning: The cluster's API server" in err and code == EXIT_INCOMPLETE


def test_exit_codes_say_how_the_answer_ended() -> None:
    assert render(TextDelta("Pods: web"), FinalAnswer("Pods: web"))[2] == EXIT_ANSWERED
    error = ErrorEvent("model_unavailable", "The model service …", "Check …", "c1", "APIConnectionError: x")
    out, err, code = render(error)
    assert code == EXIT_FAILED and out == ""
    assert "cause:" not in err  # the raw cause only with --verbose (or for unexplained failures)
    assert "cause: APIConnectionError: x" in render(error, verbose=True)[1]
    internal = ErrorEvent("internal", "Something went wrong while answering.", "", "c2", "KeyError: 'x'")
    assert "cause: KeyError: 'x'" in render(internal)[1]


def test_the_terminal_cannot_approve_and_refuses_changes_saying_where_to_ask(
    agent_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The gate's refusals in the terminal's words: Slack's, or "ask in Slack" where approvers are set."""

    def policy() -> GatePolicy:
        assistant = build_core(
            load_settings(), terminal_front(), models=ScriptedModels(default_brains())
        ).assistant
        assistant.close()
        return assistant.policy

    nobody = policy()
    assert nobody.approvals_configured is False
    assert nobody.read_only_message() == (
        "Read-only mode: this bot cannot change the cluster. An operator can enable changes with "
        "EKS_MCP_ALLOW_WRITE=true (each change then needs an approval in Slack)."
    )
    assert nobody.no_approvers_message() == (
        "Changes are enabled but nobody is configured to approve them, so nothing was changed. Set "
        "APPROVER_USER_IDS (Slack user ids) or APPROVER_USERGROUP (a user group id) to enable approvals."
    )
    monkeypatch.setenv("APPROVER_USERGROUP", "S0ONCALL")
    elsewhere = policy()
    assert elsewhere.approvals_configured is False  # still no approval card in a terminal
    assert elsewhere.no_approvers_message() == (
        "Changes need an approval card in Slack, which this terminal cannot show, so nothing was "
        "changed. Ask for this change in Slack (sre-bot run), where an approver can approve it."
    )
    assert elsewhere.read_only_message() == nobody.read_only_message()


@dataclass
class Built:
    """The cores `terminal.ask` built, and those whose MCP servers it started."""

    cores: list[Core] = field(default_factory=list)
    started: list[Core] = field(default_factory=list)


@pytest.fixture
def scripted_terminal(agent_env: Path, monkeypatch: pytest.MonkeyPatch) -> Built:
    """`terminal.ask` with scripted models (the rest real: settings, fleet, servers)."""
    built = Built()

    def build(settings: Settings, front: FrontEnd) -> Core:
        core = build_core(settings, front, models=ScriptedModels(default_brains()))
        start = core.assistant.start

        def recorded() -> dict[str, str | None]:
            built.started.append(core)
            return start()

        monkeypatch.setattr(core.assistant, "start", recorded)
        built.cores.append(core)
        return core

    monkeypatch.setattr(terminal, "build_core", build)
    return built


def coordinator_requests(core: Core) -> list[Turn]:
    return core.assistant.models.models["coordinator"].requests  # type: ignore[attr-defined, no-any-return]


async def test_cluster_naming_the_fleet_of_ones_cluster_answers(
    scripted_terminal: Built, capsys: pytest.CaptureFixture[str]
) -> None:
    """No CLUSTERS_FILE: --cluster may name today's one cluster (in any case, as in Slack)."""
    code = await terminal.ask(load_settings(), "list the pods in default", None, False, ["FAKE-K3S"])
    out = capsys.readouterr().out
    assert code == EXIT_ANSWERED and "crashy-7f9c" in out
    [core] = scripted_terminal.cores
    assert coordinator_requests(core)


async def test_an_unknown_cluster_is_one_line_and_exit_2_before_any_server_or_model_starts(
    scripted_terminal: Built, capsys: pytest.CaptureFixture[str]
) -> None:
    code = await terminal.ask(load_settings(), "list the pods in default", None, False, ["fake-k3s", "prod"])
    assert code == terminal.EXIT_USAGE == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        "sre-bot: There is no cluster 'prod' in this bot's fleet. Known clusters: fake-k3s (default)."
    ]
    [core] = scripted_terminal.cores
    assert coordinator_requests(core) == []
    assert scripted_terminal.started == []  # no MCP server was started
