"""How the bot runs its MCP servers: each enabled capability's spec from the settings, with an explicit
environment, and (with a fleet file) each clustered capability's server processes over the fleet."""

from __future__ import annotations

import os
from functools import partial
from typing import Any

from agents.capabilities import Capability, enabled
from agents.fleet import Fleet
from agents.mcp.pool import ClusterServers, nothing_serves
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

    With a fleet file (`fleet`), a capability whose processes are per cluster starts with the bot the
    process of the default cluster (or, when nothing serves that one, of the first cluster served);
    the others start on first use (agents/mcp/pool.py).
    """
    base, common = server_environment(settings, environ)
    chosen = capabilities if capabilities is not None else enabled(settings, fleet)
    specs = []
    for capability in chosen:
        per = capability.per_cluster
        if fleet is not None and per is not None:
            warm = _pool(settings, McpServers([]), fleet, capability, base, common).first_served()
            if warm is None:  # nothing in the fleet is served by it: no process to keep warm
                continue
            spec = per.spec(settings, base, common, per.instance(settings, fleet.clusters[warm]))
        else:
            spec = capability.server_spec(settings, base, common)
        if (spec.kind or spec.name) != capability.server:  # the gate judges a server's tools by it
            raise ValueError(f"{capability.name}'s server is named {spec.name!r}, not {capability.server!r}")
        specs.append(spec)
    return specs


def _pool(
    settings: Settings,
    servers: McpServers,
    fleet: Fleet[Any],
    capability: Capability,
    base: dict[str, str],
    common: dict[str, str],
) -> ClusterServers:
    per = capability.per_cluster
    assert per is not None
    return ClusterServers(
        servers,
        fleet,
        partial(per.spec, settings, base, common),
        allow_write=settings.eks_mcp_allow_write,
        instance_of=partial(per.instance, settings),
        differ=per.differ,
        missing=per.missing or nothing_serves,
    )


def cluster_servers(
    settings: Settings,
    servers: McpServers,
    fleet: Fleet[Any],
    capabilities: tuple[Capability, ...],
    environ: dict[str, str] | None = None,
) -> dict[str, ClusterServers]:
    """Each per-cluster capability's server processes over the fleet, by capability name."""
    base, common = server_environment(settings, environ)
    pools: dict[str, ClusterServers] = {}
    for capability in capabilities:
        if capability.per_cluster is None:
            continue
        pool = pools[capability.name] = _pool(settings, servers, fleet, capability, base, common)
        warm = [name for name, s in servers.warm().items() if s.kind == capability.server]
        first = pool.first_served()
        if warm and first is not None:  # server_specs started this cluster's process: serve it by that one
            pool.adopt(first, warm[0])
    return pools
