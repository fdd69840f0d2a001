"""The terminal shows the notes Slack shows (in the operator's form) and its exit code says how it ended."""

from __future__ import annotations

from agents.events import ErrorEvent, FailureNote, FinalAnswer, TextDelta
from agents.failures import note_markdown
from frontends.terminal import EXIT_ANSWERED, EXIT_FAILED, EXIT_INCOMPLETE, TerminalRenderer

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
