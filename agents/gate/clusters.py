"""Which cluster a tool call is for, bound in code before the gate judges it (issue 13, many clusters).

The model may leave the cluster argument out, use the fleet's name or the server's, or drift to a
cluster the question is not about; `bind_call` settles it against the request's `ClusterScope` so the
gate judges, audits and counts the call under the cluster it will really reach, with that cluster's
write policy. Only tools whose capability declares a cluster argument are bound (agents/capabilities).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agents.capabilities import cluster_argument
from agents.fleet import ClusterRefused, ClusterScope, Fleet, check_call_cluster, cluster_scope
from agents.fleet.calls import CLUSTER_ARG

NO_CLUSTER = "(none)"  # the metric label of calls that are about no cluster (never a model's string)


@dataclass(frozen=True)
class Bound:
    """The arguments to run with and the fleet cluster whose policy applies (None: about no cluster)."""

    args: dict[str, Any]
    cluster: str | None


def bind_call(
    fleet: Fleet[Any] | None,
    invocation_state: Mapping[str, Any],
    args: dict[str, Any],
    facts: Mapping[str, Any],
) -> Bound:
    """Bind `args` to the request's clusters; raises `ClusterRefused` (its text is for the model).

    `facts` are the tool's server and declared parameters (`tool_facts`): a tool that does not
    declare the cluster argument gets none added (undeclared arguments are refused later).
    """
    scope = cluster_scope(invocation_state)
    argument = cluster_argument(facts.get("server"))
    if fleet is None or scope is None or argument is None:
        return Bound(args, None)
    if not scope.bind:  # the fleet of one: the model's value goes unchanged, as before CLUSTERS_FILE
        return Bound(args, scope.clusters[0] if scope.clusters else None)
    takes = argument in (facts.get("parameters") or ())
    if not takes and len(scope.clusters) > 1:
        return Bound(args, None)  # e.g. a troubleshooting guide: about no one cluster of several
    if argument != CLUSTER_ARG:  # agents/fleet binds `cluster_name`, the EKS server's argument
        raise ClusterRefused(f"cannot bind the cluster argument {argument!r} of this tool")
    bound = check_call_cluster(fleet, scope.resolution, args, takes_cluster_name=takes)
    return Bound(bound.args, bound.cluster)


def writes_allowed(fleet: Fleet[Any] | None, scope: ClusterScope | None, cluster: str | None) -> bool:
    """Whether the fleet lets `cluster` change (a call about no cluster: every cluster of its scope must)."""
    if fleet is None or scope is None or not scope.bind:
        return True  # the fleet of one: EKS_MCP_ALLOW_WRITE alone decides, as before
    names = (cluster,) if cluster is not None else scope.clusters
    return all(n in fleet.clusters and fleet.clusters[n].writes for n in names)


def read_only_cluster(cluster: str | None, scope: ClusterScope | None) -> str:
    """The refusal of a write on a read-only cluster, saying how an operator enables writes there."""
    names = [cluster] if cluster is not None else list(scope.clusters if scope else ())
    shown = ", ".join(names) or "this cluster"
    keys = " and ".join(f"clusters.{n}.writes: true" for n in names) or "clusters.<name>.writes: true"
    return (
        f"Not executed: cluster {shown} is read-only in this bot's fleet, so nothing was changed and no "
        f"approval was asked for. An operator can allow changes there with `{keys}` in CLUSTERS_FILE "
        "(each change then still needs a person's approval)."
    )
