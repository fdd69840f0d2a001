"""`sre-bot doctor`: check each thing the bot depends on and say how to fix what fails."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from agents.coordinator import Assistant, default_cluster
from agents.settings import Settings


@dataclass
class Check:
    name: str
    status: str  # OK, WARN, FAIL, SKIP
    detail: str
    fix: str = ""


def _aws_identity(settings: Settings) -> Check:
    try:
        import boto3

        session = boto3.Session(profile_name=settings.aws_profile, region_name=settings.aws_region)
        ident = session.client("sts").get_caller_identity()
        return Check("aws credentials", "OK", f"{ident.get('Arn')} (account {ident.get('Account')})")
    except Exception as exc:  # botocore raises many kinds; the message is what matters here
        return Check(
            "aws credentials",
            "FAIL",
            f"{type(exc).__name__}: {str(exc)[:160]}",
            "Set AWS_PROFILE or AWS credentials (IRSA / Pod Identity on EKS); FinOps and IAM mode need them.",
        )


def _model(assistant: Assistant) -> Check:
    from strands import Agent

    settings = assistant.settings
    label = f"{settings.model_provider}:{settings.resolved_model_id}"
    try:
        agent = Agent(model=assistant.models("coordinator"), callback_handler=None, retry_strategy=None)
        started = time.monotonic()
        reply = str(agent("Reply with the single word OK.")).strip()
        return Check("model", "OK", f"{label} answered in {time.monotonic() - started:.1f}s: {reply[:40]!r}")
    except Exception as exc:
        return Check(
            "model",
            "FAIL",
            f"{label}: {type(exc).__name__}: {str(exc)[:160]}",
            "Check MODEL_PROVIDER / MODEL_ID and the provider's credentials or endpoint.",
        )


def _cluster(assistant: Assistant) -> Check:
    server = assistant.servers.get("eks")
    if server is None or not server.available:
        return Check("cluster", "SKIP", "the EKS MCP server is not running")
    cluster = default_cluster(assistant.settings)
    result = asyncio.run(
        server.call(
            "doctor",
            "list_k8s_resources",
            {"cluster_name": cluster, "kind": "Namespace", "api_version": "v1"},
        )
    )
    text = " ".join(str(b.get("text", "")) for b in result.get("content", []))
    if result.get("status") == "error":
        return Check(
            "cluster",
            "FAIL",
            f"{cluster}: {text[:200]}",
            "Check KUBECONFIG / DEFAULT_CLUSTER (kubeconfig mode) or the EKS access entry of the bot's role.",
        )
    return Check("cluster", "OK", f"{cluster}: namespaces listed")


def run_checks(
    settings: Settings, assistant_factory: Callable[[Settings], Assistant] = Assistant
) -> list[Check]:
    checks = [
        Check(
            "settings",
            "OK",
            f"provider={settings.model_provider} model={settings.resolved_model_id} "
            f"k8s-auth={settings.resolved_auth_mode} writes={'on' if settings.eks_mcp_allow_write else 'off'}",
        )
    ]
    if settings.eks_mcp_allow_write and not settings.approvals_configured:
        checks.append(
            Check(
                "approvals",
                "WARN",
                "EKS_MCP_ALLOW_WRITE=true but nobody can approve, so every change will be refused",
                "Set APPROVER_USER_IDS (Slack user ids) or APPROVER_USERGROUP (a user group id).",
            )
        )
    elif settings.eks_mcp_allow_write:
        who = ", ".join(settings.approvers) or f"group {settings.approver_usergroup}"
        checks.append(Check("approvals", "OK", f"changes need an approval by {who}"))
    else:
        checks.append(Check("approvals", "OK", "read-only mode: write tools are not offered"))
    assistant = assistant_factory(settings)
    try:
        outcome = assistant.start()
        for name, error in outcome.items():
            server = assistant.servers[name]
            if error:
                checks.append(
                    Check(
                        f"mcp server {name}",
                        "FAIL",
                        error[:300],
                        "Install with scripts/install-mcp-servers; check AWS_REGION and credentials.",
                    )
                )
            else:
                tools = sorted(server.tool_specs())
                checks.append(
                    Check(f"mcp server {name}", "OK", f"{len(tools)} tools: {', '.join(tools)[:200]}")
                )
        checks.append(_cluster(assistant))
        checks.append(_aws_identity(settings))
        checks.append(_model(assistant))
    finally:
        assistant.close()
    return checks


def format_table(checks: list[Check]) -> str:
    width = max(len(c.name) for c in checks)
    lines = [f"{'CHECK'.ljust(width)}  STATUS  DETAIL"]
    for c in checks:
        lines.append(f"{c.name.ljust(width)}  {c.status.ljust(6)}  {c.detail}")
        if c.fix and c.status in ("FAIL", "WARN"):
            lines.append(f"{''.ljust(width)}          fix: {c.fix}")
    return "\n".join(lines)
