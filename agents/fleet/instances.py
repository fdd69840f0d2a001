"""Which clusters one EKS MCP server process can serve together: a `ServerInstance` per way of reaching them.

One EKS server process runs in one auth mode, one region and one AWS identity, with or without
`--allow-write` (docs/fleet.md). So kubeconfig-mode clusters share one process per write mode (the
server resolves `cluster_name` against the contexts), IAM-mode clusters one per region and role, and a
read-only cluster is served by a process started without `--allow-write`: the server itself refuses
its writes, and the write gate is the second line, not the only one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from agents.fleet.config import ClusterConfig, ClusterMode

# How clusters of different instances differ, in a refusal of a tool naming no cluster (agents/mcp/pool.py).
IDENTITIES = "are reached with different AWS identities or regions"


@dataclass(frozen=True)
class ServerInstance:
    """The settings of one server process: what every cluster it serves must have in common."""

    mode: ClusterMode
    writes: bool
    region: str | None = None  # IAM mode: the region it calls EKS in (kubeconfig mode: the bot's)
    role_arn: str | None = None  # IAM mode: the role it assumes (None: the bot's own identity)

    @property
    def slug(self) -> str:
        """A short name for file and process names: "kubeconfig-ro", "iam-eu-west-1-3f2a9c1e-rw"."""
        parts: list[str] = [self.mode]
        if self.region:
            parts.append(self.region)
        if self.role_arn:
            parts.append(hashlib.sha256(self.role_arn.encode()).hexdigest()[:8])
        parts.append("rw" if self.writes else "ro")
        return "-".join(parts)


def instance_for(cluster: ClusterConfig, allow_write: bool) -> ServerInstance:
    """The process a fleet cluster is served by: writes only when both its `writes` and the bot's
    EKS_MCP_ALLOW_WRITE say so (either one off is enough to start it without --allow-write)."""
    writes = cluster.writes and allow_write
    if cluster.eks is not None:
        return ServerInstance("iam", writes, cluster.eks.region, cluster.eks.role_arn)
    return ServerInstance("kubeconfig", writes)
