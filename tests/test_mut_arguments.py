"""Argument rules, tool by tool: the exact refusal the model reads, the limits, and the objects named.

Written for mutation testing (tests/MUTATION.md). tests/test_arguments.py shows that what passes stays on
the object's path (against the real server); these pin, without a server, each rule's boundary (the last
length or number accepted and the first refused), each refusal's words (the model corrects its call from
them) and the targets each valid call names on the approval card.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from agents.gate.arguments import (
    LOGS_MAX_ENTRIES,
    LOGS_MAX_MINUTES,
    ArgumentRefused,
    Target,
    check_cluster,
    check_field_selector,
    check_label_selector,
    check_name,
    coerce_arguments,
    manifest_targets,
    object_target,
    refusal_message,
    validate_call,
)


def refusal(tool: str, args: dict[str, Any], **kwargs: Any) -> str:
    with pytest.raises(ArgumentRefused) as info:
        validate_call(tool, args, **kwargs)
    return str(info.value)


OBJECT = "an object name (lowercase letters, digits, '-', '.')"
NAMESPACE = "a namespace name (lowercase letters, digits, '-')"
KIND = "a Kubernetes kind such as Pod or Deployment"
API_VERSION = "an apiVersion such as v1, apps/v1 or networking.k8s.io/v1"
EKS = "an EKS cluster name (letters, digits, '-', '_')"
CONTEXT = "a cluster or kubeconfig context name"
READ = {"operation": "read", "kind": "ConfigMap", "api_version": "v1", "name": "cfg", "namespace": "default"}
LOGS = {"cluster_name": "prod", "resource_type": "pod", "log_type": "application"}


# --- each refusal in its own words ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tool", "args", "message"),
    [
        ("manage_k8s_resource", {**READ, "name": "A"}, f"name='A' is not valid: expected {OBJECT}"),
        (
            "manage_k8s_resource",
            {**READ, "namespace": "a.b"},
            f"namespace='a.b' is not valid: expected {NAMESPACE}",
        ),
        (
            "manage_k8s_resource",
            {**READ, "kind": "Config Map"},
            f"kind='Config Map' is not valid: expected {KIND}",
        ),
        (
            "manage_k8s_resource",
            {**READ, "api_version": "v1/x"},
            f"api_version='v1/x' is not valid: expected {API_VERSION}",
        ),
        (
            "manage_k8s_resource",
            {**READ, "cluster_name": "../x"},
            f"cluster_name='../x' is not valid: expected {CONTEXT}",
        ),
        (
            "manage_k8s_resource",
            {**READ, "cluster_name": "a//b"},
            f"cluster_name='a//b' is not valid: expected {CONTEXT}",
        ),
        ("manage_k8s_resource", {**READ, "name": 7}, "name must be a string, not int"),
        (
            "manage_k8s_resource",
            {**READ, "operation": "Evict"},
            "operation='evict' is not valid: expected one of create, replace, patch, delete, read",
        ),
        ("manage_k8s_resource", {**READ, "name": None}, "name is required to read a ConfigMap"),
        (
            "manage_k8s_resource",
            {**READ, "body": "kind: ConfigMap"},
            "body must be a JSON object (the resource definition)",
        ),
        ("manage_k8s_resource", {**READ, "body": {"metadata": []}}, "body.metadata must be an object"),
        (
            "manage_k8s_resource",
            {**READ, "body": {"metadata": {"name": "other"}}},
            "body.metadata.name ('other') differs from name ('cfg'): make them the same",
        ),
        (
            "manage_k8s_resource",
            {**READ, "body": {"metadata": {"namespace": "ops"}}},
            "body.metadata.namespace ('ops') differs from namespace ('default'): make them the same",
        ),
        (
            "manage_k8s_resource",
            {**READ, "operation": "patch", "name": None, "body": {"metadata": {"name": "cfg"}}},
            "name is required to patch a ConfigMap (not only body.metadata.name)",
        ),
        (
            "manage_k8s_resource",
            {**READ, "body": {"kind": "Secret"}},
            "body.kind ('Secret') differs from 'ConfigMap': make them the same",
        ),
        (
            "manage_k8s_resource",
            {**READ, "body": {"apiVersion": "v2"}},
            "body.apiVersion ('v2') differs from 'v1': make them the same",
        ),
        (
            "get_pod_logs",
            {"namespace": "default", "pod_name": "Web"},
            f"pod_name='Web' is not valid: expected {OBJECT}",
        ),
        (
            "get_pod_logs",
            {"namespace": "default", "pod_name": "web", "container_name": "a.b"},
            "container_name='a.b' is not valid: expected a container name",
        ),
        (
            "get_pod_logs",
            {"namespace": "default", "pod_name": "web", "tail_lines": "five"},
            "tail_lines must be a whole number between 1 and 100000",
        ),
        (
            "get_pod_logs",
            {"namespace": "default", "pod_name": "web", "since_seconds": True},
            "since_seconds must be a whole number between 1 and 2678400",
        ),
        (
            "get_pod_logs",
            {"namespace": "default", "pod_name": "web", "limit_bytes": 0},
            "limit_bytes=0 is out of range: expected 1 to 10485760",
        ),
        ("get_k8s_events", {"kind": "Pod", "name": "a,b"}, f"name='a,b' is not valid: expected {OBJECT}"),
        (
            "list_k8s_resources",
            {"kind": "Pod", "label_selector": "a=b&c"},
            "label_selector='a=b&c' is not valid: expected a label selector such as 'app=web,tier!=db' or "
            "'env in (prod,staging)'",
        ),
        (
            "list_k8s_resources",
            {"kind": "Pod", "field_selector": "a=b&c"},
            "field_selector='a=b&c' is not valid: expected a field selector such as "
            "'status.phase=Running,spec.nodeName=node-1'",
        ),
        (
            "list_api_versions",
            {"cluster_name": "a b"},
            f"cluster_name='a b' is not valid: expected {CONTEXT}",
        ),
        ("get_eks_insights", {"cluster_name": "a:b"}, f"cluster_name='a:b' is not valid: expected {EKS}"),
        (
            "get_eks_insights",
            {"cluster_name": "prod", "insight_id": "a/b"},
            "insight_id='a/b' is not valid: expected an id (letters, digits, '-', '_')",
        ),
        (
            "get_eks_insights",
            {"cluster_name": "prod", "category": "a b"},
            "category='a b' is not valid: expected an id (letters, digits, '-', '_')",
        ),
        (
            "get_eks_vpc_config",
            {"cluster_name": "prod", "vpc_id": "vpc-XYZ"},
            "vpc_id='vpc-XYZ' is not valid: expected a VPC id such as vpc-0abc123",
        ),
        ("get_eks_vpc_config", {"cluster_name": "a/b"}, f"cluster_name='a/b' is not valid: expected {EKS}"),
        (
            "get_policies_for_role",
            {"role_name": "a/b"},
            "role_name='a/b' is not valid: expected an IAM name (letters, digits, +=,.@_-)",
        ),
        (
            "add_inline_policy",
            {"policy_name": "p", "role_name": "a b"},
            "role_name='a b' is not valid: expected an IAM role name",
        ),
        (
            "add_inline_policy",
            {"policy_name": "p q", "role_name": "r"},
            "policy_name='p q' is not valid: expected an IAM name (letters, digits, +=,.@_-)",
        ),
        (
            "manage_eks_stacks",
            {"operation": "update"},
            "operation='update' is not valid: expected one of generate, deploy, describe, delete",
        ),
        (
            "manage_eks_stacks",
            {"operation": "describe", "cluster_name": "a.b"},
            f"cluster_name='a.b' is not valid: expected {EKS}",
        ),
        (
            "generate_app_manifest",
            {"cluster_name": "../x"},
            f"cluster_name='../x' is not valid: expected {CONTEXT}",
        ),
        ("apply_yaml", {"namespace": "A"}, f"namespace='A' is not valid: expected {NAMESPACE}"),
        (
            "get_cloudwatch_logs",
            {**LOGS, "cluster_name": "a.b"},
            f"cluster_name='a.b' is not valid: expected {EKS}",
        ),
        (
            "get_cloudwatch_logs",
            {**LOGS, "resource_type": "lambda"},
            "resource_type='lambda' is not valid: expected one of pod, node, container, cluster",
        ),
        (
            "get_cloudwatch_logs",
            {**LOGS, "log_type": "audit"},
            "log_type='audit' is not valid: expected one of application, host, performance, dataplane, control-plane",
        ),
        (
            "get_cloudwatch_logs",
            {**LOGS, "resource_name": "a'b"},
            f'resource_name="a\'b" is not valid: expected {OBJECT}',
        ),
        (
            "get_cloudwatch_logs",
            {**LOGS, "minutes": 0},
            f"minutes=0 is out of range: expected 1 to {LOGS_MAX_MINUTES}",
        ),
        (
            "get_cloudwatch_logs",
            {**LOGS, "limit": 0},
            f"limit=0 is out of range: expected 1 to {LOGS_MAX_ENTRIES}",
        ),
        (
            "get_cloudwatch_logs",
            {**LOGS, "start_time": "yesterday"},
            "start_time='yesterday' is not an ISO time such as 2026-12-02T14:00:00Z",
        ),
        (
            "get_cloudwatch_logs",
            {**LOGS, "end_time": "2026-12-01T00:00:00Z"},
            "end_time needs a start_time (or use minutes for the last N minutes)",
        ),
        (
            "get_cloudwatch_logs",
            {**LOGS, "start_time": "2026-12-01T01:00:00Z", "end_time": "2026-12-01T01:00:00Z"},
            "end_time must be after start_time",
        ),
        (
            "get_cloudwatch_logs",
            {**LOGS, "start_time": "2026-12-01T00:00:00Z", "end_time": "2026-12-01T03:00:01Z"},
            f"the time window is longer than {LOGS_MAX_MINUTES} minutes (Logs Insights bills per GB scanned): "
            "narrow start_time/end_time",
        ),
        (
            "get_cloudwatch_logs",
            {**LOGS, "filter_pattern": "a | b"},
            "filter_pattern must be one Logs Insights command without '|'",
        ),
        (
            "get_cloudwatch_logs",
            {**LOGS, "filter_pattern": "a\nb"},
            "filter_pattern must be one line of at most 256 characters",
        ),
        (
            "get_cloudwatch_logs",
            {**LOGS, "fields": "@message | x"},
            "fields='@message | x' is not valid: expected a comma-separated list of field names",
        ),
        (
            "get_cloudwatch_metrics",
            {"cluster_name": "prod", "metric_name": "cpu\n"},
            "metric_name must be one line of at most 256 characters",
        ),
        (
            "get_cloudwatch_metrics",
            {"cluster_name": "prod", "namespace": "x" * 257},
            "namespace must be one line of at most 256 characters",
        ),
        ("get_cloudwatch_metrics", {"cluster_name": "prod", "stat": 5}, "stat must be a string, not int"),
        (
            "get_cloudwatch_metrics",
            {"cluster_name": "a.b"},
            f"cluster_name='a.b' is not valid: expected {EKS}",
        ),
        (
            "list_k8s_resources",
            {"kind": "PodList"},
            "kind='PodList': lists are not accepted; name one object of one kind per call",
        ),
        (
            "list_k8s_resources",
            {"kind": "List"},
            "kind='List': lists are not accepted; name one object of one kind per call",
        ),
        (
            "list_k8s_resources",
            {"kind": "Deployment", "api_version": "v1"},
            "api_version='v1' is not the API group of Deployment: use apps/v1",
        ),
        (
            "manage_k8s_resource",
            {**READ, "kind": "Event", "api_version": "apps/v1"},
            "api_version='apps/v1' is not the API group of Event: use v1 or events.k8s.io/v1",
        ),
        (
            "manage_k8s_resource",
            {**READ, "operation": "create", "body": {"kind": "ConfigMap", "items": []}},
            "body has items: lists are not accepted; name one object per call",
        ),
        (
            "list_k8s_resources",
            {"kind": "Pod", "namespace": "null"},
            "namespace='null' would be read as JSON, not as text: give a name",
        ),
        (
            "get_pod_logs",
            {"namespace": "default", "pod_name": " 12 "},
            "pod_name=' 12 ' would be read as JSON, not as text: give a name",
        ),
        (
            "get_k8s_events",
            {"kind": "Pod", "name": "true"},
            "name='true' would be read as JSON, not as text: give a name",
        ),
        ("apply_yaml", {"yaml_path": "m/web.yaml"}, "yaml_path must be an absolute path without '..'"),
        ("apply_yaml", {"yaml_path": "/m/../web.yaml"}, "yaml_path must be an absolute path without '..'"),
        (
            "apply_yaml",
            {"yaml_path": "/m/a\nb.yaml"},
            "yaml_path must be one line of at most 1024 characters",
        ),
        (
            "apply_yaml",
            {"yaml_path": "/" + "m" * 1024},
            "yaml_path must be one line of at most 1024 characters",
        ),
        (
            "generate_app_manifest",
            {"app_name": "Web", "output_dir": "/out"},
            "app_name='Web' is not valid: expected an application name (lowercase letters, digits, '-')",
        ),
        (
            "generate_app_manifest",
            {"app_name": "web", "output_dir": "out"},
            "output_dir must be an absolute path without '..'",
        ),
        (
            "generate_app_manifest",
            {"app_name": "web", "output_dir": "/out", "image_uri": "a\nb"},
            "image_uri must be one line of at most 256 characters",
        ),
        (
            "manage_eks_stacks",
            {"operation": "deploy", "template_file": "stack.yaml"},
            "template_file must be an absolute path without '..'",
        ),
        (
            "get_cloudwatch_logs",
            {**LOGS, "start_time": "2026-12-01T00:00:00"},
            "start_time='2026-12-01T00:00:00' needs a time zone: end it with Z (UTC) or an offset",
        ),
    ],
)
def test_each_refusal_names_the_argument_and_what_is_expected(
    tool: str, args: dict[str, Any], message: str
) -> None:
    assert refusal(tool, args) == message


def test_the_refusal_tells_the_model_how_to_call_again() -> None:
    assert refusal_message("get_pod_logs", ArgumentRefused("pod_name='a/b' is not valid")) == (
        "Refused before anything was sent to the cluster: pod_name='a/b' is not valid. Correct the argument "
        "and call get_pod_logs again; names and namespaces are plain Kubernetes names, never paths."
    )


def test_undeclared_arguments_are_listed_with_the_declared_ones() -> None:
    assert refusal(
        "list_api_versions", {"b": 1, "a": 2, "cluster_name": "x"}, parameters=["z", "cluster_name"]
    ) == ("list_api_versions does not take a, b; its arguments are: cluster_name, z")


def test_a_long_value_is_shown_cut_to_80_characters() -> None:
    exactly = "A" * 80
    assert refusal("get_k8s_events", {"kind": "Pod", "name": exactly}) == (
        f"name={exactly!r} is not valid: expected {OBJECT}"
    )
    longer = "B" * 81
    assert refusal("get_k8s_events", {"kind": "Pod", "name": longer}) == (
        f"name={'B' * 77 + '…'!r} is not valid: expected {OBJECT}"
    )
    selector = "=" * 100
    assert refusal("list_k8s_resources", {"kind": "Pod", "label_selector": selector}).startswith(
        f"label_selector={'=' * 80!r} is not valid"
    )
    assert refusal("list_k8s_resources", {"kind": "Pod", "field_selector": selector}).startswith(
        f"field_selector={'=' * 80!r} is not valid"
    )
    assert refusal("manage_eks_stacks", {"operation": "x" * 50}).startswith(f"operation={'x' * 40!r} is not")
    assert refusal("get_cloudwatch_logs", {**LOGS, "start_time": "y" * 50}).startswith(
        f"start_time={'y' * 40!r} is not an ISO time"
    )


# --- the limits: the last value accepted and the first refused ------------------------------------------


@pytest.mark.parametrize(
    ("tool", "args", "key", "longest"),
    [
        ("manage_k8s_resource", READ, "namespace", 63),
        ("manage_k8s_resource", READ, "kind", 63),
        ("get_pod_logs", {"namespace": "default", "pod_name": "web"}, "container_name", 63),
        ("get_eks_insights", {}, "cluster_name", 100),
        ("get_policies_for_role", {}, "role_name", 128),
        ("add_inline_policy", {"role_name": "r"}, "policy_name", 128),
        ("add_inline_policy", {"policy_name": "p"}, "role_name", 64),
        ("get_eks_insights", {"cluster_name": "prod"}, "insight_id", 128),
        ("get_eks_insights", {"cluster_name": "prod"}, "category", 128),
        ("get_cloudwatch_metrics", {"cluster_name": "prod"}, "metric_name", 256),
        ("get_cloudwatch_logs", LOGS, "filter_pattern", 256),
    ],
)
def test_text_arguments_have_their_kubernetes_or_aws_length_limit(
    tool: str, args: dict[str, Any], key: str, longest: int
) -> None:
    validate_call(tool, {**args, key: "a" * longest})
    with pytest.raises(ArgumentRefused, match=key):
        validate_call(tool, {**args, key: "a" * (longest + 1)})


def test_object_names_may_be_253_characters_in_dns_labels() -> None:
    name = ".".join(["a" * 63] * 4)[:253].rstrip(".")
    name += "b" * (253 - len(name))
    assert len(name) == 253
    assert validate_call("get_k8s_events", {"kind": "Pod", "name": name}) == [Target("Pod", "v1", name, None)]
    with pytest.raises(ArgumentRefused, match="name="):
        validate_call("get_k8s_events", {"kind": "Pod", "name": name + "c"})


def test_a_kubeconfig_context_may_be_253_characters_and_shaped_like_an_arn() -> None:
    arn = "arn:aws:eks:us-east-1:123456789012:cluster/prod"
    assert check_cluster(arn) == arn
    assert check_cluster("admin@kind-local") == "admin@kind-local"
    assert check_cluster("c" * 253) == "c" * 253
    with pytest.raises(ArgumentRefused):
        check_cluster("c" * 254)
    with pytest.raises(ArgumentRefused):
        check_cluster(arn, eks=True)  # an EKS cluster name is never a path
    assert check_cluster("a/b") == "a/b"
    for bad in ("a/../b", "a/..", "a//b"):
        with pytest.raises(ArgumentRefused):
            check_cluster(bad)


@pytest.mark.parametrize(
    ("key", "high"),
    [("since_seconds", 31 * 86_400), ("tail_lines", 100_000), ("limit_bytes", 10 * 2**20)],
)
def test_pod_log_numbers_are_bounded(key: str, high: int) -> None:
    base = {"namespace": "default", "pod_name": "web"}
    for ok in (1, high):
        assert validate_call("get_pod_logs", {**base, key: ok}) == [Target("Pod", "v1", "web", "default")]
    for bad in (0, high + 1):
        assert (
            refusal("get_pod_logs", {**base, key: bad})
            == f"{key}={bad} is out of range: expected 1 to {high}"
        )


@pytest.mark.parametrize(("key", "high"), [("minutes", LOGS_MAX_MINUTES), ("limit", LOGS_MAX_ENTRIES)])
def test_cloudwatch_numbers_are_bounded(key: str, high: int) -> None:
    assert (LOGS_MAX_MINUTES, LOGS_MAX_ENTRIES) == (180, 200)
    for ok in (1, high):
        assert validate_call("get_cloudwatch_logs", {**LOGS, key: ok}) == []
    for bad in (0, high + 1):
        with pytest.raises(ArgumentRefused, match=f"{key}={bad} is out of range"):
            validate_call("get_cloudwatch_logs", {**LOGS, key: bad})


def test_selectors_may_be_1024_characters() -> None:
    label = "a=" + "b" * 60 + "," + ",".join(["x"] * 480)
    label = label + "," + "y" * (1024 - len(label) - 1)
    assert len(label) == 1024 and check_label_selector(label) == label
    with pytest.raises(ArgumentRefused):
        check_label_selector(label + "z")
    field = ",".join(["a=b"] * 256)
    assert len(field) == 1023
    assert check_field_selector(field + "c") == field + "c"
    with pytest.raises(ArgumentRefused):
        check_field_selector(field + "cd")


def test_selectors_split_at_commas_outside_parentheses_only() -> None:
    assert check_label_selector("a=b,c=d") == "a=b,c=d"
    assert check_label_selector("env in (prod,staging),tier=db") == "env in (prod,staging),tier=db"
    assert check_label_selector("a notin (x),!b,c") == "a notin (x),!b,c"


def test_cloudwatch_times_with_a_zone_are_compared_in_utc() -> None:
    offset = {"start_time": "2026-12-01T02:00:00+02:00", "end_time": "2026-12-01T00:30:00Z"}
    assert validate_call("get_cloudwatch_logs", {**LOGS, **offset}) == []  # 00:00Z to 00:30Z
    recent = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)).isoformat()
    assert validate_call("get_cloudwatch_logs", {**LOGS, "start_time": recent}) == []  # up to now
    with pytest.raises(ArgumentRefused, match="time window"):
        validate_call("get_cloudwatch_logs", {**LOGS, "start_time": "2026-12-01T00:00:00Z"})  # up to now
    with pytest.raises(ArgumentRefused, match="end_time='2026-12-01T01:00:00' needs a time zone"):
        validate_call(
            "get_cloudwatch_logs",
            {**LOGS, "start_time": "2026-12-01T00:00:00Z", "end_time": "2026-12-01T01:00:00"},
        )


def test_only_text_that_decodes_to_a_json_scalar_is_refused_as_json() -> None:
    assert validate_call("list_k8s_resources", {"kind": "Pod", "namespace": "n1"}) == [
        Target("Pod", "v1", "", "n1")
    ]
    for value in (
        '"web"',
        "{}",
        "[1]",
        "   ",
        "1" * 4097,
    ):  # strings, structures and huge text go to the rule
        with pytest.raises(ArgumentRefused) as info:
            validate_call("get_k8s_events", {"kind": "Pod", "name": value})
        assert "is not valid: expected an object name" in str(info.value)
    with pytest.raises(ArgumentRefused, match="would be read as JSON"):
        validate_call("get_k8s_events", {"kind": "Pod", "name": "1" * 4096})
    with pytest.raises(ArgumentRefused, match="would be read as JSON"):
        validate_call("get_k8s_events", {"kind": "Pod", "name": "1.5"})
    assert validate_call("get_k8s_events", {"kind": "Pod", "name": "web", "limit": 5}) == [
        Target("Pod", "v1", "web", None)
    ]  # only strings are looked at


def test_a_window_of_exactly_the_limit_is_allowed() -> None:
    window = {"start_time": "2026-12-01T00:00:00Z", "end_time": "2026-12-01T03:00:00Z"}
    assert validate_call("get_cloudwatch_logs", {**LOGS, **window}) == []


def test_optional_cloudwatch_arguments_may_be_empty_or_absent() -> None:
    empty = {"resource_name": "", "start_time": "", "end_time": None, "filter_pattern": "", "fields": ""}
    assert validate_call("get_cloudwatch_logs", {**LOGS, **empty}) == []
    full = {
        "resource_name": "web-1",
        "filter_pattern": "ERROR",
        "fields": "@timestamp, @message,kubernetes.pod_name",
    }
    assert validate_call("get_cloudwatch_logs", {**LOGS, **full}) == []
    assert (
        validate_call("get_cloudwatch_metrics", {"cluster_name": "prod", "metric_name": "", "stat": None})
        == []
    )


# --- what each valid call names -------------------------------------------------------------------------


def test_each_kubernetes_read_names_its_object_or_collection() -> None:
    assert validate_call("list_k8s_resources", {"kind": "Pod", "namespace": "shop"}) == [
        Target("Pod", "v1", "", "shop")
    ]
    assert validate_call(
        "list_k8s_resources", {"kind": "Deployment", "api_version": "apps/v1", "namespace": ""}
    ) == [Target("Deployment", "apps/v1", "", None)]
    selectors = {"kind": "Pod", "label_selector": "app=web", "field_selector": "status.phase=Running"}
    assert validate_call("list_k8s_resources", selectors) == [Target("Pod", "v1", "", None)]
    assert validate_call(
        "list_k8s_resources", {**selectors, "label_selector": "", "field_selector": None}
    ) == [Target("Pod", "v1", "", None)]
    assert validate_call("get_k8s_events", {"kind": "Pod", "name": "web-1", "namespace": "shop"}) == [
        Target("Pod", "v1", "web-1", "shop")
    ]
    assert validate_call("get_k8s_events", {"kind": "ClusterRole", "name": "system:reader"}) == [
        Target("ClusterRole", "v1", "system:reader", None)
    ]
    assert validate_call(
        "get_pod_logs", {"namespace": "shop", "pod_name": "web-1", "container_name": "app"}
    ) == [Target("Pod", "v1", "web-1", "shop")]
    with pytest.raises(ArgumentRefused, match="namespace"):
        validate_call("get_pod_logs", {"pod_name": "web-1"})  # logs are always read in a namespace


def test_a_kubernetes_change_names_the_object_it_touches() -> None:
    delete = {"operation": "DELETE", "kind": "Deployment", "api_version": "apps/v1", "name": "web"}
    assert validate_call("manage_k8s_resource", {**delete, "namespace": "shop"}) == [
        Target("Deployment", "apps/v1", "web", "shop")
    ]
    assert validate_call("manage_k8s_resource", {**delete, "namespace": ""}) == [
        Target("Deployment", "apps/v1", "web", None)
    ]
    node = {"operation": "patch", "kind": "Node", "api_version": "v1", "name": "n1", "namespace": "shop"}
    assert validate_call("manage_k8s_resource", node) == [Target("Node", "v1", "n1", None)]  # cluster-scoped
    create = {
        "operation": "create",
        "kind": "ConfigMap",
        "api_version": "v1",
        "namespace": "shop",
        "body": {"metadata": {"name": "cfg"}, "data": {}},
    }
    assert validate_call("manage_k8s_resource", create) == [Target("ConfigMap", "v1", "cfg", "shop")]
    named = {**create, "operation": "replace", "name": "cfg", "body": {"data": {}}}
    assert validate_call("manage_k8s_resource", named) == [Target("ConfigMap", "v1", "cfg", "shop")]
    with pytest.raises(ArgumentRefused, match="operation="):
        validate_call("manage_k8s_resource", {**delete, "operation": None})


def test_a_cluster_wide_tool_checks_only_the_cluster_and_names_nothing() -> None:
    for tool, extra in (
        ("list_api_versions", {}),
        ("generate_app_manifest", {"app_name": "web", "output_dir": "/out", "cpu": "250m", "memory": ""}),
        ("apply_yaml", {"yaml_path": "/m/web.yaml"}),
    ):
        assert validate_call(tool, {**extra, "cluster_name": "kind-local"}) == []
        assert validate_call(tool, {**extra, "cluster_name": None}) == []
    assert validate_call("manage_eks_stacks", {"operation": "deploy", "template_file": "/m/stack.yaml"}) == []
    assert validate_call("manage_eks_stacks", {"operation": "deploy", "template_file": ""}) == []
    assert validate_call("get_eks_vpc_config", {"cluster_name": "prod", "vpc_id": "vpc-0abc123"}) == []
    assert (
        validate_call("get_eks_insights", {"cluster_name": "prod", "insight_id": "a_b-1", "category": ""})
        == []
    )
    assert validate_call("manage_eks_stacks", {"operation": "Deploy", "cluster_name": "prod"}) == []
    assert validate_call("manage_eks_stacks", {"operation": "describe"}) == []
    assert validate_call("add_inline_policy", {"policy_name": "a+=,.@_-", "role_name": "Role_1"}) == []
    for tool in ("get_eks_metrics_guidance", "search_eks_troubleshoot_guide"):
        assert validate_call(tool, {"anything": "a/../b"}) == []
    assert validate_call("cost-explorer", {"x": "../"}, server="billing") == []
    assert validate_call("new-tool", {"x": "../"}) == []  # not on a strict server


def test_kind_specific_name_rules() -> None:
    assert check_name("system:controller:x", "ClusterRoleBinding") == "system:controller:x"
    assert check_name("Admin_Role", "Role") == "Admin_Role"
    for bad in ("a/b", "..", ".", "a b"):
        with pytest.raises(ArgumentRefused, match="an RBAC object name"):
            check_name(bad, "RoleBinding")
    assert check_name("team-a", "Namespace") == "team-a"
    with pytest.raises(ArgumentRefused) as info:
        check_name("a.b", "Namespace", "body.metadata.name")
    assert str(info.value) == f"body.metadata.name='a.b' is not valid: expected {NAMESPACE}"


# --- objects in bodies and manifests --------------------------------------------------------------------


def test_an_objects_refusals_name_where_in_the_document() -> None:
    def why(obj: Any, **kwargs: Any) -> str:
        with pytest.raises(ArgumentRefused) as info:
            object_target(obj, "document 2", **kwargs)
        return str(info.value)

    assert why([]) == "document 2 must be a Kubernetes object (a mapping with kind, apiVersion, metadata)"
    assert (
        why({"apiVersion": "v1", "metadata": {"name": "a"}})
        == "document 2.kind must be a string, not NoneType"
    )
    assert why({"kind": "Pod", "apiVersion": "v1/x", "metadata": {"name": "a"}}) == (
        f"document 2.apiVersion='v1/x' is not valid: expected {API_VERSION}"
    )
    assert (
        why({"kind": "Pod", "apiVersion": "v1", "metadata": "a"}) == "document 2.metadata must be an object"
    )
    assert why({"kind": "Pod", "apiVersion": "v1", "metadata": {}}) == (
        "document 2.metadata.name is missing: every object needs a name"
    )
    assert why({"kind": "Pod", "apiVersion": "v1", "metadata": {"generateName": "-"}}) == (
        "document 2.metadata.name is missing: every object needs a name"
    )
    assert why({"kind": "Pod", "apiVersion": "v1", "metadata": {"generateName": 3}}) == (
        "document 2.metadata.generateName must be a string, not int"
    )
    assert why({"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "a", "namespace": "A"}}) == (
        f"document 2.metadata.namespace='A' is not valid: expected {NAMESPACE}"
    )
    assert why({"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "a"}}, namespace="A") == (
        f"document 2.metadata.namespace='A' is not valid: expected {NAMESPACE}"
    )


def test_generate_name_names_the_object_without_its_trailing_dashes() -> None:
    obj = {"kind": "Job", "apiVersion": "batch/v1", "metadata": {"generateName": "backup--"}}
    target = object_target(obj, "body")
    assert target == Target("Job", "batch/v1", "backup", None, generated=True)
    assert target.describe() == "Job with a generated name starting with backup (batch/v1)"
    named = {"kind": "Job", "apiVersion": "batch/v1", "metadata": {"name": "n", "generateName": "-x"}}
    assert object_target(named, "body") == Target("Job", "batch/v1", "n", None, generated=False)


def test_an_object_takes_kind_and_version_from_the_call_when_it_omits_them() -> None:
    obj = {"metadata": {"name": "cfg", "namespace": "ops"}}
    assert object_target(obj, "body", kind="ConfigMap", api_version="v1") == Target(
        "ConfigMap", "v1", "cfg", "ops"
    )
    repeated = {"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "cfg"}}
    assert object_target(repeated, "body", kind="ConfigMap", api_version="v1", namespace="ops") == Target(
        "ConfigMap", "v1", "cfg", "ops"
    )


def test_every_document_of_a_manifest_is_checked_even_after_an_empty_one() -> None:
    docs = [
        None,
        {"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "a"}},
        None,
        {"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "B"}},
    ]
    with pytest.raises(ArgumentRefused) as info:
        manifest_targets(docs, "ops")
    assert str(info.value) == f"document 4.metadata.name='B' is not valid: expected {OBJECT}"
    assert manifest_targets(docs[:3], "ops") == [Target("ConfigMap", "v1", "a", "ops")]
    assert manifest_targets(docs[:3], "") == [Target("ConfigMap", "v1", "a", "default")]
    with pytest.raises(ArgumentRefused) as empty:
        manifest_targets([None, None], "ops")
    assert str(empty.value) == "the manifest holds no Kubernetes object"


def test_a_target_describes_itself_for_the_card() -> None:
    assert Target("Pod", "v1", "web", "shop").describe() == "Pod web (v1) in namespace shop"
    assert Target("Node", "v1", "n1", None).describe() == "Node n1 (v1)"
    assert Target("Pod", "v1", "", "shop").describe() == "Pod (unnamed) (v1) in namespace shop"


def test_a_missing_operation_is_named_as_empty() -> None:
    assert refusal("manage_k8s_resource", {"kind": "Pod", "api_version": "v1", "name": "a"}) == (
        "operation='' is not valid: expected one of create, replace, patch, delete, read"
    )
    assert refusal("manage_eks_stacks", {}) == (
        "operation='' is not valid: expected one of generate, deploy, describe, delete"
    )


@pytest.mark.parametrize(
    ("tool", "args", "message"),
    [
        (
            "list_k8s_resources",
            {"kind": "Pod", "label_selector": 5},
            "label_selector must be a string, not int",
        ),
        (
            "list_k8s_resources",
            {"kind": "Pod", "field_selector": 5},
            "field_selector must be a string, not int",
        ),
        ("get_cloudwatch_logs", {**LOGS, "resource_type": 5}, "resource_type must be a string, not int"),
        ("get_cloudwatch_logs", {**LOGS, "start_time": 5}, "start_time must be a string, not int"),
    ],
)
def test_a_value_that_is_not_text_is_named_by_its_argument(
    tool: str, args: dict[str, Any], message: str
) -> None:
    assert refusal(tool, args) == message


def test_an_rbac_name_refusal_names_the_argument_and_the_rbac_rule() -> None:
    with pytest.raises(ArgumentRefused) as info:
        check_name("a/b", "RoleBinding", "body.metadata.name")
    assert str(info.value) == (
        "body.metadata.name='a/b' is not valid: expected an RBAC object name (letters, digits, ':', '.', '_', '-')"
    )


def test_a_json_refusal_shows_the_first_40_characters() -> None:
    assert refusal("get_k8s_events", {"kind": "Pod", "name": "1" * 50}) == (
        f"name={'1' * 40!r} would be read as JSON, not as text: give a name"
    )


def test_insights_fields_may_be_512_characters() -> None:
    fields = ",".join(["a" * 100] * 5 + ["abcdefg"])
    assert len(fields) == 512
    assert validate_call("get_cloudwatch_logs", {**LOGS, "fields": fields}) == []
    with pytest.raises(ArgumentRefused, match="fields="):
        validate_call("get_cloudwatch_logs", {**LOGS, "fields": fields + "h"})


def test_insight_ids_and_categories_take_upper_case() -> None:
    args = {"cluster_name": "prod", "insight_id": "A_b-1", "category": "UPGRADE_READINESS"}
    assert validate_call("get_eks_insights", args) == []


@pytest.mark.parametrize("key", ["image_uri", "cpu", "memory", "load_balancer_scheme"])
def test_every_free_text_argument_of_an_app_manifest_is_one_line(key: str) -> None:
    args = {"app_name": "web", "output_dir": "/out", key: "a\nb"}
    assert refusal("generate_app_manifest", args) == f"{key} must be one line of at most 256 characters"


def test_manifest_objects_follow_the_rules_of_their_own_kind() -> None:
    binding = {
        "kind": "ClusterRoleBinding",
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "metadata": {"name": "system:x"},
    }
    assert manifest_targets([binding], None) == [
        Target("ClusterRoleBinding", "rbac.authorization.k8s.io/v1", "system:x", None)
    ]
    namespace = {"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": "a.b"}}
    with pytest.raises(ArgumentRefused, match="expected a namespace name"):
        manifest_targets([namespace], None)
    wrong_group = {"kind": "Deployment", "apiVersion": "v1", "metadata": {"name": "web"}}
    with pytest.raises(ArgumentRefused) as info:
        manifest_targets([wrong_group], None)
    assert str(info.value) == "document 1.apiVersion='v1' is not the API group of Deployment: use apps/v1"


def test_a_generated_name_prefix_is_checked_as_given() -> None:
    obj = {"kind": "Job", "apiVersion": "batch/v1", "metadata": {"generateName": "jobX-"}}
    with pytest.raises(ArgumentRefused, match=r"document 1\.metadata\.name='jobX' is not valid"):
        manifest_targets([obj], None)


def test_a_time_without_a_zone_is_shown_cut_to_40_characters() -> None:
    naive = "2026-12-01T00:00:00." + "1" * 30  # Python reads any number of fraction digits
    assert refusal("get_cloudwatch_logs", {**LOGS, "start_time": naive}) == (
        f"start_time={naive[:40]!r} needs a time zone: end it with Z (UTC) or an offset"
    )


def test_arguments_sent_as_text_are_read_as_json_or_kept_as_the_input() -> None:
    """Some models send a call's arguments, or its `body`, as a JSON string: both are read; what is not
    JSON is kept as it came (never an exception, never dropped)."""
    assert coerce_arguments('{"name": "web"}') == {"name": "web"}
    assert coerce_arguments("list the pods") == {"input": "list the pods"}
    assert coerce_arguments(["a"]) == {}
    assert coerce_arguments({"body": '{"kind": "Pod"}'}) == {"body": {"kind": "Pod"}}
    assert coerce_arguments({"body": "{not json"}) == {"body": "{not json"}
    assert coerce_arguments({"note": '{"kind": "Pod"}'}) == {"note": '{"kind": "Pod"}'}  # only `body`
