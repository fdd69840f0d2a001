"""The server process of each cluster of a fleet file: one per `ServerInstance`, made on first use.

A 20-cluster fleet does not hold 20 servers: kubeconfig clusters share one process per write mode, IAM
clusters one per region and role, and a process nobody called for MCP_IDLE_SECONDS is stopped
(`McpServers.start_reaper`). Each process fails and restarts on its own, so one cluster's restart never
touches another cluster's questions.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from agents.fleet import Fleet
from agents.fleet.instances import ServerInstance, instance_for
from agents.mcp.servers import McpServer, McpServers, ServerSpec


class ClusterServers:
    """One clustered capability's servers over a fleet: which process serves which cluster."""

    def __init__(
        self,
        servers: McpServers,
        fleet: Fleet[Any],
        make_spec: Callable[[ServerInstance], ServerSpec],
        *,
        allow_write: bool,
    ) -> None:
        self.servers = servers
        self.fleet = fleet
        self.make_spec = make_spec
        self.allow_write = allow_write
        self._names: dict[ServerInstance, str] = {}
        self._lock = threading.Lock()  # one spec (and one temporary directory) per instance
        # A call's cluster argument is the server's name for it (a context, an EKS name) or, before the
        # gate translated it, the fleet's: both lead to the fleet cluster.
        self._by_target: dict[str, str] = {}
        for name, cluster in fleet.clusters.items():
            self._by_target[cluster.target] = name
            self._by_target.setdefault(name, name)

    def instance(self, cluster: str) -> ServerInstance:
        return instance_for(self.fleet.clusters[cluster], self.allow_write)

    def server(self, cluster: str) -> McpServer:
        """The (maybe not yet started) server process of a fleet cluster."""
        instance = self.instance(cluster)
        with self._lock:
            name = self._names.get(instance)
            if name is None:
                spec = self.make_spec(instance)  # names itself (and makes its temporary directory) once
                name = self._names[instance] = spec.name
                return self.servers.instance(name, lambda: spec)
        return self.servers.instance(name, lambda: self.make_spec(instance))

    def cluster_of(self, value: object) -> str | None:
        """The fleet cluster a call's cluster argument names (None: not one of the fleet)."""
        return self._by_target.get(value) if isinstance(value, str) else None

    def router(
        self, clusters: tuple[str, ...], argument: str
    ) -> Callable[[Mapping[str, Any]], McpServer | None]:
        """For one specialist call: the server of the cluster each tool call names.

        A call naming no cluster (a tool without the argument: a guide, an IAM role) goes to the
        first cluster's server; a call naming a cluster outside `clusters` gets None (refused): the gate
        already bound it, so this is the second line, not the only one.
        """

        def route(arguments: Mapping[str, Any]) -> McpServer | None:
            value = arguments.get(argument)
            if value is None:
                return self.server(clusters[0])
            cluster = self.cluster_of(value)
            return self.server(cluster) if cluster in clusters else None

        return route
