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
        return self.servers[name]  # made above the first time: the name is cached only once it exists

    def cluster_of(self, value: object) -> str | None:
        """The fleet cluster a call's cluster argument names (None: not one of the fleet)."""
        return self._by_target.get(value) if isinstance(value, str) else None

    def adopt(self, cluster: str, name: str) -> None:
        """Serve `cluster`'s instance by the running server `name` (the warm one the bot started), so no
        second spec (a second temporary directory, a second credentials file) is made for it."""
        with self._lock:
            self._names.setdefault(self.instance(cluster), name)

    def router(
        self, clusters: tuple[str, ...], argument: str
    ) -> Callable[[Mapping[str, Any]], McpServer | str]:
        """For one specialist call: the server of the cluster each tool call names, or why not (a str).

        A call naming a cluster outside `clusters` is refused: the gate already bound it, so this is the
        second line, not the only one. A call naming no cluster (a guide, an IAM role or policy) runs with
        the identity of the one process serving all of `clusters`; when they need several (another
        region or role: another AWS account, maybe), which one it would act as is not the model's to pick.
        """
        instances = {self.instance(c) for c in clusters}

        def route(arguments: Mapping[str, Any]) -> McpServer | str:
            value = arguments.get(argument)
            if value is None:
                if len(instances) > 1:
                    return (
                        "Not executed: this tool names no cluster, and the clusters of this call "
                        f"({', '.join(clusters)}) are reached with different AWS identities or regions. "
                        "Ask about one cluster at a time."
                    )
                return self.server(clusters[0])
            cluster = self.cluster_of(value)
            if cluster is None or cluster not in clusters:
                return "Not executed: that cluster is not one this question is about."
            return self.server(cluster)

        return route
