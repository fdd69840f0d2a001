"""Notes tell a Slack user what they can do; the operator's detail is kept apart; promises are kept."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from agents.events import FailureNote
from agents.failures import describe_failure, note_markdown, tool_failure_note
from agents.settings import load_settings

NOT_INSTALLED = (
    "Kubernetes/EKS is unavailable right now: the eks MCP server is not installed. Run scripts/setup"
)
DID_NOT_START = "Kubernetes/EKS is unavailable right now: the eks MCP server did not start: exit 1"
STOPPED = "the eks MCP server stopped during this call; it will be restarted on the next call."
OPERATOR_WORDS = re.compile(r"[A-Z][A-Z0-9]*_[A-Z0-9_]+|sre-bot doctor|scripts/|kubeconfig", re.I)


def all_notes() -> list[FailureNote]:
    notes = [
        tool_failure_note(kind, agent, "list_k8s_resources")
        for kind in ("unreachable", "credentials")
        for agent in ("eks_assistant", "finops_assistant")
    ]
    notes += [
        tool_failure_note("server_down", "coordinator", "eks_assistant", detail)
        for detail in (NOT_INSTALLED, DID_NOT_START, STOPPED)
    ]
    assert all(n is not None for n in notes)
    return [n for n in notes if n is not None]


def test_what_users_read_names_no_variables_or_commands() -> None:
    for note in all_notes():
        assert not OPERATOR_WORDS.search(note.what + note.action), note
        assert "admin" in note.action or "Ask again" in note.action
        assert note.admin  # the operator's detail is still there, apart


def test_a_missing_server_is_not_promised_a_restart() -> None:
    missing = tool_failure_note("server_down", "coordinator", "eks_assistant", NOT_INSTALLED)
    assert missing is not None
    assert missing.what == "The EKS MCP server is not installed."
    assert "restart" not in (missing.action + missing.admin)
    assert "scripts/setup" in missing.admin


def test_a_server_that_stopped_is_restarted_on_the_next_question() -> None:
    stopped = tool_failure_note("server_down", "eks_assistant", "list_k8s_resources", STOPPED)
    assert stopped is not None
    assert stopped.what == "The EKS MCP server stopped."  # named by the specialist, not the tool
    assert "restarted on the next question" in stopped.action
    down = tool_failure_note("server_down", "coordinator", "finops_assistant", DID_NOT_START)
    assert down is not None and down.what == "The billing MCP server is down."
    assert "next question" not in down.action


def test_slack_form_keeps_the_admin_detail_on_its_own_line() -> None:
    note = tool_failure_note("unreachable", "eks_assistant", "list_k8s_resources")
    assert note is not None
    first, second = note_markdown(replace(note, correlation_id="abc123")).strip().splitlines()
    assert first == (
        "> ⚠️ **The cluster's API server could not be reached.** Ask again in a few minutes; if it keeps "
        "failing, tell the bot's admin. Reference: `abc123`"
    )
    assert second.startswith("> _For the bot's admin: Check KUBECONFIG") and "sre-bot doctor" in second


@pytest.fixture
def openai_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    monkeypatch.setenv("MODEL_PROVIDER", "openai")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://models.internal:8000/v1")
    monkeypatch.setenv("MODEL_MAX_WAIT_SECONDS", "45")


def test_model_unreachable_names_the_url_and_the_configured_wait(openai_settings: None) -> None:
    event = describe_failure(ConnectionError("Connection refused"), "abc", load_settings())
    assert event.kind == "model_unavailable"
    assert "http://models.internal:8000/v1" in event.message and "45 seconds" in event.message
    assert "30 seconds" not in event.message
    assert "OPENAI_BASE_URL" in event.hint and "MODEL_MAX_WAIT_SECONDS" in event.hint
    assert event.cause == "ConnectionError: Connection refused"


def test_throttling_says_the_configured_wait(openai_settings: None) -> None:
    event = describe_failure(RuntimeError("Error code: 429 - rate limit"), "abc", load_settings())
    assert event.kind == "model_throttled" and "about 45 seconds" in event.message
