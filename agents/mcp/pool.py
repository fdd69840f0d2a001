"""The server processes of a capability over a fleet file: one per distinct instance, made on first use.

What an instance is, the capability says (`PerCluster`): for EKS a way of reaching clusters
(`ServerInstance`: kubeconfig clusters share one process per write mode, IAM clusters one per region and
role), for Prometheus a base URL. So a 20-cluster fleet does not hold 20 servers, and a process nobody
called for MCP_IDLE_SECONDS is stopped (`McpServers.start_reaper`). Each process fails and restarts on
its own, so one cluster's restart never touches another cluster's questions.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Mapping
from functools import partial
from typing import Any

from agents.fleet import ClusterConfig, Fleet
from agents.fleet.instances import IDENTITIES, instance_for
from agents.mcp.servers import McpServer, McpServers, ServerSpec


def nothing_serves(cluster: str) -> str:
    return f"nothing serves cluster {cluster} in this bot's fleet"


class ClusterServers:
    """One capability's servers over a fleet: which process serves which cluster.

    `instance_of` maps a fleet cluster to its instance (equal instances share a process; None: nothing
    serves that cluster, and `missing` says what to set). Without it, the EKS way (`instance_for`).
    """

    def __init__(
        self,
        servers: McpServers,
        fleet: Fleet[Any],
        make_spec: Callable[[Any], ServerSpec],
        *,
        allow_write: bool,
        instance_of: Callable[[ClusterConfig], Hashable | None] | None = None,
        differ: str = IDENTITIES,
        missing: Callable[[str], str] = nothing_serves,
    ) -> None:
        self.servers = servers
        self.fleet = fleet
        self.make_spec = make_spec
        self.allow_write = allow_write
        self.instance_of = instance_of or partial(instance_for, allow_write=allow_write)
        self.differ = differ
        self.why_missing = missing
        self._names: dict[Hashable, str] = {}
        self._lock = threading.Lock()  # one spec (and one temporary directory) per instance
        # A call's cluster argument is the server's name for it (a context, an EKS name) or, before the
        # gate translated it, the fleet's: both lead to the fleet cluster.
        self._by_target: dict[str, str] = {}
        for name, cluster in fleet.clusters.items():
            self._by_target[cluster.target] = name
            self._by_target.setdefault(name, name)

    def instance(self, cluster: str) -> Any:
        """The instance serving a fleet cluster (None: none does)."""
        return self.instance_of(self.fleet.clusters[cluster])

    def writes(self, cluster: str) -> bool:
        """Whether changes may reach `cluster`: its `writes` and the bot's EKS_MCP_ALLOW_WRITE both say so."""
        return self.allow_write and self.fleet.clusters[cluster].writes

    def missing(self, cluster: str) -> str | None:
        """Why nothing serves `cluster`, naming what to set; None when a process does."""
        return self.why_missing(cluster) if self.instance(cluster) is None else None

    def several(self, clusters: tuple[str, ...] | None = None) -> bool:
        """Whether `clusters` (all of the fleet's by default) need more than one process (or none)."""
        return len({self.instance(c) for c in (clusters or self.fleet.names)}) > 1

    def one_call_per_cluster(self, clusters: tuple[str, ...], tool: str) -> str | None:
        """The refusal of a `tool` call over `clusters` that need several processes (None: they need one)."""
        if not self.several(clusters):
            return None
        return (
            f"the clusters of this question ({', '.join(clusters)}) {self.differ}: call {tool} once per "
            "cluster, with `cluster` set to one of them, then compare the answers."
        )

    def groups(self) -> dict[Hashable | None, list[str]]:
        """The fleet's clusters by the instance serving them, in the fleet's order (doctor's lines)."""
        found: dict[Hashable | None, list[str]] = {}
        for name in self.fleet.clusters:
            found.setdefault(self.instance(name), []).append(name)
        return found

    def first_served(self) -> str | None:
        """The cluster whose process starts with the bot: the default's, else the first one served."""
        served = [n for n in self.fleet.names if self.instance(n) is not None]
        return (
            self.fleet.default_cluster if self.fleet.default_cluster in served else next(iter(served), None)
        )

    def server(self, cluster: str) -> McpServer:
        """The (maybe not yet started) server process of a fleet cluster; ValueError when none serves it."""
        instance = self.instance(cluster)
        if instance is None:
            raise ValueError(self.why_missing(cluster))
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
        self, clusters: tuple[str, ...], argument: str | None
    ) -> Callable[[Mapping[str, Any]], McpServer | str]:
        """For one specialist call: the server of the cluster each tool call names, or why not (a str).

        A call naming a cluster outside `clusters` is refused: the gate already bound it, so this is the
        second line, not the only one. A call naming no cluster (a guide, an IAM role or policy, every
        PromQL query) runs in the one process serving all of `clusters`; when they need several (another
        region or role: another AWS account, maybe; another Prometheus), which one is not the model's to pick.
        """
        several = self.several(clusters)

        def route(arguments: Mapping[str, Any]) -> McpServer | str:
            value = arguments.get(argument) if argument is not None else None
            if value is None:
                if several:
                    return (
                        "Not executed: this tool names no cluster, and the clusters of this call "
                        f"({', '.join(clusters)}) {self.differ}. Ask about one cluster at a time."
                    )
                why = self.missing(clusters[0])
                return f"Not executed: {why}." if why else self.server(clusters[0])
            cluster = self.cluster_of(value)
            if cluster is None or cluster not in clusters:
                return "Not executed: that cluster is not one this question is about."
            why = self.missing(cluster)
            return f"Not executed: {why}." if why else self.server(cluster)

        return route
