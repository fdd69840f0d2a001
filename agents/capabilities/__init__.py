"""The capabilities the bot has. Adding one is one module that builds a `Capability` and registers it.

The built-ins (EKS, FinOps) register here. Everything that depends on a capability — the coordinator's
routing and tools, the MCP servers started, the write gate's read rules, step lines, failure notes, the
servers MCP_SERVERS may name — reads this registry, so no other module names a capability.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agents.capabilities.base import ASK_AGAIN, INSTALL_HINT, TELL_ADMIN, Capability, Note, ReadRules
from agents.capabilities.eks import EKS
from agents.capabilities.finops import FINOPS

if TYPE_CHECKING:
    from agents.settings import Settings

__all__ = [
    "ASK_AGAIN",
    "BUILTIN",
    "EKS",
    "FINOPS",
    "INSTALL_HINT",
    "TELL_ADMIN",
    "Capability",
    "Note",
    "ReadRules",
    "by_name",
    "enabled",
    "read_rules",
    "register",
    "registered",
    "server_names",
    "unregister",
]

BUILTIN = (EKS, FINOPS)
_REGISTRY: dict[str, Capability] = {}
_rules: ReadRules | None = None


def register(capability: Capability) -> Capability:
    """Add a capability; its name and its server's name must be new (one server, one specialist)."""
    global _rules
    for other in _REGISTRY.values():
        if capability.name == other.name or capability.server == other.server:
            raise ValueError(
                f"capability {capability.name} (server {capability.server}) is already registered"
            )
    _REGISTRY[capability.name] = capability
    _rules = None
    return capability


def unregister(name: str) -> None:
    global _rules
    _REGISTRY.pop(name, None)
    _rules = None


def registered() -> tuple[Capability, ...]:
    return tuple(_REGISTRY.values())


def by_name(name: str) -> Capability | None:
    return _REGISTRY.get(name)


def server_names() -> list[str]:
    """What MCP_SERVERS may list."""
    return [c.server for c in _REGISTRY.values()]


def enabled(settings: Settings) -> tuple[Capability, ...]:
    """The capabilities whose server MCP_SERVERS turns on, in the registry's order."""
    return tuple(c for c in _REGISTRY.values() if c.server in settings.enabled_servers)


def read_rules() -> ReadRules:
    """Which calls only read, over every registered capability (a call it does not name is a write)."""
    global _rules
    if _rules is None:
        _rules = ReadRules.of(list(_REGISTRY.values()))
    return _rules


for _builtin in BUILTIN:
    register(_builtin)
