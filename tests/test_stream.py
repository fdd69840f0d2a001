"""Strands' raw events (the coordinator's and, nested, the specialists') become typed events."""

from __future__ import annotations

import pytest

from agents.events import CapabilityNotice, TextDelta, ToolFinished, ToolStarted
from agents.stream import summarize_call, translate


def test_nested_specialist_events_surface_with_their_agent() -> None:
    names: dict[str, str] = {}
    raw_events = [
        {
            "message": {
                "role": "assistant",
                "content": [
                    {"toolUse": {"toolUseId": "a", "name": "eks_assistant", "input": {"query": "list pods"}}}
                ],
            }
        },
        {
            "type": "tool_stream",
            "tool_stream_event": {
                "tool_use": {"name": "eks_assistant", "toolUseId": "a"},
                "data": {
                    "message": {
                        "role": "assistant",
                        "content": [
                            {
                                "toolUse": {
                                    "toolUseId": "b",
                                    "name": "list_k8s_resources",
                                    "input": {"kind": "Pod", "namespace": "default"},
                                }
                            }
                        ],
                    }
                },
            },
        },
        {
            "type": "tool_stream",
            "tool_stream_event": {
                "tool_use": {"name": "eks_assistant"},
                "data": {"data": "Pods: web", "delta": {}},
            },
        },
        {
            "type": "tool_stream",
            "tool_stream_event": {
                "tool_use": {"name": "eks_assistant"},
                "data": {
                    "message": {
                        "role": "user",
                        "content": [
                            {
                                "toolResult": {
                                    "toolUseId": "b",
                                    "status": "error",
                                    "content": [
                                        {
                                            "text": '<untrusted-data source="eks:x">\nForbidden\n</untrusted-data>'
                                        }
                                    ],
                                }
                            }
                        ],
                    }
                },
            },
        },
        {"data": "Here", "delta": {}},
    ]
    events = [e for raw in raw_events for e in translate(raw, names=names)]
    assert events[0] == ToolStarted(
        "a", "coordinator", "eks_assistant", "Asking the Kubernetes specialist: list pods"
    )
    assert events[1] == ToolStarted("b", "eks_assistant", "list_k8s_resources", "Listing pods in default")
    assert events[2] == TextDelta("Pods: web", "eks_assistant")
    assert isinstance(events[3], ToolFinished) and not events[3].ok and events[3].tool == "list_k8s_resources"
    assert "Forbidden" in events[3].detail
    assert events[4] == TextDelta("Here", "coordinator")


def test_capability_notice_and_reasoning_is_not_text() -> None:
    raw = {
        "type": "tool_stream",
        "tool_stream_event": {
            "tool_use": {"name": "finops_assistant"},
            "data": {
                "capability_unavailable": {"capability": "AWS cost (FinOps)", "reason": "no credentials"}
            },
        },
    }
    assert list(translate(raw)) == [CapabilityNotice("AWS cost (FinOps)", "no credentials")]
    assert list(translate({"reasoningText": "hmm", "reasoning": True})) == []


def test_summaries_are_short_and_human() -> None:
    assert (
        summarize_call("get_pod_logs", {"pod_name": "crashy", "namespace": "default"})
        == "Reading the logs of pod crashy in default"
    )
    assert (
        summarize_call(
            "manage_k8s_resource",
            {"operation": "delete", "kind": "Deployment", "name": "web", "namespace": "prod"},
        )
        == "Deleting Deployment web in prod"
    )
    assert summarize_call("list_k8s_resources", {"kind": "NetworkPolicy"}) == (
        "Listing network policies in all namespaces"
    )
    assert (
        summarize_call("list_k8s_resources", {"kind": "Ingress", "namespace": "web"})
        == "Listing ingresses in web"
    )
    assert summarize_call("eks_assistant", {"query": "why is web down?"}) == (
        "Asking the Kubernetes specialist: why is web down?"
    )
    assert (
        summarize_call("cost-explorer", {"operation": "getCostAndUsage"})
        == "Running cost explorer getCostAndUsage"
    )
    assert len(summarize_call("x", {"q": "y" * 500})) <= 90


def test_terminal_renderer_writes_each_delta_as_it_comes_and_steps_to_stderr() -> None:
    from agents.events import ErrorEvent, FinalAnswer
    from frontends.terminal import TerminalRenderer

    out: list[str] = []
    err: list[str] = []
    render = TerminalRenderer(out.append, err.append)
    render(ToolStarted("a", "coordinator", "eks_assistant", "Asking the Kubernetes specialist: list pods"))
    render(TextDelta("Pods", "eks_assistant"))  # a specialist's own text stays out of the answer
    render(TextDelta("Po"))
    render(TextDelta("ds: web"))
    render(FinalAnswer("Pods: web"))
    assert out == ["Po", "ds: web", "\n"]
    assert err == ["  → coordinator › eks_assistant: Asking the Kubernetes specialist: list pods\n"]
    render(ErrorEvent("model_throttled", "The model is throttled.", "Try later.", "abc123"))
    assert err[-3:] == ["error: The model is throttled.\n", "  Try later.\n", "  (correlation id abc123)\n"]


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        (
            "Failed to list Pod resources: ... Max retries exceeded ... [Errno 111] Connection refused",
            "unreachable",
        ),
        ("Failed: (401) Reason: Unauthorized", "credentials"),
        (
            "An error occurred (ExpiredTokenException): The security token included in the request is expired",
            "credentials",
        ),
        ("Kubernetes/EKS is unavailable right now: the eks MCP server is not installed", "server_down"),
        ('pods "nope" not found', ""),  # the model explains ordinary errors itself
    ],
)
def test_failed_tool_calls_are_classified_from_their_whole_text(text: str, kind: str) -> None:
    raw = {
        "message": {
            "role": "user",
            "content": [
                {
                    "toolResult": {
                        "toolUseId": "t1",
                        "status": "error",
                        "content": [{"text": "x" * 300 + text}],
                    }
                }
            ],
        }
    }
    [finished] = list(translate(raw, "eks_assistant", {"t1": "list_k8s_resources"}))
    assert isinstance(finished, ToolFinished) and not finished.ok and finished.failure == kind


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (RuntimeError("Error code: 429 - rate limit"), "model_throttled"),
        (RuntimeError("Error code: 401 - invalid api key"), "credentials"),
        (RuntimeError("AccessDeniedException: not authorized to invoke model"), "credentials"),
        (RuntimeError("listening on port 4290, 401 pods seen"), "internal"),  # numbers are not statuses
        (ConnectionError("Connection refused"), "model_unavailable"),
    ],
)
def test_answer_failures_are_described_by_kind(error: Exception, kind: str) -> None:
    from agents.failures import describe_failure

    event = describe_failure(error, "abc")
    assert event.kind == kind and event.correlation_id == "abc"


def test_step_lines_never_show_secret_values() -> None:
    raw = {
        "message": {
            "role": "assistant",
            "content": [
                {
                    "toolUse": {
                        "toolUseId": "t9",
                        "name": "manage_k8s_resource",
                        "input": '{"operation": "create", "kind": "Secret", "password": "Hunter2", "name": "db"}',
                    }
                }
            ],
        }
    }
    [started] = list(translate(raw, "eks_assistant", {}))
    assert isinstance(started, ToolStarted) and "Hunter2" not in started.summary


def test_token_shaped_secrets_in_tool_results_never_reach_the_model() -> None:
    from agents.mcp.output import shape_result

    result = {
        "toolUseId": "t1",
        "status": "success",
        "content": [{"text": "env AWS_KEY=AKIAABCDEFGHIJKLMNOP ok"}],
    }
    [block] = shape_result(result, "eks:get_pod_logs", 10_000)["content"]  # type: ignore[arg-type]
    assert "AKIA" not in block["text"] and "ok" in block["text"]


def test_a_paid_logs_query_says_what_it_scans() -> None:
    """get_cloudwatch_logs starts a Logs Insights query, billed per GB scanned: the step line says so."""
    args = {
        "cluster_name": "prod",
        "resource_type": "pod",
        "resource_name": "web-1",
        "log_type": "application",
    }
    assert (
        summarize_call("get_cloudwatch_logs", {**args, "minutes": 30, "limit": 100})
        == "Searching CloudWatch Logs Insights (paid): application logs of pod web-1, last 30 min, ≤100 rows"
    )
    window = {"start_time": "2026-12-02T13:00:00Z", "end_time": "2026-12-02T14:00:00Z"}
    assert "2026-12-02T13:00:00Z to 2026-12-02T14:00:00Z" in summarize_call(
        "get_cloudwatch_logs", {**args, **window}
    )
    assert "last 15 min, ≤50 rows" in summarize_call("get_cloudwatch_logs", args)  # the server's defaults


def test_a_failed_step_says_why_in_a_few_words_not_the_client_error() -> None:
    """The step line is for the person watching; the client's error text is the operator's (logs)."""
    raw_error = (
        "Failed to list Pod resources: HTTPSConnectionPool(host='10.0.0.1', port=6443): Max retries "
        "exceeded with url: /api/v1/pods (Caused by NewConnectionError(...))"
    )
    started = {
        "message": {
            "role": "assistant",
            "content": [
                {"toolUse": {"toolUseId": "t1", "name": "list_k8s_resources", "input": {"kind": "Pod"}}}
            ],
        }
    }
    names: dict[str, str] = {}
    list(translate(started, "eks_assistant", names))
    result = {"toolResult": {"toolUseId": "t1", "status": "error", "content": [{"text": raw_error}]}}
    [finished] = translate({"message": {"role": "user", "content": [result]}}, "eks_assistant", names)
    assert isinstance(finished, ToolFinished) and not finished.ok
    assert finished.failure == "unreachable" and finished.reason == "could not reach the service"
    assert "Max retries exceeded" in finished.detail  # the operator's text stays for logs and notes
    other = {
        "toolResult": {
            "toolUseId": "t1",
            "status": "error",
            "content": [{"text": 'Error: pods "x" not found. Try kubectl'}],
        }
    }
    [finished] = translate({"message": {"role": "user", "content": [other]}}, "eks_assistant", names)
    assert finished.reason == 'Error: pods "x" not found.'  # an unknown kind: its first sentence only


def test_an_error_in_slack_says_what_to_do_and_keeps_settings_on_the_admin_line() -> None:
    from agents.events import ErrorEvent
    from agents.failures import describe_failure
    from slackbot.renderer import error_text

    event = describe_failure(RuntimeError("Error code: 429 - rate limit"), "abc")
    text = error_text(event)
    first, admin, reference = text.split("\n")
    assert (
        first.startswith(":warning: *The model is throttled right now")
        and "Ask again in a few minutes" in first
    )
    assert "quota" not in first and admin.startswith("_For the bot's admin: ") and "quota" in admin
    assert reference == "_Reference: `abc`_"
    plain = error_text(ErrorEvent("approval_pending", "Waiting.", "", "c1", action="Approve or deny it."))
    assert plain == ":warning: *Waiting.* Approve or deny it.\n_Reference: `c1`_"
