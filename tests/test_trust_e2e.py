"""The trust boundary end to end: real Bolt app, fake Slack, real EKS MCP server, recording fake cluster.

The scripted model here is an over-obedient one: it sends whatever path-walking name it was "told" to,
and repeats the raw tool result into its answer. What reaches the cluster and Slack must still be safe.
"""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path

import pytest

from agents.gate.audit import JsonlAuditLog
from agents.settings import load_settings
from tests.fakes.brains import cluster_from, coordinator
from tests.fakes.fake_cluster import FakeKubeAPI
from tests.fakes.scripted_model import Reply, ScriptedModels, ToolCall, Turn
from tests.fakes.slack_api import BOT_USER
from tests.slack_harness import Harness, running_bot

PASSWORD = "Hunter2-prod-db-pw"
ENV_PASSWORD = "s3cr3t-env-value-77"
TRAVERSAL_READ = "x/../../secrets/db-credentials"
TRAVERSAL_DELETE = "x/../../../../apis/apps/v1/namespaces/default/deployments/web"


def seed_secrets(kube: FakeKubeAPI) -> None:
    """A Secret applied with kubectl (its last-applied annotation holds stringData) and a pod with env."""
    applied = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db-credentials", "namespace": "default"},
        "stringData": {"password": PASSWORD},
    }
    kube.add(
        {
            "kind": "Secret",
            "metadata": {
                "name": "db-credentials",
                "namespace": "default",
                "annotations": {"kubectl.kubernetes.io/last-applied-configuration": json.dumps(applied)},
            },
            "type": "Opaque",
            "data": {"password": base64.b64encode(PASSWORD.encode()).decode()},
        }
    )
    kube.add(
        {
            "kind": "Pod",
            "metadata": {"name": "api-1", "namespace": "default", "labels": {"app": "api"}},
            "spec": {
                "containers": [
                    {
                        "name": "api",
                        "image": "api:1",
                        "env": [
                            {"name": "DB_PASSWORD", "value": ENV_PASSWORD},
                            {"name": "BYPASS_AUTH", "value": "false-by-default"},
                        ],
                    }
                ]
            },
            "status": {"phase": "Running"},
        }
    )


def eks(turn: Turn) -> Reply:
    """Does exactly what the question says, then pastes the raw tool result into its answer."""
    if turn.tool_results:
        return "The cluster answered:\n" + turn.unfenced_results()[-1]
    cluster = cluster_from(turn.system)
    text = turn.user_text
    base = {"cluster_name": cluster, "api_version": "v1", "namespace": "default"}
    if "walk to the secret" in text:
        return ToolCall(
            "manage_k8s_resource", {**base, "operation": "read", "kind": "ConfigMap", "name": TRAVERSAL_READ}
        )
    if "walk from the namespace" in text:
        return ToolCall(
            "list_k8s_resources", {**base, "kind": "Secret", "namespace": "kube-system/../default"}
        )
    if "delete the sneaky configmap" in text:
        return ToolCall(
            "manage_k8s_resource",
            {**base, "operation": "delete", "kind": "ConfigMap", "name": TRAVERSAL_DELETE},
        )
    if "list the secrets" in text:
        return ToolCall("list_k8s_resources", {**base, "kind": "Secret"})
    if "read the secret" in text:
        return ToolCall(
            "manage_k8s_resource", {**base, "operation": "read", "kind": "Secret", "name": "db-credentials"}
        )
    if "show pod api-1" in text:
        return ToolCall("manage_k8s_resource", {**base, "operation": "read", "kind": "Pod", "name": "api-1"})
    return "I do not know that one."


@pytest.fixture
def models() -> ScriptedModels:
    return ScriptedModels({"coordinator": coordinator, "eks_assistant": eks})


async def ask(h: Harness, text: str) -> str:
    event = h.slack.mention(f"{text} in the cluster", user="U1")
    await asyncio.to_thread(h.slack.send_event, event)
    replies = await h.final_reply("C1", event["ts"])
    return "\n".join(
        m.final_text + json.dumps(m.blocks) for m in h.slack.thread("C1", event["ts"]) if m.user == BOT_USER
    ) + ("\n" + replies[-1].final_text)


def paths(kube: FakeKubeAPI) -> list[str]:
    return [r["path"] for r in kube.requests]


@pytest.mark.parametrize("read_only", [True, False])
async def test_a_name_or_namespace_that_walks_the_api_path_reaches_nothing(
    agent_env: Path,
    tmp_path: Path,
    models: ScriptedModels,
    kube: FakeKubeAPI,
    read_only: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seed_secrets(kube)
    if not read_only:
        monkeypatch.setenv("EKS_MCP_ALLOW_WRITE", "true")
        monkeypatch.setenv("APPROVER_USER_IDS", "U2")
    async with running_bot(models, tmp_path) as h:
        walked = await ask(h, "walk to the secret")
        listed = await ask(h, "walk from the namespace")
    assert not [p for p in paths(kube) if "/secrets" in p], paths(kube)
    assert PASSWORD not in walked and PASSWORD not in listed
    assert "Refused before anything was sent to the cluster" in walked
    assert "name='x/../../secrets/db-credentials' is not valid" in walked
    assert "namespace='kube-system/../default' is not valid" in listed
    refusals = [
        r for r in JsonlAuditLog(load_settings().audit_log_path).records() if r["event"] == "tool_refused"
    ]
    assert {r["tool"] for r in refusals} == {"manage_k8s_resource", "list_k8s_resources"}


async def test_no_card_is_offered_for_a_call_whose_target_is_a_path(
    agent_env: Path,
    tmp_path: Path,
    models: ScriptedModels,
    kube: FakeKubeAPI,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EKS_MCP_ALLOW_WRITE", "true")
    monkeypatch.setenv("APPROVER_USER_IDS", "U2")
    async with running_bot(models, tmp_path) as h:
        answer = await ask(h, "delete the sneaky configmap")
        cards = [m for m in h.slack.messages.values() if any(b.get("type") == "actions" for b in m.blocks)]
    assert cards == []  # nothing to approve: the call was refused before a card could describe it
    assert kube.mutations() == []
    assert "is not valid" in answer and kube.get("deployments", "default", "web") is not None


@pytest.mark.parametrize(
    ("question", "hidden", "visible"),
    [
        ("list the secrets", [PASSWORD], ["db-credentials", "password"]),
        ("read the secret", [PASSWORD, base64.b64encode(PASSWORD.encode()).decode()], ["db-credentials"]),
        ("show pod api-1", [ENV_PASSWORD], ["DB_PASSWORD", "false-by-default"]),
    ],
)
async def test_secret_values_never_reach_slack_or_the_model(
    agent_env: Path,
    tmp_path: Path,
    models: ScriptedModels,
    kube: FakeKubeAPI,
    monkeypatch: pytest.MonkeyPatch,
    question: str,
    hidden: list[str],
    visible: list[str],
) -> None:
    """Even with sensitive-data access on (agent_env), values are replaced; names and keys stay.

    Writes are on so that reads through manage_k8s_resource are offered (read-only mode offers only
    tools that never write).
    """
    monkeypatch.setenv("EKS_MCP_ALLOW_SENSITIVE_DATA", "true")
    monkeypatch.setenv("EKS_MCP_ALLOW_WRITE", "true")
    monkeypatch.setenv("APPROVER_USER_IDS", "U2")
    seed_secrets(kube)
    async with running_bot(models, tmp_path) as h:
        answer = await ask(h, question)
        seen_by_models = json.dumps([m.requests for m in h.models.models.values()], default=str)
    audit = await asyncio.to_thread(load_settings().audit_log_path.read_text)
    for value in hidden:
        assert value not in answer
        assert value not in seen_by_models
        assert value not in audit
    for value in visible:
        assert value in answer
