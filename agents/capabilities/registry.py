"""The registry of capabilities: register one, and everything that reads the registry follows."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from agents.capabilities.base import Capability, ReadRules
from agents.capabilities.eks import EKS
from agents.capabilities.finops import FINOPS
from agents.capabilities.metrics import METRICS
from agents.settings import ConfigError, Settings

if TYPE_CHECKING:
    from agents.fleet.config import Fleet

BUILTIN = (EKS, FINOPS, METRICS)
_REGISTRY: dict[str, Capability] = {}
_rules: dict[str | None, ReadRules] = {}  # by server (None: all of them), rebuilt after a change
_lock = threading.Lock()


def register(capability: Capability) -> Capability:
    """Add a capability; its name and its server's name must be new (one server, one specialist)."""
    with _lock:
        _register(capability)
    return capability


def _register(capability: Capability) -> None:
    global _rules
    for other in _REGISTRY.values():
        if capability.name == other.name or capability.server == other.server:
            raise ValueError(
                f"capability {capability.name} (server {capability.server}) is already registered"
            )
    _REGISTRY[capability.name] = capability
    _rules = {}


def unregister(name: str) -> None:
    global _rules
    with _lock:
        _REGISTRY.pop(name, None)
        _rules = {}


def registered() -> tuple[Capability, ...]:
    return tuple(_REGISTRY.values())


def by_name(name: str) -> Capability | None:
    return _REGISTRY.get(name)


def server_names() -> list[str]:
    """What MCP_SERVERS may list."""
    return [c.server for c in _REGISTRY.values()]


def enabled(settings: Settings, fleet: Fleet[Any] | None = None) -> tuple[Capability, ...]:
    """The capabilities whose server MCP_SERVERS turns on and the settings (or the fleet file, passed by
    the composition root) configure, in registry order."""
    return tuple(
        c
        for c in _REGISTRY.values()
        if c.server in settings.enabled_servers and c.not_offered(settings, fleet) is None
    )


def not_offered(settings: Settings, fleet: Fleet[Any] | None = None) -> list[tuple[Capability, str]]:
    """The capabilities MCP_SERVERS names that these settings leave out, each with how to enable it."""
    return [
        (c, why)
        for c in _REGISTRY.values()
        if c.server in settings.enabled_servers and (why := c.not_offered(settings, fleet)) is not None
    ]


def problems(settings: Settings) -> list[ConfigError]:
    """MCP_SERVERS naming a server no registered capability runs (the settings know only names)."""
    known = server_names()
    if all(name in known for name in settings.enabled_servers):
        return []
    expected = f"expected a comma-separated subset of {', '.join(known)} (got {settings.mcp_servers!r})"
    return [ConfigError("MCP_SERVERS", expected)]


def cluster_argument(server: str | None) -> str | None:
    """The argument naming the cluster in the tools of `server`'s capability (None: they name none)."""
    return next((c.cluster_argument for c in registered() if server is not None and c.server == server), None)


def read_rules(server: str | None = None) -> ReadRules:
    """Which calls only read: of the capability whose MCP server is `server` (a tool of one server is
    judged by that server's declarations alone: another server may offer a write under the same name),
    or, with no server, over every registered capability. A call they do not name is a write."""
    with _lock:  # a registration meanwhile must not leave stale rules in the cache
        rules = _rules.get(server)
        if rules is None:
            chosen = [c for c in _REGISTRY.values() if server is None or c.server == server]
            rules = _rules[server] = ReadRules.of(chosen, specialists=server is None)
        return rules


for _builtin in BUILTIN:
    register(_builtin)
