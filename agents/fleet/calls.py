"""A tool call's `cluster_name`, bound to the resolved cluster in code rather than left to the model.

The model may leave `cluster_name` out, use the fleet's name ("prod") or the server's ("prod-eks", a
kubeconfig context), or drift to a cluster the question is not about. Before the call runs it gets the
server's name for a cluster of the question, or a refusal whose text tells the model what to fix; and
the caller learns which cluster's policy (writes, approvers) the call falls under.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agents.fleet.config import Fleet
from agents.fleet.resolve import Resolution

CLUSTER_ARG = "cluster_name"


class ClusterRefused(ValueError):
    """The call names no cluster of the question; `str()` tells the model what to pass instead."""


@dataclass(frozen=True)
class BoundCall:
    """The arguments to send (with the server's `cluster_name`) and the fleet cluster whose policy applies."""

    args: dict[str, Any]
    cluster: str


def check_call_cluster(
    fleet: Fleet[Any],
    resolved: Resolution | str,
    tool_args: Mapping[str, Any],
    *,
    takes_cluster_name: bool = True,
) -> BoundCall:
    """Bind a tool call to a cluster of `resolved`; raises `ClusterRefused` otherwise.

    A cluster of the fleet the question is not about is refused too: a question about staging must not
    read, let alone change, prod because the model wandered; the user names prod to ask about it.
    `takes_cluster_name=False` (a tool without that argument) leaves the arguments as they are.
    """
    scope = _scope(fleet, resolved)
    args = dict(tool_args)
    given = args.get(CLUSTER_ARG)
    if given is None or given == "":
        if len(scope) > 1:
            raise ClusterRefused(
                f"This question is about several clusters ({', '.join(scope)}): pass {CLUSTER_ARG} "
                "with the one this call is for."
            )
        if takes_cluster_name:
            args[CLUSTER_ARG] = fleet.clusters[scope[0]].target
        return BoundCall(args, scope[0])
    cluster = _fleet_cluster(fleet, given)
    if cluster is None:
        raise ClusterRefused(
            f"{CLUSTER_ARG}={given!r} is not a cluster of this bot's fleet. Known clusters: {fleet.known()}. "
            f"Pass {CLUSTER_ARG}={fleet.clusters[scope[0]].target!r} for {scope[0]}."
        )
    if cluster not in scope:
        raise ClusterRefused(
            f"This question is about {', '.join(scope)}, not {cluster}: pass {CLUSTER_ARG}="
            f"{fleet.clusters[scope[0]].target!r}. To look at {cluster}, the user asks about it by name."
        )
    args[CLUSTER_ARG] = fleet.clusters[cluster].target
    return BoundCall(args, cluster)


def _scope(fleet: Fleet[Any], resolved: Resolution | str) -> tuple[str, ...]:
    """The resolved clusters, each checked against the fleet (a stale resolution fails closed)."""
    names = (resolved,) if isinstance(resolved, str) else resolved.clusters
    if not names:
        raise ClusterRefused(
            (resolved.error if isinstance(resolved, Resolution) else None)
            or f"No cluster was resolved for this question. Known clusters: {fleet.known()}."
        )
    outside = [n for n in names if n not in fleet.clusters]
    if outside:
        raise ClusterRefused(f"{outside[0]!r} is not a cluster of this bot's fleet. Known: {fleet.known()}.")
    return names


def _fleet_cluster(fleet: Fleet[Any], given: Any) -> str | None:
    """The fleet cluster a `cluster_name` value means: its fleet name (any case) or its server name."""
    if not isinstance(given, str):
        return None
    if given.strip().lower() in fleet.clusters:
        return given.strip().lower()
    return next((n for n, c in fleet.clusters.items() if c.target == given.strip()), None)
