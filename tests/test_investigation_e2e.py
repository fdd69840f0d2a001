"""One investigation across two specialists: "why is crashy slow?" gets the pod's restart events from the
cluster (the real EKS MCP server over the fake Kubernetes API) and its latency series from a real
Prometheus (our MCP server), combined in one answer with the chart of the series.

Only the models are scripted, and each reads its numbers out of its own tool's result, so a right number
in the answer came from the cluster or from Prometheus.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from agents.coordinator import Assistant
from agents.events import ChartReady, FinalAnswer, ToolStarted
from agents.runner import ConversationRunner
from agents.settings import load_settings
from tests.fakes.brains import cluster_from
from tests.fakes.scripted_model import Reply, ScriptedModels, ToolCall, Turn
from tests.real_prometheus import PrometheusWorld

LATENCY = 'demo_crashy_latency_seconds{service="crashy"}'


def coordinator(turn: Turn) -> Reply:
    """Asks both specialists at once, then puts their findings side by side."""
    if not turn.tool_results:
        return [
            ToolCall("eks_assistant", {"query": "Is pod crashy-7f9c in default restarting, and why?"}),
            ToolCall("metrics_assistant", {"query": "crashy's latency over the last minutes"}),
        ]
    return "Findings:\n" + "\n".join(f"- {r.strip()}" for r in turn.unfenced_results())


def eks(turn: Turn) -> Reply:
    if not turn.tool_results:
        return ToolCall(
            "get_k8s_events",
            {
                "cluster_name": cluster_from(turn.system),
                "kind": "Pod",
                "name": "crashy-7f9c",
                "namespace": "default",
            },
        )
    found = re.search(r"Back-off restarting failed container \w+", turn.unfenced_results()[-1])
    return f"crashy-7f9c: {found.group(0)}" if found else "no restart event found"


def metrics(start: int) -> object:
    def brain(turn: Turn) -> Reply:
        if not turn.tool_results:
            return ToolCall(
                "query_range", {"query": LATENCY, "start": str(start), "end": "now", "step": "1s"}
            )
        [series] = json.loads(turn.unfenced_results()[-1])["result"]
        return f"latency went from {series['first']} s to {series['last']} s"

    return brain


async def test_why_is_crashy_slow_combines_its_restarts_and_its_latency_series(
    agent_env: Path, prometheus: PrometheusWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MCP_SERVERS", "eks,prometheus")
    monkeypatch.setenv("PROMETHEUS_URL", prometheus.prometheus.url)
    real, target = prometheus.prometheus, prometheus.target
    target.set("demo_crashy_latency_seconds", 0.2, service="crashy")
    start = int(real.wait_value(LATENCY, 0.2))
    target.set("demo_crashy_latency_seconds", 1.5, service="crashy")
    real.wait_value(LATENCY, 1.5, whole_second=True)

    models = ScriptedModels(
        {"coordinator": coordinator, "eks_assistant": eks, "metrics_assistant": metrics(start)}
    )
    assistant = Assistant(load_settings(), models=models)
    try:
        events = [e async for e in ConversationRunner(assistant, None).ask("why is crashy slow?", "C1:1")]
    finally:
        assistant.close()
    final = [e for e in events if isinstance(e, FinalAnswer)][-1]
    assert "crashy-7f9c: Back-off restarting failed container app" in final.text  # from the cluster
    assert "latency went from 0.2 s to 1.5 s" in final.text  # from Prometheus
    steps = {(e.agent, e.tool) for e in events if isinstance(e, ToolStarted)}
    assert {("eks_assistant", "get_k8s_events"), ("metrics_assistant", "query_range")} <= steps
    [chart] = [e.chart for e in events if isinstance(e, ChartReady)]
    assert chart.query == LATENCY
    system = models.models["coordinator"].requests[0].system
    assert "→ eks_assistant." in system and "→ metrics_assistant." in system
    assert "investigation" in system  # the route that asks both for one question
