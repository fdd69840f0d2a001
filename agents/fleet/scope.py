"""The clusters one request is about, as they travel in Strands' invocation state to the write gate.

The runner resolves them before any model runs and puts a `ClusterScope` under `CLUSTER_SCOPE`; the
specialists hand it on to their own agents (narrowed to one cluster when the coordinator asks about
one), and the gate binds each call's cluster argument to it. One value, so nothing in between can
widen it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from agents.fleet.resolve import Resolution

CLUSTER_SCOPE = "sre_bot_clusters"


@dataclass(frozen=True)
class ClusterScope:
    """A request's clusters (fleet names) and whether calls are bound to them in code.

    `bind` is False for the fleet of one today's settings imply (no CLUSTERS_FILE): the cluster
    argument stays the model's, sent unchanged as before, and the scope only names the cluster in
    records. With a fleet file every call is bound (filled, translated, or refused).
    """

    resolution: Resolution
    bind: bool = True

    @property
    def clusters(self) -> tuple[str, ...]:
        return self.resolution.clusters

    def narrowed(self, cluster: str) -> ClusterScope | None:
        """The scope of one of its clusters (None when `cluster` is not one of them)."""
        if cluster not in self.clusters:
            return None
        return replace(self, resolution=Resolution((cluster,), self.resolution.source))


def cluster_scope(invocation_state: Mapping[str, Any]) -> ClusterScope | None:
    """The request's scope in an invocation state (None outside a runner's request or without a fleet)."""
    scope = invocation_state.get(CLUSTER_SCOPE)
    return scope if isinstance(scope, ClusterScope) else None
