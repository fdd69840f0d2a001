"""Arguments name objects, never paths: Kubernetes' rules, checked before any call, read or write.

The property tests run the real EKS MCP server against the recording fake cluster: for arbitrary strings
in each argument, every request that reaches the cluster stays on the path of the object named (each
argument exactly one path segment), or nothing is sent at all.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from agents.gate.arguments import (
    LOGS_MAX_ENTRIES,
    LOGS_MAX_MINUTES,
    ArgumentRefused,
    Target,
    check_field_selector,
    check_label_selector,
    manifest_targets,
    validate_call,
)
from agents.mcp.servers import McpServer
from agents.mcp.tools import McpTool
from agents.server_specs import server_specs
from agents.settings import PROJECT_ROOT, Settings
from tests.fakes.fake_cluster import BY_KIND, FakeKubeAPI, seed_demo

# --- the rules, one by one ------------------------------------------------------------------------------


def refused(tool: str, args: dict[str, Any], server: str | None = "eks") -> str:
    with pytest.raises(ArgumentRefused) as info:
        validate_call(tool, args, server=server)
    return str(info.value)


READ = {"operation": "read", "kind": "ConfigMap", "api_version": "v1", "name": "x", "namespace": "default"}


@pytest.mark.parametrize(
    ("change", "names"),
    [
        ({"name": "x/../../secrets/db"}, "name="),
        ({"name": "web/proxy/admin"}, "name="),
        ({"name": "x?watch=1"}, "name="),
        ({"name": "x#frag"}, "name="),
        ({"name": "x%2F..%2Fsecrets"}, "name="),
        ({"name": ".."}, "name="),
        ({"name": "Web"}, "name="),  # uppercase is not a DNS-1123 name
        ({"namespace": "default/../kube-system"}, "namespace="),
        ({"namespace": "a.b"}, "namespace="),  # a namespace is a label, not a subdomain
        ({"kind": "ConfigMap/../Secret"}, "kind="),
        ({"api_version": "v1/../../apis/apps/v1"}, "api_version="),
        ({"api_version": "apps/v1/"}, "api_version="),
        ({"cluster_name": "../other"}, "cluster_name="),
        ({"operation": "deletecollection"}, "operation="),
        ({"name": 7}, "name must be a string"),
    ],
)
def test_a_name_that_is_a_path_is_refused(change: dict[str, Any], names: str) -> None:
    assert names in refused("manage_k8s_resource", {**READ, **change})


@pytest.mark.parametrize(
    "args",
    [
        READ,
        {**READ, "name": "crashy-7f9c.v2", "cluster_name": "arn:aws:eks:eu-west-1:123456789012:cluster/prod"},
        {
            **READ,
            "kind": "ClusterRole",
            "api_version": "rbac.authorization.k8s.io/v1",
            "name": "system:aggregate",
        },
        {**READ, "kind": "Deployment", "api_version": "apps/v1beta2"},
        {**READ, "kind": "Namespace", "name": "kube-system", "namespace": None},
    ],
)
def test_kubernetes_names_pass(args: dict[str, Any]) -> None:
    [target] = validate_call("manage_k8s_resource", args, server="eks")
    assert target.name == args["name"]


def test_the_target_is_what_the_request_touches_including_the_body() -> None:
    create = {
        "operation": "create",
        "kind": "ConfigMap",
        "api_version": "v1",
        "body": {"metadata": {"name": "cfg", "namespace": "ops"}, "data": {"a": "b"}},
    }
    # The client falls back to the body's namespace: the card must name it.
    assert validate_call("manage_k8s_resource", create) == [Target("ConfigMap", "v1", "cfg", "ops")]
    wrong_ns = {**create, "namespace": "default"}
    assert "body.metadata.namespace" in refused("manage_k8s_resource", wrong_ns)
    wrong_kind = {**create, "body": {**create["body"], "kind": "Deployment"}}
    assert "body.kind" in refused("manage_k8s_resource", wrong_kind)
    wrong_name = {**READ, "operation": "patch", "body": {"metadata": {"name": "other"}}}
    assert "body.metadata.name" in refused("manage_k8s_resource", wrong_name)
    unnamed_patch = {**READ, "operation": "patch", "name": None, "body": {"metadata": {"name": "x"}}}
    assert "name is required" in refused("manage_k8s_resource", unnamed_patch)
    # Cluster-scoped kinds have no namespace, whatever the call says.
    node = {**READ, "kind": "Node", "name": "ip-10-0-1-2.ec2.internal"}
    assert validate_call("manage_k8s_resource", node) == [Target("Node", "v1", node["name"], None)]


@pytest.mark.parametrize(
    "selector",
    [
        "app=web",
        "app==web,tier!=db",
        "env in (prod, staging),!canary",
        "app.kubernetes.io/name=web",
        "x",
        "n>3",
    ],
)
def test_label_selectors_in_kubernetes_syntax_pass(selector: str) -> None:
    assert check_label_selector(selector) == selector


@pytest.mark.parametrize(
    "selector", ["app=web&watch=true", "app=we b", "app=web/../x", "app=(x)", "a in (x", "=x", "app=web#"]
)
def test_other_label_selectors_are_refused(selector: str) -> None:
    with pytest.raises(ArgumentRefused, match="label selector"):
        check_label_selector(selector)


def test_field_selectors() -> None:
    assert (
        check_field_selector("status.phase=Running,spec.nodeName!=n1")
        == "status.phase=Running,spec.nodeName!=n1"
    )
    for bad in ("status.phase=Running&x=1", "metadata.name", "a=b/c"):
        with pytest.raises(ArgumentRefused, match="field selector"):
            check_field_selector(bad)


def test_every_naming_argument_of_every_kubernetes_tool_is_checked() -> None:
    assert "pod_name=" in refused("get_pod_logs", {"namespace": "default", "pod_name": "web/exec"})
    assert "container_name=" in refused(
        "get_pod_logs", {"namespace": "default", "pod_name": "web", "container_name": "a/b"}
    )
    assert "namespace=" in refused("get_pod_logs", {"namespace": "", "pod_name": "web"})
    # The events tool builds a field selector from the name: a comma would add requirements.
    assert "name=" in refused(
        "get_k8s_events", {"kind": "Pod", "name": "x,involvedObject.namespace=kube-system"}
    )
    assert "namespace=" in refused(
        "list_k8s_resources", {"kind": "Secret", "api_version": "v1", "namespace": "../"}
    )
    assert "label_selector=" in refused(
        "list_k8s_resources", {"kind": "Pod", "api_version": "v1", "label_selector": "a=b&x"}
    )


def test_a_tool_the_bot_does_not_know_on_the_eks_server_is_refused() -> None:
    assert "not a tool this bot knows" in refused("exec_in_pod", {"pod": "x"})
    assert validate_call("cost-explorer", {"operation": "getCostAndUsage"}, server="billing") == []


def test_an_argument_the_tool_does_not_declare_is_refused() -> None:
    with pytest.raises(ArgumentRefused, match="does not take file_content"):
        validate_call(
            "manage_k8s_resource",
            {**READ, "file_content": "kind: Deployment"},
            parameters={"operation", "kind", "api_version", "name", "namespace", "cluster_name", "body"},
        )


def test_cloudwatch_logs_queries_are_bounded() -> None:
    base = {
        "cluster_name": "prod",
        "resource_type": "pod",
        "log_type": "application",
        "resource_name": "web-1",
    }
    assert (
        validate_call("get_cloudwatch_logs", {**base, "minutes": LOGS_MAX_MINUTES, "limit": LOGS_MAX_ENTRIES})
        == []
    )
    assert "minutes=" in refused("get_cloudwatch_logs", {**base, "minutes": LOGS_MAX_MINUTES + 1})
    assert "limit=" in refused("get_cloudwatch_logs", {**base, "limit": LOGS_MAX_ENTRIES + 1})
    window = {"start_time": "2026-12-01T00:00:00Z", "end_time": "2026-12-01T04:00:00Z"}
    assert "time window" in refused("get_cloudwatch_logs", {**base, **window})
    assert "end_time must be after" in refused(
        "get_cloudwatch_logs",
        {**base, "start_time": "2026-12-01T02:00:00Z", "end_time": "2026-12-01T01:00:00Z"},
    )
    # Any log group of the account, or a quote that rewrites the Insights query, is refused.
    assert "log_type=" in refused("get_cloudwatch_logs", {**base, "log_type": "/aws/lambda/payments"})
    assert "resource_name=" in refused(
        "get_cloudwatch_logs", {**base, "resource_name": "x' | stats count(*)"}
    )
    assert "filter_pattern" in refused("get_cloudwatch_logs", {**base, "filter_pattern": "x | limit 10000"})
    assert "cluster_name=" in refused("get_cloudwatch_logs", {**base, "cluster_name": "prod/application"})


def test_manifest_objects_are_checked_and_named() -> None:
    docs = [
        {"kind": "Deployment", "apiVersion": "apps/v1", "metadata": {"name": "web"}},
        {"kind": "Service", "apiVersion": "v1", "metadata": {"name": "web", "namespace": "shop"}},
        {"kind": "ClusterRole", "apiVersion": "rbac.authorization.k8s.io/v1", "metadata": {"name": "reader"}},
    ]
    assert manifest_targets(docs, None) == [
        Target("Deployment", "apps/v1", "web", "default"),  # the server's default namespace
        Target("Service", "v1", "web", "shop"),
        Target("ClusterRole", "rbac.authorization.k8s.io/v1", "reader", None),
    ]
    with pytest.raises(ArgumentRefused, match=r"document 1\.metadata\.name"):
        manifest_targets([{"kind": "Secret", "apiVersion": "v1", "metadata": {"name": "../x"}}], "default")
    with pytest.raises(ArgumentRefused, match="no Kubernetes object"):
        manifest_targets([], "default")


# --- the property, against the real server and the recording fake cluster ------------------------------

DISCOVERY = {"/version", "/api", "/apis"}


def _discovery(path: str) -> bool:
    parts = path.strip("/").split("/")
    return (
        path.rstrip("/") in DISCOVERY
        or path.startswith("/openapi/")
        or (parts[0] == "api" and len(parts) == 2)
        or (parts[0] == "apis" and len(parts) in (2, 3))
    )


def object_path(
    kind: str, namespace: str | None, name: str | None = None, sub: str | None = None
) -> list[str]:
    """The expected path as segments: each argument exactly one segment."""
    resource = BY_KIND[kind]
    prefix = (
        ["", "api", "v1"]
        if resource.group_version == "v1"
        else ["", "apis", *resource.group_version.split("/")]
    )
    scope = ["namespaces", namespace] if resource.namespaced and namespace else []
    return [*prefix, *scope, resource.plural, *([name] if name is not None else []), *([sub] if sub else [])]


@pytest.fixture(scope="module")
def eks_tools(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, McpTool], FakeKubeAPI]]:
    """The real EKS server (writes and sensitive data on, as broad setups run it) over the fake cluster."""
    workdir = tmp_path_factory.mktemp("arguments")
    kube = FakeKubeAPI().start()
    seed_demo(kube)
    kubeconfig = kube.write_kubeconfig(workdir / "kubeconfig")
    settings_ = Settings(
        _env_file=None,  # type: ignore[call-arg]
        kubeconfig=str(kubeconfig),
        eks_mcp_allow_write=True,
        eks_mcp_allow_sensitive_data=True,
        mcp_bin_dir=PROJECT_ROOT / ".tools" / "bin",
        mcp_log_dir=workdir / "log",
        aws_region="us-east-1",
    )
    environ = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(workdir)}
    [spec] = [s for s in server_specs(settings_, environ=environ) if s.name == "eks"]
    server = McpServer(spec)
    server.start()
    tools = {
        name: McpTool(server, tool_spec, output_budget=16_000)
        for name, tool_spec in server.tool_specs().items()
    }
    try:
        yield tools, kube
    finally:
        server.close()
        kube.stop()


_ids = itertools.count()


def call(
    tools: dict[str, McpTool], kube: FakeKubeAPI, tool: str, args: dict[str, Any]
) -> list[dict[str, Any]]:
    """Run one call through the bot's tool (its check, then the real server); the requests it caused."""
    before = len(kube.requests)

    async def run() -> None:
        async for _event in tools[tool].stream(
            {"toolUseId": f"t{next(_ids)}", "name": tool, "input": args}, {}
        ):
            pass

    asyncio.run(run())
    return [r for r in kube.requests[before:] if not _discovery(r["path"])]


ATTACK_PARTS = [
    "..",
    "/",
    ".",
    "x",
    "default",
    "kube-system",
    "secrets",
    "proxy",
    "%2F",
    "?",
    "#",
    "log",
    "web",
    " ",
]
# Arbitrary text, names that pass the rules, and strings built from path-walking pieces.
argument_text = st.one_of(
    st.text(max_size=40),
    st.from_regex(r"[a-z0-9]([-a-z0-9.]{0,20}[a-z0-9])?", fullmatch=True),
    st.lists(st.sampled_from(ATTACK_PARTS), min_size=1, max_size=7).map("".join),
)
PROPERTY = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def stays_on(requests: list[dict[str, Any]], expected: list[str]) -> None:
    for request in requests:
        assert request["path"].split("/") == expected, (request["method"], request["path"], expected)


@PROPERTY
@given(name=argument_text)
@example(name="x/../../secrets/db-credentials")
@example(name="crashy-7f9c/proxy/metrics")
@example(name="web/../../../../apis/apps/v1/namespaces/kube-system/deployments/coredns")
def test_read_by_name_stays_on_the_object(eks_tools: Any, name: str) -> None:
    tools, kube = eks_tools
    requests = call(
        tools, kube, "manage_k8s_resource", {**READ, "cluster_name": "fake-k3s", "kind": "Pod", "name": name}
    )
    stays_on(requests, object_path("Pod", "default", name))


@PROPERTY
@given(namespace=argument_text)
@example(namespace="default/secrets")
@example(namespace="../../api/v1/namespaces/kube-system/secrets")
def test_list_in_a_namespace_stays_on_the_collection(eks_tools: Any, namespace: str) -> None:
    tools, kube = eks_tools
    args = {"cluster_name": "fake-k3s", "kind": "ConfigMap", "api_version": "v1", "namespace": namespace}
    requests = call(tools, kube, "list_k8s_resources", args)
    stays_on(requests, object_path("ConfigMap", namespace or None))


@PROPERTY
@given(name=argument_text)
@example(name="cfg/../../../../apis/apps/v1/namespaces/kube-system/deployments/coredns")
def test_delete_by_name_stays_on_the_object(eks_tools: Any, name: str) -> None:
    tools, kube = eks_tools
    args = {**READ, "operation": "delete", "cluster_name": "fake-k3s", "name": name}
    requests = call(tools, kube, "manage_k8s_resource", args)
    stays_on(requests, object_path("ConfigMap", "default", name))


@PROPERTY
@given(pod=argument_text, namespace=st.one_of(st.just("default"), argument_text))
@example(pod="crashy-7f9c/../../secrets/db", namespace="default")
def test_pod_logs_stay_on_the_pod(eks_tools: Any, pod: str, namespace: str) -> None:
    tools, kube = eks_tools
    args = {"cluster_name": "fake-k3s", "namespace": namespace, "pod_name": pod, "tail_lines": 5}
    requests = call(tools, kube, "get_pod_logs", args)
    stays_on(requests, object_path("Pod", namespace, pod, "log"))


@PROPERTY
@given(name=argument_text)
@example(name="crashy-7f9c,involvedObject.namespace=kube-system")
def test_events_ask_only_about_the_object_named(eks_tools: Any, name: str) -> None:
    tools, kube = eks_tools
    args = {"cluster_name": "fake-k3s", "kind": "Pod", "name": name, "namespace": "default"}
    requests = call(tools, kube, "get_k8s_events", args)
    stays_on(requests, object_path("Event", "default"))
    for request in requests:
        # The name became part of a field selector: it must not have added requirements of its own.
        selector = request["query"].get("fieldSelector", "")
        assert selector.split(",") == ["involvedObject.kind=Pod", f"involvedObject.name={name}"], selector


def test_a_valid_read_still_reaches_the_cluster(eks_tools: Any) -> None:
    """The property tests above would pass if nothing were ever sent: show that valid calls are."""
    tools, kube = eks_tools
    requests = call(
        tools,
        kube,
        "manage_k8s_resource",
        {**READ, "cluster_name": "fake-k3s", "kind": "Pod", "name": "web-1"},
    )
    assert [r["path"] for r in requests] == ["/api/v1/namespaces/default/pods/web-1"]


def test_the_refusal_is_a_tool_error_the_model_can_act_on(eks_tools: Any) -> None:
    tools, _kube = eks_tools
    results: list[Any] = []

    async def run() -> None:
        async for event in tools["manage_k8s_resource"].stream(
            {"toolUseId": "t-refused", "name": "manage_k8s_resource", "input": {**READ, "name": "x/../y"}}, {}
        ):
            results.append(event)

    asyncio.run(run())
    result = results[-1].tool_result
    assert result["status"] == "error"
    assert "Refused before anything was sent" in result["content"][0]["text"]
    assert "name='x/../y' is not valid" in result["content"][0]["text"]


# --- found by an attacker's review ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["List", "ConfigMapList", "DeploymentList"])
def test_lists_are_refused_they_change_every_item(kind: str) -> None:
    """The client runs a List's create/patch once per item, on each item's own kind and namespace."""
    patch = {**READ, "operation": "patch", "kind": kind, "name": "web", "body": {"metadata": {"name": "web"}}}
    assert "lists are not accepted" in refused("manage_k8s_resource", patch)


def test_a_body_or_manifest_with_items_is_refused() -> None:
    items = [{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}}]
    create = {**READ, "operation": "create", "body": {"metadata": {"name": "x"}, "items": items}}
    assert "items" in refused("manage_k8s_resource", create)
    with pytest.raises(ArgumentRefused, match="items"):
        manifest_targets(
            [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "items": items}], None
        )


def test_a_known_kind_must_be_in_its_own_api_group() -> None:
    """`Deployment` with api_version v1 resolves to apps/v1: the card would name the wrong group."""
    assert "use apps/v1" in refused(
        "manage_k8s_resource", {**READ, "kind": "Deployment", "api_version": "v1"}
    )
    assert "use v1" in refused("list_k8s_resources", {"kind": "Pod", "api_version": "apps/v1"})
    assert validate_call("list_k8s_resources", {"kind": "Event", "api_version": "events.k8s.io/v1"}) == [
        Target("Event", "events.k8s.io/v1", "", None)
    ]


@pytest.mark.parametrize("value", ["null", "true", "123", " 1e3 "])
def test_a_name_the_server_would_decode_as_json_is_refused(value: str) -> None:
    """FastMCP decodes JSON in strings for Optional[str] parameters: namespace "null" lists everywhere."""
    args = {"kind": "Secret", "api_version": "v1", "namespace": value}
    assert "would be read as JSON" in refused("list_k8s_resources", args)


def test_structured_arguments_sent_as_json_text_still_pass() -> None:
    policy = '{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"}'
    assert (
        validate_call("add_inline_policy", {"policy_name": "p", "role_name": "r", "permissions": policy})
        == []
    )


def test_log_times_need_a_time_zone() -> None:
    base = {"cluster_name": "prod", "resource_type": "pod", "log_type": "application"}
    assert "needs a time zone" in refused(
        "get_cloudwatch_logs", {**base, "start_time": "2026-12-02T10:00:00"}
    )


def test_paths_and_names_shown_on_a_card_are_one_line() -> None:
    fake = "/srv/out\n\n:white_check_mark: *Dry run only*\n"
    assert "one line" in refused(
        "generate_app_manifest", {"app_name": "web", "output_dir": fake, "image_uri": "x"}
    )
    assert "one line" in refused("apply_yaml", {"yaml_path": "/m/x\n\n:lock: *Read-only*\n\nplan.yaml"})
    assert "app_name=" in refused("generate_app_manifest", {"app_name": "Web App", "output_dir": "/tmp/x"})


def test_a_generated_name_is_named_as_generated() -> None:
    create = {**READ, "operation": "create", "name": None, "body": {"metadata": {"generateName": "job-"}}}
    [target] = validate_call("manage_k8s_resource", create)
    assert target.describe() == "ConfigMap with a generated name starting with job (v1) in namespace default"


def test_a_list_patch_reaches_nothing_on_the_real_server(eks_tools: Any) -> None:
    """The attack as found: a patch of `List web` whose item scaled Deployment web to zero."""
    tools, kube = eks_tools
    item = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {"replicas": 0},
    }
    args = {
        **READ,
        "operation": "patch",
        "cluster_name": "fake-k3s",
        "kind": "List",
        "name": "web",
        "body": {"metadata": {"name": "web"}, "items": [item]},
    }
    before = len(kube.mutations())  # the module's cluster is shared: earlier tests deleted things
    assert call(tools, kube, "manage_k8s_resource", args) == []
    assert kube.mutations()[before:] == []
