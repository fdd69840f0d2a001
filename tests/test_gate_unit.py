"""The write gate's hook on its own: what it asks approval for, and what it refuses before asking."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agents.gate.audit import JsonlAuditLog
from agents.gate.write_gate import GatePolicy, WriteGate


class Asked(Exception):
    """Raised where Strands would pause the agent for an approval."""

    def __init__(self, reason: dict[str, Any]) -> None:
        super().__init__("approval asked")
        self.reason = reason


class Event:
    """The fields of BeforeToolCallEvent the gate reads and writes."""

    def __init__(self, tool: str, args: dict[str, Any]) -> None:
        self.tool_use = {"name": tool, "toolUseId": "t1", "input": args}
        self.selected_tool = object()  # a tool was found (none behind an MCP server here)
        self.agent = None
        self.cancel_tool: bool | str = False
        self.invocation_state: dict[str, Any] = {}  # Strands always gives one (here: no request facts)

    def interrupt(self, name: str, reason: dict[str, Any]) -> Any:
        raise Asked(reason)


@pytest.fixture
def gate(tmp_path: Path) -> WriteGate:
    (tmp_path / "manifests").mkdir()
    return WriteGate(
        GatePolicy(writes_enabled=True, approvals_configured=True),
        JsonlAuditLog(tmp_path / "audit.jsonl"),
        context=dict,
        manifest_dir=tmp_path / "manifests",
        approved_dir=tmp_path / "approved",
    )


def test_a_stack_deploy_asks_for_approval_of_its_template(gate: WriteGate, tmp_path: Path) -> None:
    """A CloudFormation template holds no Kubernetes objects: it is not checked as a manifest."""
    template = tmp_path / "manifests" / "stack.yaml"
    template.write_text("AWSTemplateFormatVersion: '2010-09-09'\nResources: {}\n")
    event = Event(
        "manage_eks_stacks", {"operation": "deploy", "template_file": str(template), "cluster_name": "prod"}
    )
    with pytest.raises(Asked) as asked:
        gate.before(event)  # type: ignore[arg-type]
    assert asked.value.reason["summary"] == "Deploy the EKS CloudFormation stack on cluster prod"
    assert "Resources: {}" in asked.value.reason["arguments"]["file_content"]
    assert event.cancel_tool is False


def test_a_manifest_is_named_object_by_object_on_the_card(gate: WriteGate, tmp_path: Path) -> None:
    manifest = tmp_path / "manifests" / "app.yaml"
    manifest.write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n---\n"
        "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\n"
    )
    with pytest.raises(Asked) as asked:
        gate.before(Event("apply_yaml", {"yaml_path": str(manifest), "cluster_name": "prod"}))  # type: ignore[arg-type]
    assert asked.value.reason["summary"] == (
        f"Apply the manifest {manifest} on cluster prod: Deployment web (apps/v1) in namespace default; "
        "Service web (v1) in namespace shop"
    )


def test_a_manifest_with_a_list_is_refused_before_any_card(gate: WriteGate, tmp_path: Path) -> None:
    manifest = tmp_path / "manifests" / "list.yaml"
    manifest.write_text("apiVersion: v1\nkind: List\nmetadata: {name: harmless}\nitems: []\n")
    event = Event("apply_yaml", {"yaml_path": str(manifest), "cluster_name": "prod"})
    gate.before(event)  # type: ignore[arg-type]
    assert isinstance(event.cancel_tool, str) and "lists are not accepted" in event.cancel_tool
