"""The capabilities the bot has. Adding one is one module that builds a `Capability` and registers it.

The built-ins (EKS, FinOps, metrics) register here. Everything that depends on a capability — the coordinator's
routing and tools, the MCP servers started, the write gate's read rules, step lines, failure notes, the
servers MCP_SERVERS may name — reads this registry, so no other module names a capability.
"""

from __future__ import annotations

from agents.capabilities.base import (
    ASK_AGAIN,
    INSTALL_HINT,
    TELL_ADMIN,
    Capability,
    Note,
    PerCluster,
    ReadRules,
)
from agents.capabilities.eks import EKS
from agents.capabilities.finops import FINOPS
from agents.capabilities.metrics import METRICS
from agents.capabilities.registry import (
    BUILTIN,
    by_name,
    cluster_argument,
    enabled,
    not_offered,
    problems,
    read_rules,
    register,
    registered,
    server_names,
    unregister,
)

__all__ = [
    "ASK_AGAIN",
    "BUILTIN",
    "EKS",
    "FINOPS",
    "INSTALL_HINT",
    "METRICS",
    "TELL_ADMIN",
    "Capability",
    "Note",
    "PerCluster",
    "ReadRules",
    "by_name",
    "cluster_argument",
    "enabled",
    "not_offered",
    "problems",
    "read_rules",
    "register",
    "registered",
    "server_names",
    "unregister",
]
