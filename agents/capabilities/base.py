"""The seam every capability plugs into: what one specialist is, whole, in one object.

A capability declares its MCP server (how to run it from the settings), the coordinator's routing line,
the specialist's prompt and tool subset, which of its tools only read (everything else is a write: fail
closed), its step wording and the notes its failures get. The coordinator, the write gate, the step lines,
the failure notes and doctor read these declarations; none of them names a capability.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agents.charts.model import Chart
    from agents.fleet.config import ClusterConfig, Fleet
    from agents.mcp.servers import ServerSpec
    from agents.settings import Settings

# (what failed, what the asker can do, the operator's detail): the three parts of a FailureNote.
Note = tuple[str, str, str]

# What the person who asked can do about a failure; the operator's detail (variables, commands) is separate.
ASK_AGAIN = "Ask again in a few minutes; if it keeps failing, tell the bot's admin."
TELL_ADMIN = "Asking again will not help until the bot's admin fixes it; please tell them."
# What installs the MCP servers (scripts/setup installs uv, the project and the servers).
INSTALL_HINT = (
    "Run scripts/setup (or scripts/install-mcp-servers), or set MCP_BIN_DIR to where they are installed."
)


@dataclass(frozen=True)
class PerCluster:
    """How a capability's server processes map onto the clusters of a fleet file (agents/mcp/pool.py).

    Clusters whose `instance` is equal share one process, made on first use and stopped when idle; the
    pool, the server started with the bot and the routing are one mechanism, and only this says what an
    instance is (a way of reaching clusters for EKS, a base URL for Prometheus).
    """

    # The instance serving a cluster, hashable (None: nothing serves it; `missing` says what to set).
    instance: Callable[[Settings, ClusterConfig], Hashable | None]
    # The server process of one instance; its `kind` stays the capability's server name.
    spec: Callable[[Settings, Mapping[str, str], Mapping[str, str], Any], ServerSpec]
    # How the clusters of one call differ when no one process serves them all: "are reached with …".
    differ: str = "are served by different server processes"
    # Why a cluster with no instance has no server, naming what to set (None: a generic sentence).
    missing: Callable[[str], str] | None = None


@dataclass(frozen=True)
class Capability:
    """One specialist ("agent as tool") over one MCP server, and everything the bot says about it."""

    name: str  # the coordinator's tool for it, e.g. "eks_assistant"
    server: str  # its MCP server's name, as MCP_SERVERS lists it, e.g. "eks"
    title: str  # the domain in messages: "Kubernetes/EKS"
    server_title: str  # the server in messages: "The EKS MCP server is not installed."
    asking: str  # the step line of a question handed to it: "Asking the Kubernetes specialist"
    route: str  # the coordinator's routing line: "Kubernetes or EKS (pods, …)"
    description: str  # the tool description the coordinator's model reads
    prompt: str  # the specialist's system prompt; {placeholders} from the coordinator's prompt values
    tools: tuple[str, ...] | None  # the server's tools it uses; None: all of them
    server_spec: Callable[[Settings, Mapping[str, str], Mapping[str, str]], ServerSpec]
    read_only_tools: frozenset[str] = frozenset()  # tools whose every call only reads
    read_operations: Mapping[str, frozenset[str]] = field(default_factory=dict)  # tool -> reading ops
    notes: Mapping[str, Note] = field(default_factory=dict)  # failure kind (agents.failures) -> note
    description_limit: int = 1600
    excluded_tools: tuple[str, ...] = ()
    description_limits: Mapping[str, int] = field(default_factory=dict)  # per-tool overrides
    # The argument of its tools that names the cluster a call is for (None: its tools have no cluster).
    # The gate binds it to the question's clusters (agents/fleet), so no module names the capability.
    cluster_argument: str | None = None
    # With a fleet file: which process serves each cluster (EKS: one per auth mode, region, role and
    # write mode; Prometheus: one per URL). None: one server (`server_spec`) serves every cluster.
    per_cluster: PerCluster | None = None
    # Why these settings do not offer it and how to enable it (None: offered). A capability that needs
    # a setting first (Prometheus' URL) is left out of everything until it is set; help and doctor say so.
    # With a fleet file, a cluster its `per_cluster` serves offers it too (a cluster's own URL).
    unconfigured: Callable[[Settings], str | None] | None = None
    # Its step line for one of its tool calls (None: the generic wording of agents/stream.py).
    step: Callable[[str, Mapping[str, Any]], str | None] | None = None
    # A reading call doctor makes to see that its server reaches what it serves with these credentials.
    probe: tuple[str, Mapping[str, Any]] | None = None
    # The chart one of its tool results can be drawn as: (tool, result text as the model saw it) → Chart.
    # None: its results are never charted. The answer keeps the last one (agents/turn.py).
    chart: Callable[[str, str], Chart | None] | None = None

    def not_offered(self, settings: Settings, fleet: Fleet[Any] | None = None) -> str | None:
        """Why these settings (and the fleet file, if any) do not offer this capability, with how to
        enable it; None when they do. The fleet is passed in, not read here: the composition root reads
        CLUSTERS_FILE once, and the capabilities never import the fleet's loader."""
        why = self.unconfigured(settings) if self.unconfigured is not None else None
        if why is not None and fleet is not None and self.per_cluster is not None:
            serves = self.per_cluster.instance
            if any(serves(settings, cluster) is not None for cluster in fleet.clusters.values()):
                return None
        return why


@dataclass(frozen=True)
class ReadRules:
    """Which calls only read, over a set of capabilities: every other call is a write (fail closed)."""

    tools: frozenset[str]
    operations: Mapping[str, frozenset[str]]

    @classmethod
    def of(
        cls, capabilities: tuple[Capability, ...] | list[Capability], *, specialists: bool = True
    ) -> ReadRules:
        """`specialists`: the specialists' own names count as reads (they only hand a question on; their
        tools are gated inside them). Not in one server's rules: a server's tool of that name is its own."""
        tools: set[str] = set()
        operations: dict[str, frozenset[str]] = {}
        for cap in capabilities:
            tools |= cap.read_only_tools | ({cap.name} if specialists else set())
            for tool, ops in cap.read_operations.items():
                operations[tool] = operations.get(tool, frozenset()) | ops
        return cls(frozenset(tools), operations)
