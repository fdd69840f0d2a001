"""How the bot runs its MCP servers: each enabled capability's spec from the settings, with an explicit
environment, and (with a fleet file) each clustered capability's server processes over the fleet."""

from __future__ import annotations

import os
from functools import partial
from typing import Any

from agents.capabilities import Capability, enabled
from agents.fleet import Fleet
from agents.fleet.instances import instance_for
from agents.mcp.pool import ClusterServers
from agents.mcp.servers import McpServers, ServerSpec
from agents.settings import Settings


def server_environment(
    settings: Settings, environ: dict[str, str] | None = None
) -> tuple[dict[str, str], dict[str, str]]:
    """(the bot's environment, the settings every server gets): the inputs of a capability's spec.

    The AWS settings come from the settings, not only the environment: keys written in .env are in
    the settings alone, and the servers must see the same identity, region and endpoint as the bot.
    """
    base = dict(os.environ if environ is None else environ)
    aws = settings.aws_environment()
    region = aws.get("AWS_REGION") or base.get("AWS_REGION", "")
    common = {
        **aws,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": base.get("AWS_DEFAULT_REGION") or region,  # what boto3 itself reads
        "AWS_PROFILE": settings.aws_profile or "",
        "FASTMCP_LOG_LEVEL": settings.fastmcp_log_level,
    }
    return base, common


def server_specs(
    settings: Settings,
    environ: dict[str, str] | None = None,
    capabilities: tuple[Capability, ...] | None = None,
    fleet: Fleet[Any] | None = None,
) -> list[ServerSpec]:
    """How to run the enabled capabilities' pinned MCP servers, each with an explicit environment.

    With a fleet file (`fleet`), a clustered capability's server started with the bot is the default
    cluster's process (agents/mcp/pool.py); the other clusters' start on first use.
    """
    base, common = server_environment(settings, environ)
    chosen = capabilities if capabilities is not None else enabled(settings)
    specs = []
    for capability in chosen:
        if fleet is not None and capability.instance_spec is not None and capability.cluster_argument:
            instance = instance_for(fleet.clusters[fleet.default_cluster], settings.eks_mcp_allow_write)
            spec = capability.instance_spec(settings, base, common, instance)
        else:
            spec = capability.server_spec(settings, base, common)
        if (spec.kind or spec.name) != capability.server:  # the gate judges a server's tools by it
            raise ValueError(f"{capability.name}'s server is named {spec.name!r}, not {capability.server!r}")
        specs.append(spec)
    return specs


def cluster_servers(
    settings: Settings,
    servers: McpServers,
    fleet: Fleet[Any],
    capabilities: tuple[Capability, ...],
    environ: dict[str, str] | None = None,
) -> dict[str, ClusterServers]:
    """Each clustered capability's server processes over the fleet, by capability name."""
    base, common = server_environment(settings, environ)
    pools: dict[str, ClusterServers] = {}
    for capability in capabilities:
        make = capability.instance_spec
        if make is None or capability.cluster_argument is None:
            continue
        pool = pools[capability.name] = ClusterServers(
            servers, fleet, partial(make, settings, base, common), allow_write=settings.eks_mcp_allow_write
        )
        warm = [name for name, s in servers.warm().items() if s.kind == capability.server]
        if warm:  # server_specs started the default cluster's process: serve it by that one
            pool.adopt(fleet.default_cluster, warm[0])
    return pools
