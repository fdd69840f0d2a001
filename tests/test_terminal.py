"""The terminal shows the notes Slack shows (in the operator's form) and its exit code says how it ended."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.compose import build_core
from agents.events import ErrorEvent, FailureNote, FinalAnswer, TextDelta
from agents.failures import note_markdown
from agents.gate.write_gate import GatePolicy
from agents.settings import load_settings
from frontends.terminal import (
    EXIT_ANSWERED,
    EXIT_FAILED,
    EXIT_INCOMPLETE,
    TerminalRenderer,
    terminal_front,
)
from tests.fakes.brains import default_brains
from tests.fakes.scripted_model import ScriptedModels

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
