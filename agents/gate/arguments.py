"""Validate tool arguments before any call, read or write: an argument may name an object, never a path.

The EKS MCP server puts `name`, `namespace`, `kind`, `api_version` and friends into the request URL as
given, and its HTTP client collapses `..`: a "read" of ConfigMap `x/../../secrets/db` reads a Secret, and
an approved "delete ConfigMap x" can delete something else. So every argument that names a Kubernetes
object or scope must satisfy Kubernetes' own rules (DNS-1123 labels and subdomains, kind and apiVersion
patterns, selector syntax) before the call is made; what passes cannot contain `/`, `?`, `#`, `%` or `..`,
so the request stays under the path of the object it names. One function, `validate_call`, is called by
the write gate (before a card is made) and again by the MCP tool itself (the last step before the server).
A refusal is a `ArgumentRefused` whose text tells the model what to fix.

Why one module of ~600 lines: Kubernetes' naming rules and, per tool, which argument names what, both read
by one `validate_call`; a reviewer checks a tool's checks against the rules they apply in one file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

# --- Kubernetes' naming rules ---------------------------------------------------------------------------
_LABEL = r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?"
DNS1123_LABEL = re.compile(_LABEL)
DNS1123_SUBDOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
# RBAC objects take "path segment" names (system:controller:x); still no '/', '%', '?', '#' or spaces.
PATH_SEGMENT_NAME = re.compile(r"(?!\.\.?$)[A-Za-z0-9:._-]{1,253}")
KIND = re.compile(r"[A-Za-z][A-Za-z0-9]{0,62}")
API_VERSION = re.compile(rf"(?:{_LABEL}(?:\.{_LABEL})*/)?v[0-9]+(?:(?:alpha|beta)[0-9]+)?")
# A kubeconfig context or EKS cluster name (an ARN-shaped context is allowed in kubeconfig mode).
CLUSTER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@/-]{0,252}")
EKS_CLUSTER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}")
# Label selector pieces (k8s.io/apimachinery/pkg/labels): keys are [prefix/]name, values are names.
_QUALIFIED_NAME = r"(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)"
_LABEL_KEY = rf"(?:{_LABEL}(?:\.{_LABEL})*/)?{_QUALIFIED_NAME}"
_LABEL_VALUE = rf"(?:{_QUALIFIED_NAME})?"
_LABEL_REQUIREMENT = re.compile(
    rf"\s*(?:!\s*{_LABEL_KEY}"
    rf"|{_LABEL_KEY}\s*(?:(?:==|!=|=)\s*{_LABEL_VALUE}|[<>]\s*-?[0-9]{{1,18}}"
    rf"|\s(?:in|notin)\s*\(\s*{_LABEL_VALUE}(?:\s*,\s*{_LABEL_VALUE})*\s*\))?)\s*"
)
_FIELD_REQUIREMENT = re.compile(r"\s*[A-Za-z][A-Za-z0-9_.]{0,99}\s*(?:==|!=|=)\s*[A-Za-z0-9._:@-]{0,253}\s*")

RBAC_KINDS = frozenset({"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"})
NAMESPACE_NAMED_KINDS = frozenset({"Namespace"})
# Kinds without a namespace: a namespace given with them is ignored by the API, so the card omits it.
CLUSTER_SCOPED_KINDS = frozenset(
    {
        "Node",
        "Namespace",
        "PersistentVolume",
        "ClusterRole",
        "ClusterRoleBinding",
        "StorageClass",
        "CustomResourceDefinition",
        "PriorityClass",
        "IngressClass",
        "RuntimeClass",
        "CSIDriver",
        "CSINode",
        "VolumeAttachment",
        "APIService",
        "MutatingWebhookConfiguration",
        "ValidatingWebhookConfiguration",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "CertificateSigningRequest",
        "ComponentStatus",
    }
)
K8S_OPERATIONS = ("create", "replace", "patch", "delete", "read")

# get_cloudwatch_logs starts a Logs Insights query, billed per GB scanned: bound what one call can scan.
LOGS_MAX_MINUTES = 180
LOGS_MAX_ENTRIES = 200
LOG_TYPES = ("application", "host", "performance", "dataplane", "control-plane")
LOG_RESOURCE_TYPES = ("pod", "node", "container", "cluster")
_INSIGHTS_FIELDS = re.compile(
    r"@?[A-Za-z_][A-Za-z0-9_.]{0,99}(?:\s*,\s*@?[A-Za-z_][A-Za-z0-9_.]{0,99}){0,19}"
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def coerce_arguments(arguments: Any) -> dict[str, Any]:
    """Some models send nested objects (e.g. manage_k8s_resource's `body`) as JSON strings; accept both."""
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except ValueError:
            return {"input": arguments}
    if not isinstance(arguments, dict):
        return {}
    fixed = dict(arguments)
    for key, value in arguments.items():
        if key in ("body",) and isinstance(value, str) and value.strip().startswith("{"):
            with contextlib.suppress(ValueError):
                fixed[key] = json.loads(value)
    return fixed


class ArgumentRefused(ValueError):
    """An argument breaks the rules for what it names; the message says which and what is expected."""


@dataclass(frozen=True)
class Target:
    """One Kubernetes object a call touches, after validation: what the approval card names."""

    kind: str
    api_version: str
    name: str
    namespace: str | None
    generated: bool = False  # metadata.generateName: the API server appends a random suffix

    def describe(self) -> str:
        where = f" in namespace {self.namespace}" if self.namespace else ""
        name = (
            f"with a generated name starting with {self.name}" if self.generated else self.name or "(unnamed)"
        )
        return f"{self.kind} {name} ({self.api_version}){where}"


# --- single-argument checks -----------------------------------------------------------------------------


def _text(arg: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ArgumentRefused(f"{arg} must be a string, not {type(value).__name__}")
    return value


def _match(arg: str, value: Any, pattern: re.Pattern[str], expected: str, max_len: int = 253) -> str:
    text = _text(arg, value)
    if len(text) > max_len or not pattern.fullmatch(text):
        shown = text if len(text) <= 80 else text[:77] + "…"
        raise ArgumentRefused(f"{arg}={shown!r} is not valid: expected {expected}")
    return text


def check_namespace(value: Any, arg: str = "namespace") -> str:
    return _match(arg, value, DNS1123_LABEL, "a namespace name (lowercase letters, digits, '-')", 63)


def check_kind(value: Any, arg: str = "kind") -> str:
    kind = _match(arg, value, KIND, "a Kubernetes kind such as Pod or Deployment", 63)
    if kind == "List" or kind.endswith("List"):
        # The client runs a List's create/patch/replace once per item, each on the item's own kind and
        # namespace: the card would name "List x" while anything in `items` is changed.
        raise ArgumentRefused(f"{arg}={kind!r}: lists are not accepted; name one object of one kind per call")
    return kind


def check_api_version(value: Any, arg: str = "api_version") -> str:
    return _match(arg, value, API_VERSION, "an apiVersion such as v1, apps/v1 or networking.k8s.io/v1")


# The API group of well-known kinds: the dynamic client finds `Deployment` for api_version "v1" in apps/v1,
# so a card would say "(v1)" about a request to apps/v1; a mismatch is refused with the right group.
KNOWN_GROUPS: dict[str, frozenset[str]] = {
    **dict.fromkeys(
        (
            "Pod", "Service", "ConfigMap", "Secret", "Namespace", "Node", "PersistentVolume",
            "PersistentVolumeClaim", "ServiceAccount", "Endpoints", "LimitRange", "ResourceQuota",
            "ReplicationController",
        ),
        frozenset({""}),
    ),
    "Event": frozenset({"", "events.k8s.io"}),
    **dict.fromkeys(("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"), frozenset({"apps"})),
    **dict.fromkeys(("Job", "CronJob"), frozenset({"batch"})),
    **dict.fromkeys(("Ingress", "NetworkPolicy", "IngressClass"), frozenset({"networking.k8s.io"})),
    **dict.fromkeys(
        ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"), frozenset({"rbac.authorization.k8s.io"})
    ),
    "HorizontalPodAutoscaler": frozenset({"autoscaling"}),
    "PodDisruptionBudget": frozenset({"policy"}),
    "StorageClass": frozenset({"storage.k8s.io"}),
}  # fmt: skip


def check_group(kind: str, api_version: str, arg: str = "api_version") -> None:
    groups = KNOWN_GROUPS.get(kind)
    group = api_version.rpartition("/")[0]
    if groups is not None and group not in groups:
        expected = " or ".join(f"{g}/v1" if g else "v1" for g in sorted(groups))
        raise ArgumentRefused(f"{arg}={api_version!r} is not the API group of {kind}: use {expected}")


def check_name(value: Any, kind: str | None = None, arg: str = "name") -> str:
    """A name by the kind's own rule: RBAC objects take path-segment names, namespaces labels."""
    if kind in RBAC_KINDS:
        return _match(
            arg, value, PATH_SEGMENT_NAME, "an RBAC object name (letters, digits, ':', '.', '_', '-')"
        )
    if kind in NAMESPACE_NAMED_KINDS:
        return check_namespace(value, arg)
    return _match(arg, value, DNS1123_SUBDOMAIN, "an object name (lowercase letters, digits, '-', '.')")


def check_cluster(value: Any, arg: str = "cluster_name", *, eks: bool = False) -> str:
    if eks:
        return _match(arg, value, EKS_CLUSTER, "an EKS cluster name (letters, digits, '-', '_')", 100)
    text = _match(arg, value, CLUSTER, "a cluster or kubeconfig context name")
    if ".." in text.split("/") or "//" in text:
        raise ArgumentRefused(f"{arg}={text!r} is not valid: expected a cluster or kubeconfig context name")
    return text


def check_label_selector(value: Any, arg: str = "label_selector") -> str:
    """Kubernetes label selector syntax: a=b, a!=b, a in (x,y), a notin (x), a, !a — comma-separated."""
    text = _text(arg, value)
    if len(text) > 1024 or not all(_LABEL_REQUIREMENT.fullmatch(r) for r in _split_requirements(text)):
        raise ArgumentRefused(
            f"{arg}={text[:80]!r} is not valid: expected a label selector such as 'app=web,tier!=db' or "
            "'env in (prod,staging)'"
        )
    return text


def check_field_selector(value: Any, arg: str = "field_selector") -> str:
    text = _text(arg, value)
    if len(text) > 1024 or not all(_FIELD_REQUIREMENT.fullmatch(r) for r in text.split(",")):
        raise ArgumentRefused(
            f"{arg}={text[:80]!r} is not valid: expected a field selector such as "
            "'status.phase=Running,spec.nodeName=node-1'"
        )
    return text


def _split_requirements(selector: str) -> list[str]:
    """Split at commas outside parentheses (`a in (x,y),b=c` → two requirements)."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(selector):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(selector[start:i])
            start = i + 1
    parts.append(selector[start:])
    return parts


def _int(arg: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ArgumentRefused(f"{arg} must be a whole number between {low} and {high}")
    if not low <= value <= high:
        raise ArgumentRefused(f"{arg}={value} is out of range: expected {low} to {high}")
    return value


def _choice(arg: str, value: Any, choices: Collection[str]) -> str:
    text = _text(arg, value)
    if text not in choices:
        raise ArgumentRefused(f"{arg}={text[:40]!r} is not valid: expected one of {', '.join(choices)}")
    return text


def _plain(arg: str, value: Any, max_len: int = 256) -> str:
    """Free text that is still not allowed to carry control characters or pipes into a query."""
    text = _text(arg, value)
    if len(text) > max_len or _CONTROL.search(text):
        raise ArgumentRefused(f"{arg} must be one line of at most {max_len} characters")
    return text


def _time(arg: str, value: Any) -> dt.datetime:
    text = _text(arg, value)
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ArgumentRefused(
            f"{arg}={text[:40]!r} is not an ISO time such as 2026-12-02T14:00:00Z"
        ) from None
    if parsed.tzinfo is None:
        # The server reads a naive time in its own time zone: the window checked here would not be the
        # window queried.
        raise ArgumentRefused(f"{arg}={text[:40]!r} needs a time zone: end it with Z (UTC) or an offset")
    return parsed


# --- per-tool rules -------------------------------------------------------------------------------------

Checker = Callable[[dict[str, Any]], list[Target]]


def _optional(args: dict[str, Any], key: str) -> Any:
    value = args.get(key)
    return None if value is None or value == "" else value


def _check_scope(args: dict[str, Any], *, eks_cluster: bool = False) -> None:
    if "cluster_name" in args and args["cluster_name"] is not None:
        check_cluster(args["cluster_name"], eks=eks_cluster)
    if _optional(args, "namespace") is not None:
        check_namespace(args["namespace"])


def _metadata(body: dict[str, Any], arg: str) -> dict[str, Any]:
    metadata = body.get("metadata")
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise ArgumentRefused(f"{arg}.metadata must be an object")
    return metadata


def object_target(
    obj: Any,
    arg: str,
    *,
    kind: str | None = None,
    api_version: str | None = None,
    namespace: str | None = None,
) -> Target:
    """An object's kind/apiVersion/name/namespace, checked and consistent with the call's arguments.

    `kind`, `api_version` and `namespace` are what the arguments say; the object may repeat them, but may
    not contradict them (the card names one object; the request must touch that one).
    """
    if not isinstance(obj, dict):
        raise ArgumentRefused(
            f"{arg} must be a Kubernetes object (a mapping with kind, apiVersion, metadata)"
        )
    for field, given in (("kind", kind), ("apiVersion", api_version)):
        if given is not None and obj.get(field) not in (None, given):
            raise ArgumentRefused(
                f"{arg}.{field} ({obj.get(field)!r}) differs from {given!r}: make them the same"
            )
    checked_kind = check_kind(obj.get("kind") or kind, f"{arg}.kind")
    checked_version = check_api_version(obj.get("apiVersion") or api_version, f"{arg}.apiVersion")
    check_group(checked_kind, checked_version, f"{arg}.apiVersion")
    if "items" in obj:
        raise ArgumentRefused(f"{arg} has items: lists are not accepted; name one object per call")
    metadata = _metadata(obj, arg)
    name = metadata.get("name")
    generated = name is None and metadata.get("generateName") is not None
    if generated:
        name = _text(f"{arg}.metadata.generateName", metadata["generateName"]).rstrip("-") or None
    if name is None:
        raise ArgumentRefused(f"{arg}.metadata.name is missing: every object needs a name")
    check_name(name, checked_kind, f"{arg}.metadata.name")
    ns = metadata.get("namespace") or namespace
    if ns is not None:
        check_namespace(ns, f"{arg}.metadata.namespace")
    scoped = None if checked_kind in CLUSTER_SCOPED_KINDS else ns
    return Target(checked_kind, checked_version, str(name), scoped, generated)


def _manage_k8s_resource(args: dict[str, Any]) -> list[Target]:
    _check_scope(args)
    operation = _choice("operation", str(args.get("operation", "")).lower(), K8S_OPERATIONS)
    kind = check_kind(args.get("kind"))
    api_version = check_api_version(args.get("api_version"))
    check_group(kind, api_version)
    name = _optional(args, "name")
    namespace = _optional(args, "namespace")
    if name is not None:
        check_name(name, kind)
    body = args.get("body")
    if body is None:
        if name is None:
            raise ArgumentRefused(f"name is required to {operation} a {kind}")
        return [Target(kind, api_version, str(name), None if kind in CLUSTER_SCOPED_KINDS else namespace)]
    if not isinstance(body, dict):
        raise ArgumentRefused("body must be a JSON object (the resource definition)")
    metadata = _metadata(body, "body")
    # The server copies name/namespace into the body, and the client falls back to the body's when they
    # are absent: a body that says otherwise would make the card and the request disagree.
    for field, given in (("name", name), ("namespace", namespace)):
        if given is not None and metadata.get(field) not in (None, given):
            raise ArgumentRefused(
                f"body.metadata.{field} ({metadata.get(field)!r}) differs from {field} ({given!r}): "
                "make them the same"
            )
    if name is None and operation != "create":
        raise ArgumentRefused(f"name is required to {operation} a {kind} (not only body.metadata.name)")
    merged = {**body, "metadata": {**metadata, **({"name": name} if name is not None else {})}}
    return [object_target(merged, "body", kind=kind, api_version=api_version, namespace=namespace)]


def _list_k8s_resources(args: dict[str, Any]) -> list[Target]:
    _check_scope(args)
    kind = check_kind(args.get("kind"))
    api_version = check_api_version(args.get("api_version", "v1"))
    check_group(kind, api_version)
    if _optional(args, "label_selector") is not None:
        check_label_selector(args["label_selector"])
    if _optional(args, "field_selector") is not None:
        check_field_selector(args["field_selector"])
    return [Target(kind, api_version, "", _optional(args, "namespace"))]


def _get_pod_logs(args: dict[str, Any]) -> list[Target]:
    _check_scope(args)
    check_namespace(args.get("namespace"))
    pod = check_name(args.get("pod_name"), "Pod", "pod_name")
    if _optional(args, "container_name") is not None:
        _match("container_name", args["container_name"], DNS1123_LABEL, "a container name", 63)
    for key, high in (("since_seconds", 31 * 86_400), ("tail_lines", 100_000), ("limit_bytes", 10 * 2**20)):
        if args.get(key) is not None:
            _int(key, args[key], 1, high)
    return [Target("Pod", "v1", pod, args["namespace"])]


def _get_k8s_events(args: dict[str, Any]) -> list[Target]:
    _check_scope(args)
    kind = check_kind(args.get("kind"))
    name = check_name(args.get("name"), kind)
    return [Target(kind, "v1", name, _optional(args, "namespace"))]


def _cluster_only(args: dict[str, Any]) -> list[Target]:
    _check_scope(args)
    return []


def _eks_cluster_only(args: dict[str, Any]) -> list[Target]:
    _check_scope(args, eks_cluster=True)
    return []


def _path(arg: str, value: Any) -> str:
    """A file path the model chose: absolute, one line (it is shown on a card), no `..`."""
    text = _plain(arg, value, 1024)
    if not text.startswith("/") or ".." in text.split("/"):
        raise ArgumentRefused(f"{arg} must be an absolute path without '..'")
    return text


def _apply_yaml(args: dict[str, Any]) -> list[Target]:
    _check_scope(args)
    _path("yaml_path", args.get("yaml_path"))
    return []  # its objects are in the manifest: see `manifest_targets`, checked once the file is read


def _generate_app_manifest(args: dict[str, Any]) -> list[Target]:
    _check_scope(args)
    _match(
        "app_name",
        args.get("app_name"),
        DNS1123_LABEL,
        "an application name (lowercase letters, digits, '-')",
    )
    _path("output_dir", args.get("output_dir"))
    for key in ("image_uri", "cpu", "memory", "load_balancer_scheme"):
        if _optional(args, key) is not None:
            _plain(key, args[key])
    return []


def _get_cloudwatch_logs(args: dict[str, Any]) -> list[Target]:
    check_cluster(args.get("cluster_name"), eks=True)
    _choice("resource_type", args.get("resource_type"), LOG_RESOURCE_TYPES)
    # A custom log group name would reach any log group of the account, not this cluster's.
    _choice("log_type", args.get("log_type"), LOG_TYPES)
    if _optional(args, "resource_name") is not None:
        # It is quoted into the Insights query: a quote in it would rewrite the query.
        check_name(args["resource_name"], None, "resource_name")
    if args.get("minutes") is not None:
        _int("minutes", args["minutes"], 1, LOGS_MAX_MINUTES)
    if args.get("limit") is not None:
        _int("limit", args["limit"], 1, LOGS_MAX_ENTRIES)
    start = _time("start_time", args["start_time"]) if _optional(args, "start_time") else None
    end = _time("end_time", args["end_time"]) if _optional(args, "end_time") else None
    if end is not None and start is None:
        raise ArgumentRefused("end_time needs a start_time (or use minutes for the last N minutes)")
    if start is not None:
        stop = end or dt.datetime.now(dt.UTC)
        if stop <= start:
            raise ArgumentRefused("end_time must be after start_time")
        if stop - start > dt.timedelta(minutes=LOGS_MAX_MINUTES):
            raise ArgumentRefused(
                f"the time window is longer than {LOGS_MAX_MINUTES} minutes (Logs Insights bills per GB "
                "scanned): narrow start_time/end_time"
            )
    if _optional(args, "filter_pattern") is not None:
        pattern = _plain("filter_pattern", args["filter_pattern"])
        if "|" in pattern:
            raise ArgumentRefused("filter_pattern must be one Logs Insights command without '|'")
    if _optional(args, "fields") is not None:
        _match("fields", args["fields"], _INSIGHTS_FIELDS, "a comma-separated list of field names", 512)
    return []


def _get_cloudwatch_metrics(args: dict[str, Any]) -> list[Target]:
    check_cluster(args.get("cluster_name"), eks=True)
    for key in ("metric_name", "namespace", "stat"):
        if _optional(args, key) is not None:
            _plain(key, args[key])
    return []


def _iam_name(arg: str) -> Checker:
    pattern = re.compile(r"[A-Za-z0-9+=,.@_-]{1,128}")

    def check(args: dict[str, Any]) -> list[Target]:
        _match(arg, args.get(arg), pattern, "an IAM name (letters, digits, +=,.@_-)", 128)
        if arg == "policy_name":
            _match("role_name", args.get("role_name"), pattern, "an IAM role name", 64)
        return []

    return check


def _eks_insights(args: dict[str, Any]) -> list[Target]:
    _check_scope(args, eks_cluster=True)
    for key in ("insight_id", "category"):
        if _optional(args, key) is not None:
            _match(key, args[key], re.compile(r"[A-Za-z0-9_-]{1,128}"), "an id (letters, digits, '-', '_')")
    return []


def _vpc_config(args: dict[str, Any]) -> list[Target]:
    _check_scope(args, eks_cluster=True)
    if _optional(args, "vpc_id") is not None:
        _match("vpc_id", args["vpc_id"], re.compile(r"vpc-[0-9a-f]{1,32}"), "a VPC id such as vpc-0abc123")
    return []


def _eks_stacks(args: dict[str, Any]) -> list[Target]:
    if args.get("cluster_name") is not None:
        check_cluster(args["cluster_name"], eks=True)
    _choice("operation", str(args.get("operation", "")).lower(), ("generate", "deploy", "describe", "delete"))
    if _optional(args, "template_file") is not None:
        _path("template_file", args["template_file"])
    return []


def _free(args: dict[str, Any]) -> list[Target]:
    return []


# Every tool of the EKS server: a tool missing here (a newer server's) is refused until it is reviewed.
KUBERNETES_RULES: dict[str, Checker] = {
    "manage_k8s_resource": _manage_k8s_resource,
    "list_k8s_resources": _list_k8s_resources,
    "get_pod_logs": _get_pod_logs,
    "get_k8s_events": _get_k8s_events,
    "list_api_versions": _cluster_only,
    "apply_yaml": _apply_yaml,
    "generate_app_manifest": _generate_app_manifest,
    "get_cloudwatch_logs": _get_cloudwatch_logs,
    "get_cloudwatch_metrics": _get_cloudwatch_metrics,
    "get_eks_metrics_guidance": _free,
    "get_eks_insights": _eks_insights,
    "get_eks_vpc_config": _vpc_config,
    "get_policies_for_role": _iam_name("role_name"),
    "add_inline_policy": _iam_name("policy_name"),
    "manage_eks_stacks": _eks_stacks,
    "search_eks_troubleshoot_guide": _free,
}
# Servers whose every tool must have rules (their arguments become parts of API paths).
STRICT_SERVERS = frozenset({"eks"})


def validate_call(
    tool: str,
    args: dict[str, Any],
    *,
    server: str | None = None,
    parameters: Collection[str] | None = None,
) -> list[Target]:
    """The objects the call names, or ArgumentRefused; run before every call, read or write.

    `parameters` are the tool's declared inputs: an argument the server does not take is refused, so the
    approval card can never show a made-up argument as if it mattered.
    """
    if parameters is not None:
        unknown = sorted(set(args) - set(parameters))
        if unknown:
            raise ArgumentRefused(
                f"{tool} does not take {', '.join(unknown)}; its arguments are: {', '.join(sorted(parameters))}"
            )
    rule = KUBERNETES_RULES.get(tool)
    if rule is None:
        if server in STRICT_SERVERS:
            raise ArgumentRefused(f"{tool} is not a tool this bot knows how to check, so it is not run")
        return []
    for key, value in args.items():
        if isinstance(value, str) and _json_non_string(value):
            # FastMCP decodes JSON in strings for parameters not typed `str`: namespace "null" becomes
            # None on the server, and a read in one namespace becomes a read in all of them.
            raise ArgumentRefused(f"{key}={value[:40]!r} would be read as JSON, not as text: give a name")
    return rule(args)


def _json_non_string(value: str) -> bool:
    text = value.strip()
    if not text or len(text) > 4096:
        return False
    try:  # objects and lists are what structured parameters (body, permissions) are meant to be
        return isinstance(json.loads(text), bool | int | float | type(None))
    except ValueError:
        return False


def manifest_targets(documents: list[Any], namespace: str | None) -> list[Target]:
    """The objects a manifest applies (apply_yaml), each checked like a call's arguments."""
    targets = []
    for i, doc in enumerate(documents):
        if doc is None:
            continue
        targets.append(object_target(doc, f"document {i + 1}", namespace=namespace or "default"))
    if not targets:
        raise ArgumentRefused("the manifest holds no Kubernetes object")
    return targets


def refusal_message(tool: str, exc: ArgumentRefused) -> str:
    """What the model reads when a call is refused before it is sent."""
    return (
        f"Refused before anything was sent to the cluster: {exc}. Correct the argument and call {tool} "
        "again; names and namespaces are plain Kubernetes names, never paths."
    )
