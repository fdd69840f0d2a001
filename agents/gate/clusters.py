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
    *,
    bind: bool = True,
) -> Bound:
    """Bind `args` to the request's clusters; raises `ClusterRefused` (its text is for the model).

    `facts` are the tool's server and declared parameters (`tool_facts`): a tool that does not
    declare the cluster argument gets none added (undeclared arguments are refused later) and is about
    no one cluster (an IAM role, a guide): its policy is the whole fleet's (`writes_allowed`).
    `bind` is False only for the fleet of one (no CLUSTERS_FILE); it defaults to binding so a caller
    that forgets it fails closed.
    """
    if fleet is None:
        return Bound(args, None)
    scope = cluster_scope(invocation_state)
    argument = cluster_argument(facts.get("server"))
    parameters = facts.get("parameters") or ()
    if not bind:
        return _fleet_of_one(fleet, scope, args, argument if argument in parameters else None)
    if scope is None or not scope.bind:  # binding is on, yet no scope came with the call: fail closed
        if argument is not None or CLUSTER_ARG in parameters:
            raise ClusterRefused("no cluster was resolved for this request, so no cluster tool may run")
        return Bound(args, None)
    if argument is None:
        if CLUSTER_ARG in parameters:  # a cluster argument its capability does not declare: cannot bind it
            raise ClusterRefused(f"this tool's {CLUSTER_ARG} cannot be bound to the question's clusters")
        return Bound(args, None)
    if argument not in parameters:
        return Bound(args, None)  # e.g. add_inline_policy, a guide: about no one cluster
    if argument != CLUSTER_ARG:  # agents/fleet binds `cluster_name`, the EKS server's argument
        raise ClusterRefused(f"cannot bind the cluster argument {argument!r} of this tool")
    bound = check_call_cluster(fleet, scope.resolution, args)
    return Bound(bound.args, bound.cluster)


def _fleet_of_one(
    fleet: Fleet[Any], scope: ClusterScope | None, args: dict[str, Any], argument: str | None
) -> Bound:
    """No CLUSTERS_FILE: the model's value goes unchanged, as before; the call is recorded under the
    fleet's cluster only when it names that cluster's target, else under none (what runs is recorded,
    never the default while the call reaches another context)."""
    if scope is None or argument is None or not scope.clusters:
        return Bound(args, None)
    name = scope.clusters[0]
    cluster = fleet.clusters.get(name)
    return Bound(args, name if cluster is not None and args.get(argument) == cluster.target else None)


def writes_allowed(
    fleet: Fleet[Any] | None, scope: ClusterScope | None, cluster: str | None, *, bind: bool = True
) -> bool:
    """Whether the fleet lets `cluster` change.

    A call about no one cluster (an account-wide tool) may touch any of them, so every cluster of the
    fleet must be writable. Binding on without a scope fails closed; `bind=False` (the fleet of one)
    leaves it to EKS_MCP_ALLOW_WRITE alone, as before.
    """
    if fleet is None or not bind:
        return True
    if scope is None or not scope.bind:
        return False
    if cluster is None:
        return all(c.writes for c in fleet.clusters.values())
    return cluster in fleet.clusters and fleet.clusters[cluster].writes


def read_only_cluster(cluster: str | None, fleet: Fleet[Any] | None) -> str:
    """The refusal of a write `writes_allowed` refused, saying how an operator enables writes there."""
    names = (
        [cluster]
        if cluster is not None
        else [n for n, c in (fleet.clusters if fleet else {}).items() if not c.writes]
    )
    if not names:  # every cluster is writable: the request carried no cluster scope (fail closed)
        return (
            "Not executed: no cluster was resolved for this request, so nothing was changed. Tell the user."
        )
    shown = ", ".join(names)
    keys = " and ".join(f"clusters.{n}.writes: true" for n in names)
    about = "" if cluster is not None else "this change is not about one cluster, and "
    return (
        f"Not executed: {about}cluster {shown} is read-only in this bot's fleet, so nothing was changed and no "
        f"approval was asked for. An operator can allow changes there with `{keys}` in CLUSTERS_FILE "
        "(each change then still needs a person's approval)."
    )
