"""The write gate's hook, driven directly: what each call is told, what is audited and counted.

Written for mutation testing (tests/MUTATION.md). tests/test_write_gate.py shows the gate end to end with
agents and the real EKS server (seconds per test); here a stand-in for Strands' BeforeToolCallEvent and
AfterToolCallEvent drives `WriteGate.before`/`after` in milliseconds, so every branch is pinned: reads,
refusals, read-only and no-approver blocks, the approval interrupt, approved/denied/changed/replayed
resumes, manifests frozen by content and handed over as approved copies.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from agents.fleet import CLUSTER_SCOPE, ClusterConfig, ClusterRefused, ClusterScope, Fleet, Resolution
from agents.gate.clusters import Bound, bind_call, writes_allowed
from agents.gate.write_gate import (
    APPROVAL_INTERRUPT,
    FILE_CONTENT,
    REQUEST_FACTS,
    UNKNOWN_TOOL,
    GatePolicy,
    WriteGate,
    call_hash,
    classify,
    describe_call,
    file_argument,
    tool_facts,
)
from agents.metrics import REGISTRY
from agents.redact import REDACTED
from slackbot.config import NO_APPROVERS_TEXT, READ_ONLY_TEXT
from tests.fakes.audit import Audit

OPEN = GatePolicy(writes_enabled=True, approvals_configured=True)
DELETE = {"operation": "delete", "kind": "Deployment", "api_version": "apps/v1", "name": "web"}
DELETE_HASH = call_hash("manage_k8s_resource", DELETE)
READ_WEB = {"operation": "read", "kind": "Deployment", "api_version": "apps/v1", "name": "web"}


@dataclass
class Agent:
    name: str = "eks_assistant"


@dataclass
class Before:
    """What the gate reads and writes of Strands' BeforeToolCallEvent."""

    tool_use: dict[str, Any]
    response: Any = None
    # a tool Strands found (no MCP server behind it unless a test gives one); None: no tool by that name
    selected_tool: Any = field(default_factory=lambda: SelectedTool(None, None))
    agent: Any = field(default_factory=Agent)
    cancel_tool: bool | str = False
    interrupts: list[tuple[str, Any]] = field(default_factory=list)
    invocation_state: dict[str, Any] = field(default_factory=dict)

    def interrupt(self, name: str, reason: Any = None) -> Any:
        self.interrupts.append((name, reason))
        if self.response is None:
            raise Paused(reason)
        return self.response


class Paused(Exception):
    """Strands' InterruptException: the agent stops until someone answers."""


@dataclass
class After:
    """What the gate reads of Strands' AfterToolCallEvent."""

    tool_use: dict[str, Any]
    result: Any
    selected_tool: Any = None
    invocation_state: dict[str, Any] = field(default_factory=dict)


@dataclass
class Server:
    name: str


@dataclass
class SelectedTool:
    server: Any
    parameters: Any


def use(tool: str, args: Any, tool_use_id: str = "t1") -> dict[str, Any]:
    return {"toolUseId": tool_use_id, "name": tool, "input": args}


def gate(policy: GatePolicy = OPEN, **kwargs: Any) -> tuple[WriteGate, Audit]:
    audit = Audit()
    return WriteGate(
        policy, audit, context=lambda: {"user": "U1", "conversation_id": "C1:1"}, **kwargs
    ), audit


def count(tool: str, outcome: str, cluster: str = "(none)") -> float:
    labels = {"tool": tool, "outcome": outcome, "cluster": cluster}
    return REGISTRY.get_sample_value("sre_bot_tool_calls_total", labels) or 0.0


# --- reads and refusals -----------------------------------------------------------------------------------


def test_a_read_runs_untouched_and_is_audited_as_a_read_with_the_request_context() -> None:
    g, audit = gate()
    args = {"kind": "Pod", "namespace": "default", "token": "xoxb-1-secret"}
    event = Before(use("list_k8s_resources", args))
    g.before(event)  # type: ignore[arg-type]
    assert event.cancel_tool is False and event.interrupts == []
    assert audit.records == [
        {
            "event": "tool_call",
            "tool": "list_k8s_resources",
            "tool_use_id": "t1",
            "access": "read",
            "arguments": {"kind": "Pod", "namespace": "default", "token": REDACTED},
            "cluster": None,  # no fleet (no cluster configured): the record still says it names none
            "user": "U1",
            "conversation_id": "C1:1",
        }
    ]


def test_arguments_sent_as_a_json_string_are_checked_like_an_object() -> None:
    g, audit = gate()
    event = Before(use("list_k8s_resources", json.dumps({"kind": "Pod", "namespace": "x/../kube-system"})))
    g.before(event)  # type: ignore[arg-type]
    assert (
        isinstance(event.cancel_tool, str)
        and "namespace='x/../kube-system' is not valid" in event.cancel_tool
    )
    assert audit.records[0]["event"] == "tool_refused"


@pytest.mark.parametrize(
    ("tool", "args", "access"),
    [
        ("get_pod_logs", {"namespace": "default", "pod_name": "../secrets"}, "read"),
        ("manage_k8s_resource", {**DELETE, "name": "x/../../secrets/db"}, "write"),
    ],
)
def test_an_invalid_name_is_refused_before_any_approval_and_counted_once(
    tool: str, args: dict[str, Any], access: str
) -> None:
    g, audit = gate()
    before = count(tool, "refused")
    event = Before(use(tool, args))
    g.before(event)  # type: ignore[arg-type]
    assert event.interrupts == []  # no card is ever made for it
    assert isinstance(event.cancel_tool, str)
    [record] = audit.records
    assert event.cancel_tool == (
        f"Refused before anything was sent to the cluster: {record['detail']}. Correct the argument and call "
        f"{tool} again; names and namespaces are plain Kubernetes names, never paths."
    )
    assert record["event"] == "tool_refused" and record["reason"] == "invalid_argument"
    assert record["access"] == access and "is not valid" in record["detail"]
    assert count(tool, "refused") == before + 1


def test_the_selected_tools_server_and_parameters_are_checked() -> None:
    g, audit = gate()
    eks = SelectedTool(Server("eks"), ["cluster_name"])
    unknown = Before(use("brand_new_tool", {}), selected_tool=eks)
    g.before(unknown)  # type: ignore[arg-type]
    assert "brand_new_tool is not a tool this bot knows how to check" in str(unknown.cancel_tool)
    extra = Before(use("list_api_versions", {"cluster_name": "prod", "path": "/x"}), selected_tool=eks)
    g.before(extra)  # type: ignore[arg-type]
    assert "list_api_versions does not take path" in str(extra.cancel_tool)
    assert [r["event"] for r in audit.records] == ["tool_refused", "tool_refused"]


def test_tool_facts_name_the_server_and_parameters_and_nothing_for_a_plain_tool() -> None:
    assert tool_facts(SelectedTool(Server("eks"), ["a", "b"])) == {"server": "eks", "parameters": ["a", "b"]}
    assert tool_facts(SelectedTool(None, ["a"])) == {}
    assert tool_facts(object()) == {}

    class Bare:
        server = object()  # a server without a name, a tool without declared parameters

    assert tool_facts(Bare()) == {"server": None, "parameters": None}


def test_the_read_operation_of_a_write_tool_runs_as_a_read_and_its_result_is_a_read() -> None:
    g, audit = gate()
    event = Before(use("manage_k8s_resource", READ_WEB, "r7"))
    g.before(event)  # type: ignore[arg-type]
    assert event.interrupts == [] and event.cancel_tool is False
    g.after(After(use("manage_k8s_resource", READ_WEB, "r7"), {}))  # type: ignore[arg-type]
    assert [(r["event"], r["access"]) for r in audit.records] == [
        ("tool_call", "read"),
        ("tool_result", "read"),
    ]
    assert audit.records[-1]["outcome"] == "unknown"  # a result without a status


def test_the_duration_of_a_call_is_audited_in_milliseconds(monkeypatch: pytest.MonkeyPatch) -> None:
    from agents.gate import write_gate

    clock = iter([100.0, 100.12345])
    monkeypatch.setattr(write_gate.time, "monotonic", lambda: next(clock))
    g, audit = gate()
    g.before(Before(use("list_k8s_resources", {"kind": "Pod"}, "d1")))  # type: ignore[arg-type]
    g.after(After(use("list_k8s_resources", {"kind": "Pod"}, "d1"), {"status": "success"}))  # type: ignore[arg-type]
    assert audit.records[-1]["duration_ms"] == 123.5


# --- writes without approvals -----------------------------------------------------------------------------


def test_read_only_mode_blocks_a_write_with_how_to_enable_writes() -> None:
    policy = GatePolicy(writes_enabled=False, approvals_configured=True, read_only_text=READ_ONLY_TEXT)
    g, audit = gate(policy)
    before = count("manage_k8s_resource", "blocked")
    event = Before(use("manage_k8s_resource", DELETE))
    g.before(event)  # type: ignore[arg-type]
    assert event.interrupts == []
    assert event.cancel_tool == (  # Slack's words, as `sre-bot run` and `sre-bot ask` pass them
        "Read-only mode: this bot cannot change the cluster. An operator can enable changes with "
        "EKS_MCP_ALLOW_WRITE=true (each change then needs an approval in Slack)."
    )
    [record] = audit.records
    assert record["event"] == "tool_blocked" and record["reason"] == "read_only"
    assert record["access"] == "write" and record["tool_use_id"] == "t1" and record["user"] == "U1"
    assert count("manage_k8s_resource", "blocked") == before + 1


def test_without_approvers_a_write_is_blocked_with_the_settings_to_set() -> None:
    policy = GatePolicy(writes_enabled=True, approvals_configured=False, no_approvers_text=NO_APPROVERS_TEXT)
    g, audit = gate(policy)
    event = Before(use("manage_k8s_resource", DELETE))
    g.before(event)  # type: ignore[arg-type]
    assert event.cancel_tool == (
        "Changes are enabled but nobody is configured to approve them, so nothing was changed. Set "
        "APPROVER_USER_IDS (Slack user ids) or APPROVER_USERGROUP (a user group id) to enable approvals."
    )
    assert audit.records[0]["reason"] == "no_approvers" and event.interrupts == []


def test_a_front_end_that_words_nothing_gets_the_gates_neutral_refusals() -> None:
    policy = GatePolicy(writes_enabled=False, approvals_configured=False)
    assert policy.read_only_message() == (
        "Read-only mode: this bot cannot change the cluster. An operator can enable changes with "
        "EKS_MCP_ALLOW_WRITE=true (each change then needs a person's approval)."
    )
    assert policy.no_approvers_message() == (
        "Changes are enabled but nobody can approve them here, so nothing was changed."
    )
    g, _audit = gate(GatePolicy(writes_enabled=True, approvals_configured=False))
    event = Before(use("manage_k8s_resource", DELETE))
    g.before(event)  # type: ignore[arg-type]
    assert event.cancel_tool == policy.no_approvers_message()


# --- the approval interrupt and the resume ----------------------------------------------------------------


def test_a_write_pauses_for_approval_with_the_exact_call_its_hash_and_a_summary() -> None:
    g, audit = gate()
    event = Before(use("manage_k8s_resource", DELETE, "t9"), agent=Agent("eks_assistant"))
    with pytest.raises(Paused):
        g.before(event)  # type: ignore[arg-type]
    [(name, reason)] = event.interrupts
    assert name == APPROVAL_INTERRUPT == "sre-bot-approval"
    assert reason == {
        "tool": "manage_k8s_resource",
        "arguments": DELETE,
        "hash": DELETE_HASH,
        "summary": "Delete Deployment web (apps/v1)",
        "agent": "eks_assistant",
        "tool_use_id": "t9",
    }
    assert audit.records == []  # audited when decided, not while it waits


def test_an_agent_without_a_name_is_named_empty() -> None:
    g, _ = gate()
    event = Before(use("manage_k8s_resource", DELETE), agent=object())
    with pytest.raises(Paused):
        g.before(event)  # type: ignore[arg-type]
    assert event.interrupts[0][1]["agent"] == ""


def approved(digest: str = DELETE_HASH, approval_id: Any = "ap1", by: str = "U2") -> dict[str, Any]:
    return {"approved": True, "hash": digest, "approval_id": approval_id, "by": by}


def test_the_approved_call_runs_once_and_is_audited_with_who_approved_it() -> None:
    g, audit = gate()
    event = Before(use("manage_k8s_resource", DELETE), response=approved())
    g.before(event)  # type: ignore[arg-type]
    assert event.cancel_tool is False
    assert event.tool_use["input"] == DELETE  # nothing rewritten for a call without a file
    [record] = audit.records
    assert record["event"] == "tool_call" and record["access"] == "write"
    assert record["approved_by"] == "U2" and record["approval_id"] == "ap1"
    again = Before(use("manage_k8s_resource", DELETE), response=approved())
    g.before(again)  # type: ignore[arg-type]
    assert again.cancel_tool == (
        "Not executed again: this approved change already ran, or was cut off by a restart while it ran. "
        "Tell the user to check the current state before asking for it again."
    )
    assert audit.records[-1]["reason"] == "already_run" and audit.records[-1]["approval_id"] == "ap1"


def test_the_shared_claim_decides_whether_an_approved_call_may_start() -> None:
    claims: list[tuple[str, str]] = []

    def claim(approval_id: str, digest: str) -> bool:
        claims.append((approval_id, digest))
        return False  # another replica (or an earlier resume) started it

    g, audit = gate(claim_execution=claim)
    event = Before(use("manage_k8s_resource", DELETE), response=approved(approval_id=7))
    g.before(event)  # type: ignore[arg-type]
    assert claims == [("7", DELETE_HASH)]
    assert audit.records[-1]["reason"] == "already_run" and "Not executed again" in str(event.cancel_tool)


@pytest.mark.parametrize("approval_id", [None, ""])
def test_an_approval_without_an_id_never_runs(approval_id: Any) -> None:
    g, audit = gate(claim_execution=lambda _id, _digest: True)
    event = Before(use("manage_k8s_resource", DELETE), response=approved(approval_id=approval_id))
    g.before(event)  # type: ignore[arg-type]
    assert str(event.cancel_tool).startswith("Not executed again")
    assert audit.records[-1]["reason"] == "already_run"


def test_an_approval_of_another_call_is_refused_as_changed_since_approval() -> None:
    g, audit = gate()
    event = Before(use("manage_k8s_resource", DELETE), response=approved(digest="0" * 64, by="U3"))
    g.before(event)  # type: ignore[arg-type]
    assert event.cancel_tool == (
        "Not executed: the change was changed since it was approved (it differs from what the approval "
        "card showed, e.g. its manifest file was edited). Nothing was changed; tell the user to ask for it "
        "again so the current version can be reviewed."
    )
    [record] = audit.records
    assert record["event"] == "tool_blocked" and record["reason"] == "changed_since_approval"
    assert record["approved_by"] == "U3"


@pytest.mark.parametrize("flag", ["true", 1, "yes"])
def test_only_approved_true_counts_as_an_approval(flag: Any) -> None:
    g, audit = gate(claim_execution=lambda _id, _digest: True)
    event = Before(use("manage_k8s_resource", DELETE), response={**approved(), "approved": flag})
    g.before(event)  # type: ignore[arg-type]
    assert audit.records[-1]["event"] == "tool_blocked" and audit.records[-1]["reason"] == "denied"


def test_a_denial_says_who_denied_it_and_not_to_retry() -> None:
    g, audit = gate()
    event = Before(use("manage_k8s_resource", DELETE), response={"approved": False, "by": "U2"})
    g.before(event)  # type: ignore[arg-type]
    assert event.cancel_tool == (
        "Not executed: the change was denied by U2. Nothing was changed; tell the user and do not retry "
        "it unless they ask again."
    )
    [record] = audit.records
    assert record["reason"] == "denied" and record["decided_by"] == "U2" and record["access"] == "write"


def test_an_expiry_says_so_without_a_decider() -> None:
    g, audit = gate()
    event = Before(use("manage_k8s_resource", DELETE), response={"approved": False, "reason": "expired"})
    g.before(event)  # type: ignore[arg-type]
    assert event.cancel_tool == (
        "Not executed: the change was expired. Nothing was changed; tell the user and do not retry it "
        "unless they ask again."
    )
    assert audit.records[-1]["reason"] == "expired" and audit.records[-1]["decided_by"] is None


def test_a_decision_with_its_own_message_passes_it_on_verbatim() -> None:
    g, audit = gate()
    message = "Not run: the bot restarted while this change was running. Tell the user."
    response = {"approved": False, "reason": "not_run", "message": message, "by": "U2"}
    event = Before(use("manage_k8s_resource", DELETE), response=response)
    g.before(event)  # type: ignore[arg-type]
    assert event.cancel_tool == message
    assert audit.records[-1]["reason"] == "not_run"


def test_a_response_that_is_not_a_decision_is_a_denial() -> None:
    g, audit = gate()
    event = Before(use("manage_k8s_resource", DELETE), response="approve")
    g.before(event)  # type: ignore[arg-type]
    assert str(event.cancel_tool).startswith("Not executed: the change was denied. Nothing was changed")
    assert audit.records[-1]["reason"] == "denied"


# --- calls that read a file: frozen by content, handed over as a private copy ----------------------------


@pytest.fixture
def manifest_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "manifests"
    folder.mkdir()
    (folder / "web.yaml").write_text("kind: ConfigMap\napiVersion: v1\nmetadata: {name: web}\n")
    return folder


def test_a_manifest_is_approved_by_its_content_and_objects(manifest_dir: Path) -> None:
    g, _ = gate(manifest_dir=manifest_dir, approved_dir=manifest_dir.parent / "approved")
    args = {"yaml_path": str(manifest_dir / "web.yaml"), "cluster_name": "prod"}
    event = Before(use("apply_yaml", args))
    with pytest.raises(Paused):
        g.before(event)  # type: ignore[arg-type]
    reason = event.interrupts[0][1]
    content = (manifest_dir / "web.yaml").read_text()
    assert reason["arguments"] == {**args, FILE_CONTENT: content}
    assert reason["hash"] == call_hash("apply_yaml", {**args, FILE_CONTENT: content})
    assert reason["summary"] == (
        f"Apply the manifest {manifest_dir / 'web.yaml'} on cluster prod: ConfigMap web (v1) in namespace default"
    )


def test_the_approved_content_is_what_the_server_reads_from_a_private_copy(manifest_dir: Path) -> None:
    approved_dir = manifest_dir.parent / "approved"
    g, audit = gate(manifest_dir=manifest_dir, approved_dir=approved_dir)
    args = {"yaml_path": str(manifest_dir / "web.yaml")}
    content = (manifest_dir / "web.yaml").read_text()
    digest = call_hash("apply_yaml", {**args, FILE_CONTENT: content})
    event = Before(use("apply_yaml", args), response=approved(digest=digest, approval_id="ap7"))
    g.before(event)  # type: ignore[arg-type]
    assert event.cancel_tool is False
    handed = Path(event.tool_use["input"]["yaml_path"])
    assert handed.parent == approved_dir.resolve() and handed.name == "ap7-web.yaml"
    assert handed.read_text() == content
    assert event.tool_use["toolUseId"] == "t1" and event.tool_use["name"] == "apply_yaml"
    assert audit.records[-1]["event"] == "tool_call" and audit.records[-1]["approval_id"] == "ap7"


def test_without_a_folder_for_approved_copies_the_approved_file_call_is_refused(manifest_dir: Path) -> None:
    g, audit = gate(manifest_dir=manifest_dir)
    args = {"yaml_path": str(manifest_dir / "web.yaml")}
    digest = call_hash("apply_yaml", {**args, FILE_CONTENT: (manifest_dir / "web.yaml").read_text()})
    event = Before(use("apply_yaml", args), response=approved(digest=digest))
    g.before(event)  # type: ignore[arg-type]
    assert event.cancel_tool == (
        "Not executed: the approved file could not be handed over safely (no folder for approved copies "
        "is configured). Nothing was changed; tell the user."
    )
    [record] = audit.records
    assert record["reason"] == "approved_copy_failed"
    assert record["detail"] == "no folder for approved copies is configured"
    assert event.tool_use["input"] == args


def test_a_file_that_cannot_be_shown_cannot_be_approved(manifest_dir: Path) -> None:
    g, audit = gate()  # no MANIFEST_DIR
    event = Before(use("apply_yaml", {"yaml_path": str(manifest_dir / "web.yaml")}))
    g.before(event)  # type: ignore[arg-type]
    assert event.interrupts == []
    assert event.cancel_tool == (
        "Not executed: this change cannot be shown for approval (no MANIFEST_DIR is set, so no file can be "
        "read for approval), so it cannot be approved. Nothing was changed; tell the user."
    )
    [record] = audit.records
    assert record["reason"] == "cannot_show"
    assert record["detail"] == "no MANIFEST_DIR is set, so no file can be read for approval"


def test_a_manifest_whose_objects_break_the_rules_is_refused(manifest_dir: Path) -> None:
    (manifest_dir / "bad.yaml").write_text("kind: ConfigMap\napiVersion: v1\nmetadata: {name: ../x}\n")
    g, audit = gate(manifest_dir=manifest_dir)
    before = count("apply_yaml", "refused")
    event = Before(use("apply_yaml", {"yaml_path": str(manifest_dir / "bad.yaml")}))
    g.before(event)  # type: ignore[arg-type]
    assert event.interrupts == []
    [record] = audit.records
    assert record["event"] == "tool_refused" and record["reason"] == "invalid_manifest"
    assert record["tool"] == "apply_yaml" and record["access"] == "write" and record["user"] == "U1"
    assert record["detail"].startswith("document 1.metadata.name='../x' is not valid")
    assert event.cancel_tool == (
        f"Refused before anything was sent to the cluster: {record['detail']}. Correct the argument and call "
        "apply_yaml again; names and namespaces are plain Kubernetes names, never paths."
    )
    assert count("apply_yaml", "refused") == before + 1


def test_a_stack_deploy_reads_its_template_and_other_stack_operations_do_not() -> None:
    assert file_argument("manage_eks_stacks", {"operation": "DEPLOY"}) == "template_file"
    assert file_argument("manage_eks_stacks", {"operation": "describe"}) is None
    assert file_argument("manage_eks_stacks", {}) is None
    assert file_argument("apply_yaml", {}) == "yaml_path"
    assert file_argument("manage_k8s_resource", {"operation": "deploy"}) is None


# --- after the call -------------------------------------------------------------------------------------


def test_the_result_of_a_started_call_is_audited_once_with_its_outcome() -> None:
    g, audit = gate()
    before = count("list_k8s_resources", "success")
    g.before(Before(use("list_k8s_resources", {"kind": "Pod"}, "r1")))  # type: ignore[arg-type]
    g.after(After(use("list_k8s_resources", {"kind": "Pod"}, "r1"), {"status": "success"}))  # type: ignore[arg-type]
    record = audit.records[-1]
    assert record["event"] == "tool_result" and record["outcome"] == "success"
    assert record["tool"] == "list_k8s_resources" and record["tool_use_id"] == "r1"
    assert record["access"] == "read" and record["user"] == "U1"
    assert isinstance(record["duration_ms"], float) and 0 <= record["duration_ms"] < 60_000
    assert count("list_k8s_resources", "success") == before + 1
    g.after(After(use("list_k8s_resources", {"kind": "Pod"}, "r1"), {"status": "success"}))  # type: ignore[arg-type]
    assert len(audit.records) == 2  # a second result for the same call is not recorded again


def test_an_approved_write_result_is_audited_as_a_write_and_an_odd_result_as_unknown() -> None:
    g, audit = gate()
    g.before(Before(use("manage_k8s_resource", DELETE, "w1"), response=approved()))  # type: ignore[arg-type]
    before = count("manage_k8s_resource", "unknown")
    g.after(After(use("manage_k8s_resource", DELETE, "w1"), "not a dict"))  # type: ignore[arg-type]
    record = audit.records[-1]
    assert record["access"] == "write" and record["outcome"] == "unknown"
    assert count("manage_k8s_resource", "unknown") == before + 1


def test_results_of_refused_or_blocked_calls_are_not_audited_as_results() -> None:
    g, audit = gate(GatePolicy(writes_enabled=False, approvals_configured=False))
    g.before(Before(use("manage_k8s_resource", DELETE, "b1")))  # type: ignore[arg-type]
    g.after(After(use("manage_k8s_resource", DELETE, "b1"), {"status": "error"}))  # type: ignore[arg-type]
    assert [r["event"] for r in audit.records] == ["tool_blocked"]


def test_by_default_the_request_facts_come_from_the_invocation_state() -> None:
    audit = Audit()
    g = WriteGate(OPEN, audit)
    state = {REQUEST_FACTS: {"user": "U5", "conversation_id": "C9:1"}, "agent": object()}
    g.before(Before(use("list_k8s_resources", {"kind": "Pod"}), invocation_state=state))  # type: ignore[arg-type]
    result = After(use("list_k8s_resources", {"kind": "Pod"}), {"status": "success"}, invocation_state=state)
    g.after(result)  # type: ignore[arg-type]
    g.before(Before(use("list_k8s_resources", {"kind": "Pod"}, "t2")))  # type: ignore[arg-type]
    odd = Before(use("list_k8s_resources", {"kind": "Pod"}, "t3"), invocation_state={REQUEST_FACTS: "odd"})
    g.before(odd)  # type: ignore[arg-type]
    for record in audit.records[:2]:
        assert record["user"] == "U5" and record["conversation_id"] == "C9:1" and "agent" not in record
    assert "user" not in audit.records[2] and "user" not in audit.records[3]
    assert len(audit.records) == 4


def test_the_gate_hooks_before_and_after_every_tool_call() -> None:
    from strands.hooks import AfterToolCallEvent, BeforeToolCallEvent

    added: list[tuple[Any, Any]] = []

    class Registry:
        def add_callback(self, event: Any, callback: Any) -> None:
            added.append((event, callback))

    g, _ = gate()
    g.register_hooks(Registry())  # type: ignore[arg-type]
    assert added == [(BeforeToolCallEvent, g.before), (AfterToolCallEvent, g.after)]


# --- classification, hash and card text ------------------------------------------------------------------


def test_the_verdict_says_why() -> None:
    assert classify("manage_k8s_resource", {"operation": "READ"}).why == "manage_k8s_resource read only reads"
    assert classify("manage_k8s_resource", {}).why == "manage_k8s_resource (no operation) changes state"
    assert (
        classify("manage_eks_stacks", {"operation": "Deploy"}).why == "manage_eks_stacks deploy changes state"
    )
    assert classify("get_pod_logs", {}).why == "get_pod_logs only reads"
    assert classify("x_tool", {}).why == "x_tool is not known to be read-only"


def test_the_hash_does_not_depend_on_key_order_and_survives_an_upgrade() -> None:
    """A pending approval is stored with its hash and may be decided after the bot is upgraded: the
    canonical form (sorted keys, compact separators, str() for other types) must not change."""
    a = call_hash("manage_k8s_resource", {"name": "web", "operation": "delete"})
    assert a == call_hash("manage_k8s_resource", {"operation": "delete", "name": "web"})
    canonical = '{"arguments":{"name":"web","operation":"delete"},"tool":"manage_k8s_resource"}'
    assert a == hashlib.sha256(canonical.encode()).hexdigest()
    odd = call_hash("t", {"when": Path("/x")})
    assert odd == hashlib.sha256(b'{"arguments":{"when":"/x"},"tool":"t"}').hexdigest()


@pytest.mark.parametrize(
    ("tool", "args", "summary"),
    [
        (
            "manage_k8s_resource",
            {"operation": "create", "kind": "Pod", "api_version": "v1", "name": "a"},
            "Create Pod a (v1)",
        ),
        (
            "manage_k8s_resource",
            {"operation": "replace", "kind": "Pod", "api_version": "v1", "name": "a", "namespace": "ns"},
            "Replace Pod a (v1) in namespace ns",
        ),
        (
            "manage_k8s_resource",
            {"operation": "patch", "kind": "Pod", "name": "a", "api_version": "v1"},
            "Patch Pod a (v1)",
        ),
        (
            "manage_k8s_resource",
            {"operation": "DELETE", "kind": "Pod", "name": "a", "api_version": "v1", "cluster_name": "prod"},
            "Delete Pod a (v1) on cluster prod",
        ),
        ("manage_k8s_resource", {"operation": "scale", "kind": "Pod"}, "Scale Pod"),
        ("manage_k8s_resource", {"operation": "scale"}, "Scale resource"),
        ("manage_k8s_resource", {}, "Change resource"),
        ("apply_yaml", {"yaml_path": "/m/a.yaml"}, "Apply the manifest /m/a.yaml"),
        (
            "manage_eks_stacks",
            {"operation": "deploy", "cluster_name": "prod"},
            "Deploy the EKS CloudFormation stack on cluster prod",
        ),
        ("manage_eks_stacks", {}, "Change the EKS CloudFormation stack"),
        (
            "add_inline_policy",
            {"policy_name": "p", "role_name": "r"},
            "Add inline IAM policy p to role r",
        ),
        (
            "generate_app_manifest",
            {"app_name": "web", "output_dir": "/out"},
            "Write Kubernetes manifests for web to /out",
        ),
        ("sp-purchase-analyzer", {"b": 1, "a": 2}, "Run sp-purchase-analyzer (a, b)"),
    ],
)
def test_the_card_summary_names_the_change_in_plain_words(
    tool: str, args: dict[str, Any], summary: str
) -> None:
    assert describe_call(tool, args) == summary


def test_the_card_summary_names_the_namespace_the_manifest_is_applied_in(manifest_dir: Path) -> None:
    g, _ = gate(manifest_dir=manifest_dir)
    event = Before(use("apply_yaml", {"yaml_path": str(manifest_dir / "web.yaml"), "namespace": "ops"}))
    with pytest.raises(Paused):
        g.before(event)  # type: ignore[arg-type]
    assert event.interrupts[0][1]["summary"].endswith(": ConfigMap web (v1) in namespace ops")


def test_an_approved_stack_deploy_gets_its_template_as_an_approved_copy(manifest_dir: Path) -> None:
    (manifest_dir / "stack.yaml").write_text("Resources: {}\n")
    approved_dir = manifest_dir.parent / "approved"
    g, _ = gate(manifest_dir=manifest_dir, approved_dir=approved_dir)
    args = {"operation": "deploy", "template_file": str(manifest_dir / "stack.yaml"), "cluster_name": "prod"}
    digest = call_hash("manage_eks_stacks", {**args, FILE_CONTENT: "Resources: {}\n"})
    event = Before(use("manage_eks_stacks", args), response=approved(digest=digest, approval_id="ap3"))
    g.before(event)  # type: ignore[arg-type]
    handed = event.tool_use["input"]
    assert handed == {**args, "template_file": str(approved_dir.resolve() / "ap3-stack.yaml")}
    assert Path(handed["template_file"]).read_text() == "Resources: {}\n"


def test_an_approved_copy_is_never_written_inside_manifest_dir(manifest_dir: Path) -> None:
    g, audit = gate(manifest_dir=manifest_dir, approved_dir=manifest_dir / "approved")
    args = {"yaml_path": str(manifest_dir / "web.yaml")}
    digest = call_hash("apply_yaml", {**args, FILE_CONTENT: (manifest_dir / "web.yaml").read_text()})
    event = Before(use("apply_yaml", args), response=approved(digest=digest))
    g.before(event)  # type: ignore[arg-type]
    assert audit.records[-1]["reason"] == "approved_copy_failed"
    assert "is inside MANIFEST_DIR" in audit.records[-1]["detail"]
    assert not (manifest_dir / "approved").exists()


def test_a_file_call_without_its_path_cannot_be_shown(manifest_dir: Path) -> None:
    from agents.gate.write_gate import frozen_arguments

    assert frozen_arguments("apply_yaml", {}, manifest_dir) == (
        {},
        "yaml_path: (empty) must be an absolute path to a .yaml/.yml/.json file",
    )


def test_a_manifest_that_does_not_parse_is_refused_with_the_first_120_characters_of_why(
    manifest_dir: Path,
) -> None:
    from agents.gate.write_gate import frozen_arguments

    bad = manifest_dir / "tag.yaml"
    bad.write_text("a: !" + "x" * 200 + " 1\n")
    shown, why = frozen_arguments("apply_yaml", {"yaml_path": str(bad)}, manifest_dir)
    assert FILE_CONTENT not in shown and why is not None
    prefix = f"{bad} is not a plain YAML/JSON document ("
    assert why.startswith(prefix) and why.endswith(")")
    detail = why[len(prefix) : -1]
    assert len(detail) == 120
    assert detail.startswith("not a YAML/JSON document: could not determine a constructor for the tag '!xxx")


def test_the_card_summary_lists_six_objects_and_counts_the_rest() -> None:
    from agents.gate.arguments import Target

    targets = [Target("ConfigMap", "v1", f"c{i}", "default") for i in range(8)]
    summary = describe_call("apply_yaml", {"yaml_path": "/m/all.yaml"}, targets)
    assert summary == (
        "Apply the manifest /m/all.yaml: "
        + "; ".join(f"ConfigMap c{i} (v1) in namespace default" for i in range(6))
        + "; and 2 more"
    )
    seven = describe_call("apply_yaml", {"yaml_path": "/m/seven.yaml"}, targets[:7])
    assert seven.endswith("; ConfigMap c5 (v1) in namespace default; and 1 more")
    six = describe_call("apply_yaml", {"yaml_path": "/m/six.yaml"}, targets[:6])
    assert not six.endswith("more") and six.count("ConfigMap") == 6


def test_an_invalid_call_is_summarised_without_objects() -> None:
    summary = describe_call("manage_k8s_resource", {"operation": "delete", "kind": "Pod", "name": "../x"})
    assert summary == "Delete Pod"


def test_a_tool_that_does_not_exist_is_refused_without_a_card() -> None:
    """A misspelled tool (Strands found none by that name) would run nothing: no card is asked for it."""
    g, audit = gate()
    before = count(UNKNOWN_TOOL, "refused")
    event = Before(use("Manage_K8s_Resource", DELETE), selected_tool=None)
    g.before(event)  # type: ignore[arg-type]
    assert event.interrupts == []
    assert event.cancel_tool == (
        "Not run: there is no tool named 'Manage_K8s_Resource'. Call one of the tools you were given, "
        "spelled exactly as listed."
    )
    assert [(r["event"], r["reason"], r["tool"]) for r in audit.records] == [
        ("tool_refused", "unknown_tool", "Manage_K8s_Resource")
    ]
    assert count(UNKNOWN_TOOL, "refused") == before + 1
    assert count("Manage_K8s_Resource", "refused") == 0.0  # made-up names never become metric labels


# --- the fleet: account-wide tools, made-up names, a missing scope (the security review's findings) -------


def two_clusters(prod_writes: bool = False) -> Fleet[ClusterConfig]:
    return Fleet[ClusterConfig](
        default="staging",
        clusters={
            "staging": ClusterConfig(kubeconfig_context="ctx-staging", writes=True),
            "prod": ClusterConfig(kubeconfig_context="ctx-prod", writes=prod_writes),
        },
    )


def about(*clusters: str) -> dict[str, Any]:
    return {CLUSTER_SCOPE: ClusterScope(Resolution(clusters, "question"))}


POLICY = {
    "role_name": "prod-node-role",
    "policy_name": "x",
    "permissions": {"Effect": "Allow", "Action": "*"},
}
INLINE_POLICY = SelectedTool(Server("eks"), sorted(POLICY))


def test_an_account_wide_write_needs_every_cluster_of_the_fleet_writable() -> None:
    """add_inline_policy names no cluster: a staging question must not pass it under staging's policy."""
    g, audit = gate(fleet=two_clusters())
    event = Before(
        use("add_inline_policy", POLICY), selected_tool=INLINE_POLICY, invocation_state=about("staging")
    )
    g.before(event)  # type: ignore[arg-type]
    assert event.interrupts == []
    [blocked] = audit.records
    assert (blocked["event"], blocked["reason"], blocked["cluster"]) == (
        "tool_blocked",
        "cluster_read_only",
        None,
    )
    assert "not about one cluster, and cluster prod is read-only" in str(event.cancel_tool)


def test_an_account_wide_write_on_an_all_writable_fleet_asks_with_no_cluster_on_its_card() -> None:
    g, _ = gate(fleet=two_clusters(prod_writes=True))
    event = Before(
        use("add_inline_policy", POLICY), selected_tool=INLINE_POLICY, invocation_state=about("staging")
    )
    with pytest.raises(Paused) as paused:
        g.before(event)  # type: ignore[arg-type]
    assert "cluster" not in paused.value.args[0]
    # whose AWS identity it runs with (its clusters' one process: agents/mcp/pool.py) is on the card
    assert paused.value.args[0]["summary"].endswith(
        "(with the AWS identity the bot uses for cluster staging)"
    )


def test_a_call_naming_its_cluster_or_without_a_fleet_file_says_no_identity() -> None:
    manage = SelectedTool(Server("eks"), ["operation", "kind", "api_version", "name", "cluster_name"])
    for g, state in ((gate(fleet=two_clusters(prod_writes=True))[0], about("staging")), (gate()[0], {})):
        event = Before(use("manage_k8s_resource", DELETE), selected_tool=manage, invocation_state=state)
        with pytest.raises(Paused) as paused:
            g.before(event)  # type: ignore[arg-type]
        assert "AWS identity" not in paused.value.args[0]["summary"]


@pytest.mark.parametrize(
    ("writes_enabled", "reason", "outcome"),
    [(True, "unknown_tool", "refused"), (False, "read_only", "blocked")],
)
def test_a_made_up_tool_on_a_read_only_cluster_is_unknown_and_never_a_metric_label(
    writes_enabled: bool, reason: str, outcome: str
) -> None:
    """Checked before the cluster's policy; read-only mode still says how to enable writes. Either way
    the model's string is no label."""
    g, audit = gate(GatePolicy(writes_enabled, True), fleet=two_clusters())
    before = count(UNKNOWN_TOOL, outcome)
    event = Before(use("zz_made_up_0001", {}), selected_tool=None, invocation_state=about("prod"))
    g.before(event)  # type: ignore[arg-type]
    assert [r["reason"] for r in audit.records] == [reason]
    assert count(UNKNOWN_TOOL, outcome) == before + 1
    assert all(count("zz_made_up_0001", o) == 0.0 for o in ("blocked", "refused"))


def test_with_binding_on_a_cluster_tool_without_a_scope_is_refused_not_asked() -> None:
    """The scope missing (a wiring fault) must not mean "any cluster": nothing runs, no card."""
    g, audit = gate(fleet=two_clusters())  # binds by default: fail closed
    delete = {**DELETE, "namespace": "default", "cluster_name": "ctx-prod"}
    event = Before(
        use("manage_k8s_resource", delete), selected_tool=SelectedTool(Server("eks"), sorted(delete))
    )
    g.before(event)  # type: ignore[arg-type]
    assert event.interrupts == [] and "no cluster was resolved" in str(event.cancel_tool)
    assert [(r["event"], r["reason"]) for r in audit.records] == [("tool_refused", "cluster")]


def test_with_binding_on_no_write_is_allowed_without_a_scope_and_the_fleet_of_one_is_unchanged() -> None:
    fleet = two_clusters(prod_writes=True)
    assert writes_allowed(fleet, None, "staging") is False
    assert writes_allowed(fleet, None, None) is False
    assert writes_allowed(fleet, None, "prod", bind=False) is True  # no CLUSTERS_FILE: as before
    g, _ = gate(fleet=fleet)
    event = Before(use("add_inline_policy", POLICY), selected_tool=INLINE_POLICY)  # no scope
    g.before(event)  # type: ignore[arg-type]
    assert event.interrupts == [] and "no cluster was resolved" in str(event.cancel_tool)


def test_a_cluster_name_its_capability_does_not_declare_is_refused_when_binding() -> None:
    with pytest.raises(ClusterRefused):
        bind_call(
            two_clusters(),
            about("staging"),
            {"cluster_name": "ctx-prod"},
            {"server": "billing", "parameters": {"cluster_name"}},
        )
    unbound = bind_call(
        two_clusters(),
        about("staging"),
        {"cluster_name": "ctx-prod"},
        {"server": "billing", "parameters": {"cluster_name"}},
        bind=False,
    )
    assert unbound == Bound({"cluster_name": "ctx-prod"}, None)


# --- the fleet: each call judged, audited and counted under the cluster it is bound to --------------------

LIST_PODS = {"kind": "Pod", "api_version": "v1", "namespace": "default"}
EKS_LIST = SelectedTool(Server("eks"), [*sorted(LIST_PODS), "cluster_name", "token"])
DELETE_WEB = {**DELETE, "namespace": "default"}
EKS_DELETE = SelectedTool(Server("eks"), [*sorted(DELETE_WEB), "cluster_name"])


def test_a_call_for_a_cluster_the_question_is_not_about_is_refused_audited_and_counted_exactly() -> None:
    """The record says what the model sent (redacted), who asked, and why; the count has no cluster."""
    audit = Audit()
    g = WriteGate(OPEN, audit, fleet=two_clusters())  # request facts from the invocation state
    state = {**about("staging"), REQUEST_FACTS: {"user": "U7", "conversation_id": "C7:1"}}
    args = {**LIST_PODS, "cluster_name": "ctx-prod", "token": "xoxb-1-secret"}
    before = count("list_k8s_resources", "refused")
    event = Before(use("list_k8s_resources", args, "c1"), selected_tool=EKS_LIST, invocation_state=state)
    g.before(event)  # type: ignore[arg-type]
    detail = (
        "This question is about staging, not prod: pass cluster_name='ctx-staging'. To look at prod, the "
        "user asks about it by name."
    )
    assert event.cancel_tool == f"Not run: {detail}" and event.interrupts == []
    assert audit.records == [
        {
            "event": "tool_refused",
            "reason": "cluster",
            "detail": detail,
            "tool": "list_k8s_resources",
            "tool_use_id": "c1",
            "arguments": {**args, "token": REDACTED},
            "cluster": None,
            "user": "U7",
            "conversation_id": "C7:1",
        }
    ]
    assert count("list_k8s_resources", "refused") == before + 1
    assert event.tool_use["input"] == args  # a refused call is not rewritten
    g.after(After(use("list_k8s_resources", args, "c1"), {"status": "success"}))  # type: ignore[arg-type]
    assert len(audit.records) == 1  # it never started


def test_a_cluster_refusal_of_a_tool_that_does_not_exist_counts_it_as_unknown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Whatever refuses the cluster, a made-up tool name never becomes a metric label."""
    from agents.gate import write_gate

    def refuse(*_args: Any, **_kwargs: Any) -> Bound:
        raise ClusterRefused("no cluster for you")

    monkeypatch.setattr(write_gate, "bind_call", refuse)
    g, audit = gate(fleet=two_clusters())
    before = count(UNKNOWN_TOOL, "refused")
    event = Before(use("zz_made_up_0002", {}), selected_tool=None, invocation_state=about("staging"))
    g.before(event)  # type: ignore[arg-type]
    assert event.cancel_tool == "Not run: no cluster for you"
    assert [(r["reason"], r["tool"]) for r in audit.records] == [("cluster", "zz_made_up_0002")]
    assert count(UNKNOWN_TOOL, "refused") == before + 1
    assert count("zz_made_up_0002", "refused") == 0.0


def test_a_call_is_run_with_its_bound_cluster_and_audited_and_counted_under_it() -> None:
    """The model left cluster_name out: the question's cluster is filled in, and that is what runs."""
    g, audit = gate(fleet=two_clusters())
    call = use("list_k8s_resources", dict(LIST_PODS), "b1")
    event = Before(call, selected_tool=EKS_LIST, invocation_state=about("staging"))
    g.before(event)  # type: ignore[arg-type]
    bound = {**LIST_PODS, "cluster_name": "ctx-staging"}
    assert event.cancel_tool is False
    assert event.tool_use == {"toolUseId": "b1", "name": "list_k8s_resources", "input": bound}
    assert call["input"] == LIST_PODS  # a new tool use, the model's left as it was
    assert audit.records[0]["arguments"] == bound and audit.records[0]["cluster"] == "staging"
    before = count("list_k8s_resources", "success", "staging")
    g.after(After(event.tool_use, {"status": "success"}))  # type: ignore[arg-type]
    result = audit.records[-1]
    assert (result["event"], result["cluster"], result["user"]) == ("tool_result", "staging", "U1")
    assert count("list_k8s_resources", "success", "staging") == before + 1


def test_a_call_already_bound_is_left_untouched() -> None:
    """Arguments the binding does not change are not rewritten: the tool use stays the model's own."""
    g, audit = gate(fleet=two_clusters())
    sent = json.dumps({**LIST_PODS, "cluster_name": "ctx-staging"})
    call = use("list_k8s_resources", sent)
    event = Before(call, selected_tool=EKS_LIST, invocation_state=about("staging"))
    g.before(event)  # type: ignore[arg-type]
    assert event.tool_use is call and event.tool_use["input"] == sent
    assert audit.records[0]["cluster"] == "staging"


def test_a_write_on_a_writable_cluster_asks_with_that_cluster_on_its_card() -> None:
    """staging is writable though prod is not: the call's own cluster decides, and the card names it."""
    g, audit = gate(fleet=two_clusters())
    event = Before(
        use("manage_k8s_resource", DELETE_WEB, "w2"),
        selected_tool=EKS_DELETE,
        invocation_state=about("staging"),
    )
    with pytest.raises(Paused):
        g.before(event)  # type: ignore[arg-type]
    bound = {**DELETE_WEB, "cluster_name": "ctx-staging"}
    [(_name, reason)] = event.interrupts
    assert reason == {
        "tool": "manage_k8s_resource",
        "arguments": bound,
        "hash": call_hash("manage_k8s_resource", bound),
        "summary": "Delete Deployment web (apps/v1) in namespace default on cluster ctx-staging",
        "agent": "eks_assistant",
        "tool_use_id": "w2",
        "cluster": "staging",
    }
    assert audit.records == []


def test_a_write_on_a_read_only_cluster_is_blocked_naming_that_cluster() -> None:
    g, audit = gate(fleet=two_clusters())
    before = count("manage_k8s_resource", "blocked", "prod")
    event = Before(
        use("manage_k8s_resource", DELETE_WEB), selected_tool=EKS_DELETE, invocation_state=about("prod")
    )
    g.before(event)  # type: ignore[arg-type]
    assert event.interrupts == []
    assert event.cancel_tool == (
        "Not executed: cluster prod is read-only in this bot's fleet, so nothing was changed and no approval "
        "was asked for. An operator can allow changes there with `clusters.prod.writes: true` in "
        "CLUSTERS_FILE (each change then still needs a person's approval)."
    )
    [record] = audit.records
    assert (record["event"], record["reason"], record["cluster"]) == (
        "tool_blocked",
        "cluster_read_only",
        "prod",
    )
    assert count("manage_k8s_resource", "blocked", "prod") == before + 1


def test_the_fleet_of_one_leaves_the_models_cluster_and_the_write_policy_to_the_switch() -> None:
    """bind=False (no CLUSTERS_FILE): no scope is needed, the cluster is not rewritten, and writes are
    left to EKS_MCP_ALLOW_WRITE, as before; the card names the cluster only when the call targets it."""
    g, audit = gate(fleet=two_clusters(), bind=False)
    args = {**DELETE_WEB, "cluster_name": "ctx-prod"}
    unscoped = Before(use("manage_k8s_resource", args), selected_tool=EKS_DELETE)  # no scope at all
    with pytest.raises(Paused):
        g.before(unscoped)  # type: ignore[arg-type]
    assert unscoped.tool_use["input"] == args
    assert unscoped.interrupts[0][1]["arguments"] == args and "cluster" not in unscoped.interrupts[0][1]
    scoped = Before(
        use("manage_k8s_resource", args), selected_tool=EKS_DELETE, invocation_state=about("prod")
    )
    with pytest.raises(Paused):
        g.before(scoped)  # type: ignore[arg-type]
    assert scoped.interrupts[0][1]["cluster"] == "prod"  # read-only to a CLUSTERS_FILE, not here
    assert audit.records == []


# --- the audit log names the cluster of every call, on every path -----------------------------------------


@dataclass(frozen=True)
class CallPath:
    """One way a call can go, and the records (event, reason) it leaves, each naming `cluster`."""

    tool: str
    args: dict[str, Any]
    question: str
    records: list[tuple[str, str | None]]
    cluster: str | None
    policy: GatePolicy = OPEN
    selected: Any = field(default_factory=lambda: EKS_LIST)
    decision: dict[str, Any] | None = None


APPROVED_DELETE = {**DELETE_WEB, "cluster_name": "ctx-staging"}
RAN = [("tool_call", None), ("tool_result", None)]
EVERY_PATH = {
    "read executed": CallPath("list_k8s_resources", LIST_PODS, "staging", RAN, "staging"),
    "read executed on the other cluster": CallPath("list_k8s_resources", LIST_PODS, "prod", RAN, "prod"),
    "refused: argument": CallPath(
        "list_k8s_resources",
        {**LIST_PODS, "namespace": "x/../default"},
        "staging",
        [("tool_refused", "invalid_argument")],
        "staging",
    ),
    "refused: another cluster": CallPath(
        "list_k8s_resources",
        {**LIST_PODS, "cluster_name": "ctx-prod"},
        "staging",
        [("tool_refused", "cluster")],
        None,
    ),
    "refused: unknown tool": CallPath(
        "zz_made_up_0003", {}, "staging", [("tool_refused", "unknown_tool")], None, selected=None
    ),
    "blocked: read-only mode": CallPath(
        "manage_k8s_resource",
        DELETE_WEB,
        "staging",
        [("tool_blocked", "read_only")],
        "staging",
        policy=GatePolicy(False, True),
        selected=EKS_DELETE,
    ),
    "blocked: read-only cluster": CallPath(
        "manage_k8s_resource",
        DELETE_WEB,
        "prod",
        [("tool_blocked", "cluster_read_only")],
        "prod",
        selected=EKS_DELETE,
    ),
    "blocked: no approvers": CallPath(
        "manage_k8s_resource",
        DELETE_WEB,
        "staging",
        [("tool_blocked", "no_approvers")],
        "staging",
        policy=GatePolicy(True, False),
        selected=EKS_DELETE,
    ),
    "blocked: denied": CallPath(
        "manage_k8s_resource",
        DELETE_WEB,
        "staging",
        [("tool_blocked", "denied")],
        "staging",
        selected=EKS_DELETE,
        decision={"approved": False, "reason": "denied", "by": "U2"},
    ),
    "write executed as approved": CallPath(
        "manage_k8s_resource",
        DELETE_WEB,
        "staging",
        RAN,
        "staging",
        selected=EKS_DELETE,
        decision={
            "approved": True,
            "hash": call_hash("manage_k8s_resource", APPROVED_DELETE),
            "approval_id": "ap-audit-1",
            "by": "U2",
        },
    ),
}


@pytest.mark.parametrize("path", EVERY_PATH.values(), ids=EVERY_PATH.keys())
def test_every_record_of_a_call_names_its_cluster(path: CallPath) -> None:
    """Whatever happens to a call, each audit record of it says which fleet cluster it was for (None:
    none of the question's, or no one cluster), so an auditor can filter the log by cluster."""
    g, audit = gate(path.policy, fleet=two_clusters())
    event = Before(
        use(path.tool, dict(path.args), "p1"),
        path.decision,
        path.selected,
        invocation_state=about(path.question),
    )
    g.before(event)  # type: ignore[arg-type]
    g.after(After(event.tool_use, {"status": "success"}))  # type: ignore[arg-type]
    assert [(r["event"], r.get("reason")) for r in audit.records] == path.records
    assert [r.get("cluster", "(missing)") for r in audit.records] == [path.cluster] * len(path.records)
