"""Kubernetes and Amazon EKS: `eks_assistant` over the awslabs EKS MCP server (a pinned install)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from agents.capabilities.base import ASK_AGAIN, INSTALL_HINT, TELL_ADMIN, Capability, PerCluster
from agents.fleet.config import ClusterConfig
from agents.fleet.instances import IDENTITIES, ServerInstance, instance_for
from agents.mcp.assume_role import assume_role_env
from agents.mcp.output import UNTRUSTED_RULE
from agents.mcp.servers import ServerSpec, child_env

if TYPE_CHECKING:
    from agents.settings import Settings

EXECUTABLE = "awslabs.eks-mcp-server"

PROMPT = (
    """You are eks_assistant, a Kubernetes and Amazon EKS expert helping an on-call SRE.
Cluster in scope: {cluster} (pass it as cluster_name to every tool that takes one). Mode: {mode}.
How to work:
- Look before you answer: list resources, read events and logs, then explain the cause in plain words.
- For a failing pod check its status, its events (get_k8s_events) and its logs (get_pod_logs).
- Keep queries narrow (namespace, label selector, tail lines): results are cut to a budget.
- Answer in short Markdown: the finding first, then the evidence (names, reasons, log lines), then the fix.
- Changes (create, patch, delete, apply) only when the user asked for that change. {write_rule}
"""
    + UNTRUSTED_RULE
)


def base_instance(settings: Settings) -> ServerInstance:
    """The instance today's settings describe: EKS_AUTH_MODE / KUBECONFIG, AWS_REGION, EKS_MCP_ALLOW_WRITE."""
    mode = settings.resolved_auth_mode
    return ServerInstance(mode, settings.eks_mcp_allow_write, settings.aws_region if mode == "iam" else None)


def server_spec(settings: Settings, base: Mapping[str, str], common: Mapping[str, str]) -> ServerSpec:
    """The EKS server of today's settings (one cluster, or no fleet file): the instance named `eks`."""
    return instance_spec(settings, base, common, base_instance(settings))


def instance_spec(
    settings: Settings, base: Mapping[str, str], common: Mapping[str, str], instance: ServerInstance
) -> ServerSpec:
    """The EKS server for one way of reaching clusters: its auth mode, region, role and write mode.

    The instance of today's settings is `eks`; every other is `eks-<slug>` with its own log file and
    temporary directory, so two instances never share a cache or a log.
    """
    name = "eks" if instance == base_instance(settings) else f"eks-{instance.slug}"
    args = ["--auth-mode", instance.mode]
    if instance.writes:
        args.append("--allow-write")
    if settings.eks_mcp_allow_sensitive_data:
        args.append("--allow-sensitive-data-access")
    kubeconfig = os.pathsep.join(str(p.resolve()) for p in settings.kubeconfig_paths())
    extra = {**common, "KUBECONFIG": kubeconfig}
    if instance.region:  # the EKS server calls EKS in AWS_REGION (boto3 also reads the default)
        extra.update(AWS_REGION=instance.region, AWS_DEFAULT_REGION=instance.region)
    env = child_env(base, extra)
    # The EKS server caches API discovery under $TMPDIR: give this process its own directory.
    tmp = Path(tempfile.mkdtemp(prefix=f"sre-bot-{name}-"))
    env["TMPDIR"] = str(tmp)
    env = {k: v for k, v in env.items() if v}
    if instance.role_arn:
        env = assume_role_env(env, instance.role_arn, tmp / "aws")
    return ServerSpec(
        name=name,
        kind="eks",
        command=settings.mcp_command(EXECUTABLE),
        args=args,
        env=env,
        log_file=settings.mcp_log_dir / f"{name}-server.stderr.log",
        missing_hint=INSTALL_HINT,
        owned_dirs=[tmp],
    )


def cluster_instance(settings: Settings, cluster: ClusterConfig) -> ServerInstance:
    """A fleet cluster's way in (`instance_for`), with the bot's EKS_MCP_ALLOW_WRITE."""
    return instance_for(cluster, settings.eks_mcp_allow_write)


EKS = Capability(
    name="eks_assistant",
    server="eks",
    title="Kubernetes/EKS",
    server_title="EKS",
    asking="Asking the Kubernetes specialist",
    route="Kubernetes or EKS (pods, deployments, nodes, events, logs, manifests, cluster health)",
    description=(
        "Kubernetes and Amazon EKS specialist with live access to the cluster: pods, deployments, "
        "services, nodes, events, logs, manifests, and (in IAM mode) CloudWatch and EKS insights. "
        "Pass the user's question, with any names, namespaces and earlier context it needs."
    ),
    prompt=PROMPT,
    tools=None,
    server_spec=server_spec,
    per_cluster=PerCluster(cluster_instance, instance_spec, differ=IDENTITIES),
    read_only_tools=frozenset(
        {
            "list_k8s_resources",
            "get_pod_logs",
            "get_k8s_events",
            "list_api_versions",
            "get_cloudwatch_logs",
            "get_cloudwatch_metrics",
            "get_eks_metrics_guidance",
            "get_policies_for_role",
            "search_eks_troubleshoot_guide",
            "get_eks_vpc_config",
            "get_eks_insights",
        }
    ),
    read_operations={
        "manage_k8s_resource": frozenset({"read"}),
        # `generate` writes a CloudFormation template to a path of the model's choosing: a write.
        "manage_eks_stacks": frozenset({"describe"}),
    },
    notes={
        "unreachable": (
            "The cluster's API server could not be reached.",
            ASK_AGAIN,
            "Check KUBECONFIG / DEFAULT_CLUSTER (or AWS_REGION and the cluster name in IAM mode) and the "
            "network; `sre-bot doctor` tests it.",
        ),
        "credentials": (
            "The cluster refused the bot's credentials.",
            TELL_ADMIN,
            "Check the kubeconfig's user, or the bot role's EKS access entry and expired AWS credentials; "
            "`sre-bot doctor` tests it.",
        ),
    },
    description_limit=700,
    # generate_app_manifest writes files on the bot's own disk (useless to someone asking in a chat); the metrics guide is
    # static documentation. Dropping both keeps IAM mode's specs under ~8k tokens per call.
    excluded_tools=("generate_app_manifest", "get_eks_metrics_guidance"),
    cluster_argument="cluster_name",
)
