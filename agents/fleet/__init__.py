"""Many clusters: the fleet file, which cluster a question is about, and tool calls bound to it.

`config` reads CLUSTERS_FILE (or builds today's fleet of one); `resolve` picks the clusters of a question
(flag, question, thread, the place it was asked, default); `calls` binds a tool call's `cluster_name` to
them; `reach` asks the running EKS server whether each cluster answers. Nothing here starts servers or
knows a front end: a front end adds its own keys to the file by
subclassing `ClusterConfig`, and the runner, gate and front ends wire these in.
"""

from agents.fleet.calls import BoundCall, ClusterRefused, check_call_cluster
from agents.fleet.config import (
    ClusterConfig,
    EksTarget,
    Fleet,
    FleetError,
    KeyProblem,
    fleet_name,
    kubeconfig_contexts,
    load_fleet,
    single_cluster_fleet,
)
from agents.fleet.reach import Reach, ReachProbe
from agents.fleet.resolve import Resolution, Source, flag_resolution, mentioned, resolve
from agents.fleet.scope import CLUSTER_SCOPE, ClusterScope, cluster_scope

__all__ = [
    "CLUSTER_SCOPE",
    "BoundCall",
    "ClusterConfig",
    "ClusterRefused",
    "ClusterScope",
    "EksTarget",
    "Fleet",
    "FleetError",
    "KeyProblem",
    "Reach",
    "ReachProbe",
    "Resolution",
    "Source",
    "check_call_cluster",
    "cluster_scope",
    "flag_resolution",
    "fleet_name",
    "kubeconfig_contexts",
    "load_fleet",
    "mentioned",
    "resolve",
    "single_cluster_fleet",
]
