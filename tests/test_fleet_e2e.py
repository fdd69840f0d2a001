"""Many clusters end to end: a fleet file, two fake clusters behind one real EKS MCP server.

Two kubeconfig contexts point at two fake API servers with different pods; only the models are
scripted. Which cluster a question reaches is decided in code (name, thread, place, default), a
comparison reaches both, and the gate binds every call: a cluster outside the fleet or the question is
refused, and a write on a `writes: false` cluster never reaches it, whatever the model passes.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from strands.types.exceptions import ModelThrottledException

from agents.compose import Core, FrontEnd, build_core, load_settings
from agents.events import ApprovalRequired, ErrorEvent, FinalAnswer, Transcript
from agents.fleet import Fleet, Reach, ReachProbe
from agents.fleet.reach import NOT_RUNNING
from agents.mcp.servers import McpServer
from agents.metrics import REGISTRY
from agents.state.approvals import Approval
from frontends import cli
from slackbot.app import cluster_server
from slackbot.approvals.cards import pending_card
from tests.conftest import PROJECT_ROOT
from tests.fakes.audit import Audit
from tests.fakes.brains import default_brains
from tests.fakes.fake_cluster import FakeKubeAPI, _pod
from tests.fakes.openai_api import FakeOpenAI, turn_from_openai
from tests.fakes.scripted_model import Brain, Reply, ScriptedModels, ToolCall, Turn

STAGING_POD, PROD_POD = "alpha-web-1", "omega-api-7"
FLEET = """\
default: staging
clusters:
  staging:
    kubeconfig_context: ctx-staging
    writes: true
  prod:
    kubeconfig_context: ctx-prod
    writes: false
"""


def fleet_coordinator(turn: Turn) -> Reply:
    """Asks the Kubernetes specialist once per cluster the prompt says the question is about."""
    if turn.tool_results:
        return "\n\n".join(turn.unfenced_results())
    found = re.search(r"Clusters of this question: ([^(]+) \(", turn.system)
    assert found, "the coordinator's prompt names the question's clusters"
    return [
        ToolCall("eks_assistant", {"query": turn.user_text, "cluster": c.strip()})
        for c in found.group(1).split(",")
    ]


def calling(tool: str, args: dict[str, Any]) -> Brain:
    """A specialist that makes exactly this call (whatever its prompt says), then reports the result."""

    def brain(turn: Turn) -> Reply:
        return "\n".join(turn.unfenced_results()) if turn.tool_results else ToolCall(tool, args)

    return brain


@pytest.fixture
def clusters(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, FakeKubeAPI]]:
    apis: dict[str, FakeKubeAPI] = {}
    kubeconfigs = []
    for name, pod in (("staging", STAGING_POD), ("prod", PROD_POD)):
        api = apis[name] = FakeKubeAPI().start()
        api.add(_pod(pod, "Running", {"app": name}, {}, "img"))
        kubeconfigs.append(
            api.write_kubeconfig(tmp_path / f"kc-{name}", context=f"ctx-{name}", cluster_name=name)
        )
    (tmp_path / "clusters.yaml").write_text(FLEET)
    env = {
        "MODEL_PROVIDER": "openai",
        "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",  # never called: the models are scripted
        "KUBECONFIG": os.pathsep.join(str(k) for k in kubeconfigs),
        "CLUSTERS_FILE": str(tmp_path / "clusters.yaml"),
        "EKS_MCP_ALLOW_WRITE": "true",  # the server may write: the fleet's policy must stop prod's writes
        "MCP_SERVERS": "eks",
        "AWS_REGION": "us-east-1",
        "MCP_LOG_DIR": str(tmp_path / "log"),
        "SESSION_STORAGE_PATH": str(tmp_path / "sessions"),
        "TMPDIR": str(tmp_path),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    yield apis
    for api in apis.values():
        api.stop()


@pytest.fixture
def audit() -> Audit:
    return Audit()


def core_with(audit: Audit, **brains: Brain) -> Core:
    models = ScriptedModels({**default_brains(), "coordinator": fleet_coordinator, **brains})
    return build_core(load_settings(), FrontEnd(approvals=True), models=models, audit=audit)


@pytest.fixture
def core(clusters: dict[str, FakeKubeAPI], audit: Audit) -> Iterator[Core]:
    made = core_with(audit)
    yield made
    made.close()


async def ask(core: Core, question: str, conversation: str | None = None, **kwargs: Any) -> Transcript:
    transcript = Transcript()
    async for event in core.runner.ask(question, conversation, **kwargs):
        transcript.add(event)
    return transcript


def reached(apis: dict[str, FakeKubeAPI]) -> set[str]:
    return {name for name, api in apis.items() if any("/pods" in r["path"] for r in api.requests)}


def calls(audit: Audit, event: str = "tool_call") -> list[dict[str, Any]]:
    return [r for r in audit.records if r["event"] == event and r["tool"] != "eks_assistant"]


async def test_a_question_naming_a_cluster_reaches_only_that_cluster(
    core: Core, clusters: dict[str, FakeKubeAPI], audit: Audit
) -> None:
    labels = {"tool": "list_k8s_resources", "outcome": "success", "cluster": "prod"}
    before = REGISTRY.get_sample_value("sre_bot_tool_calls_total", labels) or 0.0
    t = await ask(core, "list the pods in default on prod")
    assert PROD_POD in (t.final or "") and STAGING_POD not in (t.final or "")
    assert reached(clusters) == {"prod"}
    [call] = calls(audit)
    assert call["cluster"] == "prod" and call["arguments"]["cluster_name"] == "ctx-prod"
    assert REGISTRY.get_sample_value("sre_bot_tool_calls_total", labels) == before + 1


async def test_a_follow_up_in_the_thread_stays_on_its_cluster(
    core: Core, clusters: dict[str, FakeKubeAPI]
) -> None:
    first = await ask(core, "list the pods in default on prod", "thread-1")
    assert PROD_POD in (first.final or "")
    clusters["prod"].requests.clear()
    again = await ask(core, "list the pods in default again", "thread-1")
    assert PROD_POD in (again.final or "") and reached(clusters) == {"prod"}
    elsewhere = await ask(core, "list the pods in default again", "thread-2")  # another thread: default
    assert STAGING_POD in (elsewhere.final or "")


async def test_a_cluster_set_for_a_thread_answers_its_questions_until_one_names_another(
    core: Core, clusters: dict[str, FakeKubeAPI]
) -> None:
    await core.runner.set_thread_cluster("thread-use", "prod")
    first = await ask(core, "list the pods in default", "thread-use", place_cluster="staging")
    assert PROD_POD in (first.final or "") and reached(clusters) == {"prod"}  # the thread's, not the place's
    coordinator = core.assistant.models.models["coordinator"]  # type: ignore[attr-defined]
    assert "(this thread's)" in coordinator.requests[-1].system
    clusters["prod"].requests.clear()
    moved = await ask(core, "list the pods in default on staging", "thread-use")
    assert STAGING_POD in (moved.final or "") and reached(clusters) == {"staging"}
    clusters["staging"].requests.clear()
    again = await ask(core, "list the pods in default", "thread-use")  # the thread moved with it
    assert STAGING_POD in (again.final or "") and reached(clusters) == {"staging"}
    with pytest.raises(ValueError, match=r"no cluster 'qa'.*staging \(default\), prod"):
        await core.runner.set_thread_cluster("thread-use", "qa")


async def test_the_probe_asks_each_cluster_through_its_own_running_server_and_starts_none(
    core: Core, clusters: dict[str, FakeKubeAPI]
) -> None:
    probe = ReachProbe(cluster_server(core.assistant))
    assert {r.ok for r in (await probe.check(fleet_of(core))).values()} == {None}  # nothing runs yet
    await asyncio.to_thread(core.start)  # the default cluster's server (staging's), as the bot starts
    reach = await probe.check(fleet_of(core))
    assert reach == {"staging": Reach(True), "prod": Reach(None, NOT_RUNNING)}  # prod's: not started
    await ask(core, "list the pods in default on prod")  # a question starts prod's own server
    clusters["prod"].stop()
    reach = await probe.check(fleet_of(core))
    assert reach["staging"] == Reach(True)
    assert reach["prod"].ok is False and reach["prod"].detail
    assert [r["path"] for r in clusters["staging"].requests].count("/api/v1/namespaces") == 2


def fleet_of(core: Core) -> Fleet[Any]:
    assert core.assistant.fleet is not None
    return core.assistant.fleet


async def test_the_place_then_the_default_decide_when_the_question_names_none(
    core: Core, clusters: dict[str, FakeKubeAPI]
) -> None:
    placed = await ask(core, "list the pods in default", place_cluster="prod")
    assert PROD_POD in (placed.final or "") and reached(clusters) == {"prod"}
    clusters["prod"].requests.clear()
    default = await ask(core, "list the pods in default")
    assert STAGING_POD in (default.final or "") and reached(clusters) == {"staging"}


async def test_a_comparison_asks_each_cluster(
    core: Core, clusters: dict[str, FakeKubeAPI], audit: Audit
) -> None:
    t = await ask(core, "compare the pods in default on prod and staging")
    assert PROD_POD in (t.final or "") and STAGING_POD in (t.final or "")
    assert reached(clusters) == {"prod", "staging"}
    assert sorted(c["cluster"] for c in calls(audit)) == ["prod", "staging"]


async def test_an_unknown_cluster_flag_lists_the_known_ones_without_a_model_call(core: Core) -> None:
    t = await ask(core, "--cluster qa list the pods")
    [error] = t.of(ErrorEvent)
    assert isinstance(error, ErrorEvent) and error.kind == "unknown_cluster"
    assert "'qa'" in error.message and "staging (default), prod" in error.message
    assert core.assistant.models.models["coordinator"].requests == []  # type: ignore[attr-defined]


DELETE_PROD = {
    "operation": "delete",
    "kind": "Pod",
    "api_version": "v1",
    "name": PROD_POD,
    "namespace": "default",
    "cluster_name": "ctx-prod",
}


async def test_a_question_about_a_read_only_cluster_offers_no_write_tool_at_all(
    clusters: dict[str, FakeKubeAPI], audit: Audit
) -> None:
    """First line: the specialist for prod alone is given only read tools (its server has no writes)."""
    offered: list[set[str]] = []
    prompts: list[str] = []

    def specialist(turn: Turn) -> Reply:
        offered.append(set(turn.tools))
        prompts.append(turn.system)
        return calling("manage_k8s_resource", DELETE_PROD)(turn)

    core = core_with(audit, eks_assistant=specialist)
    try:
        t = await ask(core, f"delete pod {PROD_POD} in default on prod")
    finally:
        core.close()
    assert offered and all("manage_k8s_resource" not in names for names in offered)
    assert "list_k8s_resources" in offered[0]
    # the specialist knows why it has no such tool, and says how an operator enables changes there
    assert "clusters.prod.writes: true in CLUSTERS_FILE" in prompts[0]
    assert "EKS_MCP_ALLOW_WRITE" not in prompts[0]  # already on: only the cluster's key is missing
    assert clusters["prod"].mutations() == [] and clusters["staging"].mutations() == []
    assert t.of(ApprovalRequired) == [] and calls(audit) == []


async def test_a_write_on_a_read_only_cluster_never_reaches_it_and_asks_nobody(
    clusters: dict[str, FakeKubeAPI], audit: Audit
) -> None:
    """Second line: asked about prod and staging at once, the specialist has write tools (staging may
    change), and the gate refuses the write on prod before any card."""

    def both_at_once(turn: Turn) -> Reply:  # one specialist call for both clusters: a mixed scope
        if turn.tool_results:
            return "\n\n".join(turn.unfenced_results())
        return ToolCall("eks_assistant", {"query": turn.user_text})

    core = core_with(
        audit, coordinator=both_at_once, eks_assistant=calling("manage_k8s_resource", DELETE_PROD)
    )
    try:
        t = await ask(core, f"delete pod {PROD_POD} in default on prod and staging")
    finally:
        core.close()
    assert clusters["prod"].mutations() == [] and clusters["staging"].mutations() == []
    assert t.of(ApprovalRequired) == []
    [blocked] = calls(audit, "tool_blocked")
    assert blocked["reason"] == "cluster_read_only" and blocked["cluster"] == "prod"
    assert "clusters.prod.writes: true" in (t.final or "")


async def test_a_write_on_a_writable_cluster_waits_for_an_approval_naming_it(
    clusters: dict[str, FakeKubeAPI], audit: Audit
) -> None:
    delete = {**DELETE_PROD, "name": STAGING_POD, "cluster_name": "staging"}  # the fleet's name: translated
    core = core_with(audit, eks_assistant=calling("manage_k8s_resource", delete))
    try:
        t = await ask(core, f"delete pod {STAGING_POD} in default")
    finally:
        core.close()
    [approval] = t.of(ApprovalRequired)
    assert isinstance(approval, ApprovalRequired) and approval.cluster == "staging"
    assert approval.arguments["cluster_name"] == "ctx-staging"
    assert clusters["staging"].mutations() == []  # paused: nothing runs before the decision
    assert isinstance(t.of(FinalAnswer)[-1], FinalAnswer)


@pytest.mark.parametrize(
    ("question", "cluster_name", "why"),
    [
        ("list the pods in default", "ctx-elsewhere", "is not a cluster of this bot's fleet"),
        ("list the pods in default on staging", "ctx-prod", "This question is about staging, not prod"),
    ],
)
async def test_a_model_chosen_cluster_outside_the_fleet_or_the_question_is_refused(
    clusters: dict[str, FakeKubeAPI], audit: Audit, question: str, cluster_name: str, why: str
) -> None:
    listing = {"cluster_name": cluster_name, "kind": "Pod", "api_version": "v1", "namespace": "default"}
    core = core_with(audit, eks_assistant=calling("list_k8s_resources", listing))
    try:
        t = await ask(core, question)
    finally:
        core.close()
    assert reached(clusters) == set()
    [refused] = calls(audit, "tool_refused")
    assert refused["reason"] == "cluster" and why in refused["detail"]
    assert (
        "staging (default), prod" in refused["detail"]
        or "pass cluster_name='ctx-staging'" in refused["detail"]
    )
    assert why in (t.final or "")


def test_a_wrong_fleet_file_is_one_line_and_exit_2(
    clusters: dict[str, FakeKubeAPI],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cli, "setup_logging", lambda *a, **k: None)  # keep pytest's log capture
    (tmp_path / "clusters.yaml").write_text(FLEET.replace("ctx-prod", "ctx-missing"))
    assert cli.main(["ask", "list the pods"]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("sre-bot: configuration error: CLUSTERS_FILE: ")
    assert "clusters.prod.kubeconfig_context" in line and "ctx-missing" in line


async def test_each_specialist_call_of_a_comparison_is_bound_to_its_own_cluster(
    clusters: dict[str, FakeKubeAPI], audit: Audit
) -> None:
    listing = {"cluster_name": "ctx-staging", "kind": "Pod", "api_version": "v1", "namespace": "default"}
    core = core_with(audit, eks_assistant=calling("list_k8s_resources", listing))
    try:
        await ask(core, "compare the pods in default on prod and staging")
    finally:
        core.close()
    assert reached(clusters) == {"staging"}  # the call made for prod asked staging: refused
    [refused] = calls(audit, "tool_refused")
    assert "This question is about prod, not staging" in refused["detail"]
    assert [c["cluster"] for c in calls(audit)] == ["staging"]


# --- the security review of the fleet wiring: each test once passed with the weakness present ---------


def fleet_of_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """No CLUSTERS_FILE: today's fleet of one, the kubeconfig's current context (ctx-staging) its cluster."""
    monkeypatch.delenv("CLUSTERS_FILE")


def one_cluster_core(audit: Audit, brain: Brain) -> Core:
    models = ScriptedModels({**default_brains(), "coordinator": simple_coordinator, "eks_assistant": brain})
    return build_core(load_settings(), FrontEnd(approvals=True), models=models, audit=audit)


def simple_coordinator(turn: Turn) -> Reply:
    return (
        "\n\n".join(turn.unfenced_results())
        if turn.tool_results
        else ToolCall("eks_assistant", {"query": turn.user_text})
    )


async def test_the_fleet_of_one_records_the_default_only_for_calls_that_name_it(
    clusters: dict[str, FakeKubeAPI], audit: Audit, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a fleet file the model may still name any context (as before), but no record, metric or
    card then names the default cluster for a call that reaches another one."""
    fleet_of_one(monkeypatch)
    other = {"cluster_name": "ctx-prod", "kind": "Pod", "api_version": "v1", "namespace": "default"}
    core = one_cluster_core(audit, calling("list_k8s_resources", other))
    try:
        await ask(core, "list the pods in default")
    finally:
        core.close()
    assert reached(clusters) == {"prod"}  # not refused: the fleet of one binds nothing, as before
    [call] = calls(audit)
    assert call["cluster"] is None and call["arguments"]["cluster_name"] == "ctx-prod"
    labels = {"tool": "list_k8s_resources", "outcome": "success"}
    assert REGISTRY.get_sample_value("sre_bot_tool_calls_total", {**labels, "cluster": "ctx-staging"}) is None
    own = {**other, "cluster_name": "ctx-staging"}
    core = one_cluster_core(audit, calling("list_k8s_resources", own))
    try:
        await ask(core, "list the pods in default")
    finally:
        core.close()
    assert calls(audit)[-1]["cluster"] == "ctx-staging"  # the default, named: recorded under it


async def test_a_fleet_of_one_card_never_names_the_default_for_a_write_elsewhere(
    clusters: dict[str, FakeKubeAPI], audit: Audit, monkeypatch: pytest.MonkeyPatch
) -> None:
    fleet_of_one(monkeypatch)
    core = one_cluster_core(
        audit, calling("manage_k8s_resource", {**DELETE_PROD, "cluster_name": "ctx-prod"})
    )
    try:
        t = await ask(core, "clean up the failing pod")
    finally:
        core.close()
    [approval] = t.of(ApprovalRequired)
    assert isinstance(approval, ApprovalRequired)
    assert not approval.cluster and approval.arguments["cluster_name"] == "ctx-prod"
    card = str(pending_card(card_of(approval)))
    assert "ctx-staging" not in card and "*Cluster*\\n`ctx-prod`" in card


def card_of(approval: ApprovalRequired) -> Approval:
    return Approval(
        "ap1",
        "turn",
        "C1:1",
        "i",
        approval.tool,
        approval.arguments,
        approval.call_hash,
        approval.summary,
        "U1",
        {"channel": "C1", "thread_ts": "1.0"},
        0.0,
        1e10,
        extra={"cluster": approval.cluster} if approval.cluster else {},
    )


def cmdline(pid: int | None) -> list[str]:
    assert pid is not None
    return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")


async def test_a_read_only_cluster_is_served_by_a_process_that_itself_refuses_writes(
    clusters: dict[str, FakeKubeAPI], audit: Audit
) -> None:
    """The server is the first line: prod's process runs without --allow-write, so even a write that got
    past the gate and the tool list (here: sent to the process directly) changes nothing."""
    listing = {"kind": "Pod", "api_version": "v1", "namespace": "default"}
    core = core_with(audit, eks_assistant=calling("list_k8s_resources", listing))
    try:
        await ask(core, "list the pods in default on prod")
        await ask(core, "list the pods in default on staging")
        servers = core.assistant.servers.servers
        assert set(servers) == {"eks", "eks-kubeconfig-ro"}  # one process per write mode, not per cluster
        assert "--allow-write" in cmdline(servers["eks"].pid)
        assert "--allow-write" not in cmdline(servers["eks-kubeconfig-ro"].pid)
        assert reached(clusters) == {"prod", "staging"}
        refused = await servers["eks-kubeconfig-ro"].call("direct", "manage_k8s_resource", DELETE_PROD)
    finally:
        core.close()
    assert refused["status"] == "error" or "not allowed" in str(refused["content"]).lower()
    assert clusters["prod"].mutations() == []


IAM_FLEET = """\
default: staging
clusters:
  staging:
    kubeconfig_context: ctx-staging
  eu:
    eks: {name: eu-eks, region: eu-west-1}
"""


async def test_an_iam_cluster_in_another_region_is_reached_by_its_own_process_in_that_region(
    clusters: dict[str, FakeKubeAPI],
    audit: Audit,
    moto_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An IAM-mode cluster beside kubeconfig ones: moto knows eu-eks in eu-west-1 only, so the answer
    proves the call ran in an IAM-mode process of that region."""
    for key, value in {
        "AWS_ENDPOINT_URL": moto_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(key, value)
    (tmp_path / "clusters.yaml").write_text(IAM_FLEET)
    ec2 = boto3.client("ec2", region_name="eu-west-1", endpoint_url=moto_url)
    vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.42.1.0/24")["Subnet"]["SubnetId"]
    boto3.client("eks", region_name="eu-west-1", endpoint_url=moto_url).create_cluster(
        name="eu-eks",
        roleArn="arn:aws:iam::123456789012:role/eks",
        resourcesVpcConfig={"subnetIds": [subnet]},
    )
    core = core_with(audit, eks_assistant=calling("get_eks_vpc_config", {"cluster_name": "eu"}))
    try:
        t = await ask(core, "what is the VPC of the eu cluster?")
        servers = core.assistant.servers.servers
        iam = servers["eks-iam-eu-west-1-ro"]
        assert cmdline(iam.pid)[cmdline(iam.pid).index("--auth-mode") + 1] == "iam"
        assert iam.spec.env["AWS_REGION"] == "eu-west-1"
    finally:
        core.close()
    # moto found eu-eks (it exists in eu-west-1 only), then lacks the vpcId real EKS computes: in any other
    # region the server would have said ResourceNotFoundException.
    assert "Could not determine VPC ID for cluster eu-eks" in (t.final or ""), t.final
    assert "ResourceNotFound" not in (t.final or "")
    [call] = calls(audit)
    assert call["cluster"] == "eu" and call["arguments"]["cluster_name"] == "eu-eks"
    assert reached(clusters) == set()  # no kubeconfig cluster was asked


async def test_in_a_mixed_question_each_call_runs_in_the_process_of_the_cluster_it_names(
    clusters: dict[str, FakeKubeAPI], audit: Audit, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One specialist call for staging (writable, first) and prod (read-only): prod's call must still run
    in the process without --allow-write, not in the first cluster's."""
    served: list[tuple[str, str]] = []
    original = McpServer.call

    async def spy(self: McpServer, tool_use_id: str, name: str, arguments: dict[str, Any]) -> Any:
        served.append((self.name, str(arguments.get("cluster_name"))))
        return await original(self, tool_use_id, name, arguments)

    monkeypatch.setattr(McpServer, "call", spy)

    def both_at_once(turn: Turn) -> Reply:
        if turn.tool_results:
            return "\n\n".join(turn.unfenced_results())
        return ToolCall("eks_assistant", {"query": turn.user_text})

    def each(turn: Turn) -> Reply:
        if turn.tool_results:
            return "\n".join(turn.unfenced_results())
        listing = {"kind": "Pod", "api_version": "v1", "namespace": "default"}
        return [ToolCall("list_k8s_resources", {**listing, "cluster_name": c}) for c in ("staging", "prod")]

    core = core_with(audit, coordinator=both_at_once, eks_assistant=each)
    try:
        t = await ask(core, "list the pods in default on staging and prod")
    finally:
        core.close()
    assert sorted(served) == [("eks", "ctx-staging"), ("eks-kubeconfig-ro", "ctx-prod")]
    assert STAGING_POD in (t.final or "") and PROD_POD in (t.final or "")


# --- sre-bot ask --cluster: the flag as a value, not text glued onto the question -----------------------


def sre_bot_ask(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`sre-bot ask ARGS…` in its own process, with the fleet's environment plus `env`."""
    return subprocess.run(
        [sys.executable, "-m", "frontends.cli", "ask", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT), **env},
        cwd=cwd,
        timeout=120,
    )


def test_ask_cluster_picks_the_cluster_as_a_flag_over_the_one_the_question_names(
    clusters: dict[str, FakeKubeAPI], tmp_path: Path
) -> None:
    """`--cluster prod` beats "on staging" in the text, as a flag does in Slack; the question is the
    user's own (the flag is not written into it, which would make it name both clusters)."""
    question = "list the pods in default on staging"
    audit_log = tmp_path / "audit.jsonl"
    with FakeOpenAI({**default_brains(), "coordinator": fleet_coordinator}) as model:
        proc = sre_bot_ask(
            "--cluster",
            "prod",
            question,
            cwd=tmp_path,
            OPENAI_BASE_URL=model.base_url,
            AUDIT_LOG_PATH=str(audit_log),
        )
    assert proc.returncode == 0, proc.stderr
    assert PROD_POD in proc.stdout and STAGING_POD not in proc.stdout
    assert reached(clusters) == {"prod"}
    first = turn_from_openai(model.requests[0])
    assert "Clusters of this question: prod (given with --cluster)." in first.system
    assert first.user_text == question
    records = [json.loads(line) for line in audit_log.read_text().splitlines()]
    assert [r["question"] for r in records if r["event"] == "question"] == [question]
    assert [r["cluster"] for r in records if r["event"] == "tool_call" and r["tool"] != "eks_assistant"] == [
        "prod"
    ]


def test_ask_cluster_repeated_compares_those_clusters(
    clusters: dict[str, FakeKubeAPI], tmp_path: Path
) -> None:
    with FakeOpenAI({**default_brains(), "coordinator": fleet_coordinator}) as model:
        proc = sre_bot_ask(
            "--cluster",
            "prod",
            "--cluster",
            "staging",
            "list the pods in default",
            cwd=tmp_path,
            OPENAI_BASE_URL=model.base_url,
        )
    assert proc.returncode == 0, proc.stderr
    assert PROD_POD in proc.stdout and STAGING_POD in proc.stdout
    assert reached(clusters) == {"prod", "staging"}


def test_ask_an_unknown_cluster_is_one_line_and_exit_2_before_any_model_runs(
    clusters: dict[str, FakeKubeAPI], tmp_path: Path
) -> None:
    with FakeOpenAI() as model:
        proc = sre_bot_ask("--cluster", "qa", "list the pods", cwd=tmp_path, OPENAI_BASE_URL=model.base_url)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [
        "sre-bot: There is no cluster 'qa' in this bot's fleet. Known clusters: staging (default), prod."
    ]
    assert model.requests == []
    assert reached(clusters) == set()


async def test_the_runners_flag_clusters_are_a_flag_and_the_thread_keeps_them(
    core: Core, clusters: dict[str, FakeKubeAPI], audit: Audit
) -> None:
    t = await ask(core, "list the pods in default on staging", "thread-f", flag_clusters=["Prod"])
    assert PROD_POD in (t.final or "") and reached(clusters) == {"prod"}
    [question] = [r for r in audit.records if r["event"] == "question"]
    assert question["question"] == "list the pods in default on staging"
    clusters["prod"].requests.clear()
    again = await ask(core, "list the pods in default again", "thread-f")
    assert PROD_POD in (again.final or "") and reached(clusters) == {"prod"}
    unknown = await ask(core, "list the pods in default", flag_clusters=["qa"])
    [error] = unknown.of(ErrorEvent)
    assert isinstance(error, ErrorEvent) and error.kind == "unknown_cluster" and "'qa'" in error.message


async def test_the_fleet_of_one_takes_a_flag_naming_its_cluster_and_refuses_any_other(
    clusters: dict[str, FakeKubeAPI], audit: Audit, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No CLUSTERS_FILE: a front end's --cluster may only name today's one cluster; another is the
    unknown-cluster answer, without a model call (the text's own flags stay as they were: unbound)."""
    fleet_of_one(monkeypatch)
    core = one_cluster_core(audit, default_brains()["eks_assistant"])
    try:
        own = await ask(core, "list the pods in default", flag_clusters=["ctx-staging"])
        assert STAGING_POD in (own.final or "")
        requests = core.assistant.models.models["coordinator"].requests  # type: ignore[attr-defined]
        asked = len(requests)
        other = await ask(core, "list the pods in default", flag_clusters=["prod"])
    finally:
        core.close()
    [error] = other.of(ErrorEvent)
    assert isinstance(error, ErrorEvent) and error.kind == "unknown_cluster"
    assert (
        error.message
        == "There is no cluster 'prod' in this bot's fleet. Known clusters: ctx-staging (default)."
    )
    assert len(requests) == asked


# --- /metrics: an answer's error is counted under the request's clusters ---------------------------------


def errors(kind: str, cluster: str) -> float:
    return REGISTRY.get_sample_value("sre_bot_errors_total", {"kind": kind, "cluster": cluster}) or 0.0


async def test_an_error_is_counted_under_the_requests_clusters_and_never_the_askers_text(
    clusters: dict[str, FakeKubeAPI], audit: Audit, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODEL_MAX_WAIT_SECONDS", "1")

    def throttled(turn: Turn) -> Reply:
        raise ModelThrottledException("ThrottlingException: Too many requests")

    core = core_with(audit, coordinator=throttled)
    cases = [
        ("list the pods in default on prod", (), "prod"),
        ("list the pods in default", (), "staging"),  # the default
        ("compare the pods in default on staging and prod", (), "prod,staging"),  # sorted: one series
    ]
    try:
        for question, flags, label in cases:
            before = errors("model_throttled", label)
            t = await ask(core, question, flag_clusters=flags)
            assert [e.kind for e in t.of(ErrorEvent) if isinstance(e, ErrorEvent)] == ["model_throttled"]
            assert errors("model_throttled", label) == before + 1, question
        before = errors("unknown_cluster", "(none)")
        await ask(core, "--cluster qa-zz9 list the pods")
        assert errors("unknown_cluster", "(none)") == before + 1
        assert errors("unknown_cluster", "qa-zz9") == 0.0
    finally:
        core.close()
