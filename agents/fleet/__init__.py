"""Many clusters: the fleet file, which cluster a question is about, and tool calls bound to it.

`config` reads CLUSTERS_FILE (or builds today's fleet of one); `resolve` picks the clusters of a question
(flag, question, thread, channel, default); `calls` binds a tool call's `cluster_name` to them. Nothing
here starts servers or talks to a front end: the runner, gate and front ends wire these in.
"""

from agents.fleet.calls import BoundCall, ClusterRefused, check_call_cluster
from agents.fleet.config import (
    ClusterConfig,
    EksTarget,
    Fleet,
    FleetError,
    fleet_name,
    kubeconfig_contexts,
    load_fleet,
    single_cluster_fleet,
)
from agents.fleet.resolve import Resolution, mentioned, resolve

__all__ = [
    "BoundCall",
    "ClusterConfig",
    "ClusterRefused",
    "EksTarget",
    "Fleet",
    "FleetError",
    "Resolution",
    "check_call_cluster",
    "fleet_name",
    "kubeconfig_contexts",
    "load_fleet",
    "mentioned",
    "resolve",
    "single_cluster_fleet",
]
