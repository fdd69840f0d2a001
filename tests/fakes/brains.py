"""Rule-based brains that behave like a competent model on the demo questions.

They route by keywords and read real tool results (the JSON the real EKS MCP server returns), so the
answers in tests come from the fake cluster through the real server, not from the script.
"""

from __future__ import annotations

import json
import re
from typing import Any

from tests.fakes.scripted_model import Brain, Reply, ToolCall, Turn

COST_WORDS = ("cost", "spend", "bill", "budget", "savings", "forecast", "anomal", "$")
K8S_WORDS = (
    "pod",
    "deploy",
    "cluster",
    "namespace",
    "node",
    "crash",
    "log",
    "service",
    "kubernetes",
    "k8s",
    "failing",
    "pending",
    "image",
    "delete",
    "scale",
    "restart",
)
POD_RE = re.compile(r"\b([a-z0-9]+(?:-[a-z0-9]+)+)\b")


def cluster_from(system: str) -> str:
    match = re.search(r"Cluster in scope: ([^\s(]+)", system)
    return match.group(1) if match else "default"


def namespace_from(text: str) -> str:
    match = re.search(r"\bin (?:namespace )?([a-z0-9-]+)\b", text)
    return match.group(1) if match and match.group(1) not in ("the", "my", "a") else "default"


def coordinator(turn: Turn) -> Reply:
    """Route K8s → eks_assistant, cost → finops_assistant, the rest answered directly."""
    if turn.tool_results:
        return "\n\n".join(turn.unfenced_results())
    text = turn.user_text.lower()
    if any(w in text for w in COST_WORDS):
        return ToolCall("finops_assistant", {"query": turn.user_text})
    if any(w in text for w in K8S_WORDS) or POD_RE.search(text):
        query = turn.user_text
        if turn.history and re.search(r"\b(it|its|that|this)\b", text):
            query = f"{turn.user_text} (context: earlier the user asked: {turn.history[-1]})"
        return ToolCall("eks_assistant", {"query": query})
    return "Hello! I'm sre-bot. Ask me about your Kubernetes cluster or your AWS costs."


def _names(result: str) -> list[str]:
    try:
        data: Any = json.loads(result[result.find("{") :]) if "{" in result else None
    except ValueError:
        data = None
    if isinstance(data, dict):
        items = data.get("items") or data.get("resources") or []
        names = []
        for item in items:
            if isinstance(item, dict):
                meta = item.get("metadata") if isinstance(item.get("metadata"), dict) else item
                if isinstance(meta, dict) and meta.get("name"):
                    names.append(str(meta["name"]))
        return names
    return re.findall(r'"name":\s*"([^"]+)"', result)


DELETE_RE = re.compile(r"delete (deployment|pod|configmap) ([a-z0-9-]+)", re.I)
KINDS = {"deployment": ("Deployment", "apps/v1"), "pod": ("Pod", "v1"), "configmap": ("ConfigMap", "v1")}


def delete_call(match: re.Match[str], cluster: str) -> ToolCall:
    kind, api_version = KINDS[match.group(1).lower()]
    return ToolCall(
        "manage_k8s_resource",
        {
            "operation": "delete",
            "cluster_name": cluster,
            "kind": kind,
            "api_version": api_version,
            "name": match.group(2),
            "namespace": "default",
        },
    )


APPLY_RE = re.compile(r"apply (?:the manifest )?(/\S+\.ya?ml)", re.I)


def eks(turn: Turn) -> Reply:
    """List pods, read a named pod's logs, or delete what the user names; then report the tool's answer.

    Like an over-obedient model, it also follows a "delete deployment X" it reads in a tool result (the
    prompt-injection case): the write gate, not the model, must stop that.
    """
    text = turn.user_text
    cluster = cluster_from(turn.system)
    pod = next((m for m in POD_RE.findall(text) if any(c.isdigit() for c in m)), None)
    asked_delete = DELETE_RE.search(text) or APPLY_RE.search(text)
    if asked_delete and not turn.tool_results:
        if asked_delete.re is APPLY_RE:
            return ToolCall(
                "apply_yaml",
                {
                    "yaml_path": asked_delete.group(1),
                    "cluster_name": cluster,
                    "namespace": "default",
                    "force": True,
                },
            )
        return delete_call(asked_delete, cluster)
    if turn.tool_results and not asked_delete and len(turn.tool_results) == 1:
        injected = DELETE_RE.search(turn.unfenced_results()[-1])
        if injected:
            return delete_call(injected, cluster)
    if turn.tool_results and (asked_delete or len(turn.tool_results) > 1):
        return f"Result of the change: {turn.unfenced_results()[-1][:500]}"
    if not turn.tool_results:
        if pod and re.search(r"log|why|fail|crash|wrong", text, re.I):
            return ToolCall(
                "get_pod_logs",
                {
                    "cluster_name": cluster,
                    "namespace": namespace_from(text),
                    "pod_name": pod,
                    "tail_lines": 50,
                },
            )
        return ToolCall(
            "list_k8s_resources",
            {"cluster_name": cluster, "kind": "Pod", "api_version": "v1", "namespace": namespace_from(text)},
        )
    result = turn.unfenced_results()[-1]
    if pod:
        return f"Logs of `{pod}`:\n```\n{result.strip()[:1500]}\n```"
    names = _names(result)
    if not names:
        return f"The cluster answered:\n{result[:1500]}"
    return f"Pods in {namespace_from(text)}:\n" + "\n".join(f"- {n}" for n in names)


def finops(turn: Turn) -> Reply:
    """Ask Cost Explorer for last month by service, then report the figures it returned."""
    if not turn.tool_results:
        return ToolCall(
            "cost-explorer",
            {
                "operation": "getCostAndUsage",
                "start_date": "2026-10-01",
                "end_date": "2026-11-01",
                "granularity": "MONTHLY",
                "metrics": '["UnblendedCost"]',
                "group_by": '[{"Type": "DIMENSION", "Key": "SERVICE"}]',
            },
        )
    result = turn.unfenced_results()[-1]
    lines = []
    for keys, amount, unit in re.findall(
        r'"Keys":\s*\["([^"]+)"\],\s*"Metrics":\s*\{"UnblendedCost":\s*\{"Amount":\s*"([0-9.]+)",\s*"Unit":\s*"(\w+)"',
        result.replace('\\"', '"'),
    ):
        lines.append(f"- {keys}: {float(amount):,.2f} {unit}")
    if not lines:
        return f"Cost Explorer answered:\n{result[:1500]}"
    return "Last month's cost by service:\n" + "\n".join(lines)


def default_brains() -> dict[str, Brain]:
    return {"coordinator": coordinator, "eks_assistant": eks, "finops_assistant": finops}
