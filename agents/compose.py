"""The one composition root of the agents: settings → stores → MCP servers and capabilities → runner.

Every front end (the terminal, the Slack bot) builds its core here and adds only what is its own
(renderers, listeners, approval cards), so the two cannot drift apart in how the agents are put together.
What differs between front ends is said in one small value, `FrontEnd`: whether approvals can happen
there, and the words its people read when a change is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.capabilities import Capability
from agents.capabilities import problems as capability_problems
from agents.coordinator import Assistant
from agents.fleet import ClusterConfig, Fleet, load_fleet
from agents.gate.audit import AuditLog
from agents.mcp.servers import McpServers
from agents.models import ModelFactory
from agents.redact import remember_secrets
from agents.runner import ConversationRunner
from agents.settings import Settings
from agents.settings import load_settings as read_settings
from agents.state.factory import Stores, build_stores


def load_settings(**overrides: object) -> Settings:
    """The settings, checked by `agents.settings` and then against the registered capabilities (which MCP
    servers exist is theirs to say); raises the first ConfigError, as front ends print it."""
    settings = read_settings(**overrides)
    found = capability_problems(settings)
    if found:
        raise found[0]
    return settings


@dataclass(frozen=True)
class FrontEnd:
    """What a front end tells the agents about itself."""

    approvals: bool  # someone can approve a change here (cards and approvers)
    read_only_text: str = ""  # its words for "changes are off" ("" → the gate's neutral words)
    no_approvers_text: str = ""  # its words for "nobody can approve here"
    claims_path: Path | None = None  # where its one-time claims (redelivered events) live
    # The fleet file's cluster model with the front end's keys (approvers, channels): one deployment
    # shares one CLUSTERS_FILE, so every front end reads it with the same model and refuses nothing.
    cluster_model: type[ClusterConfig] = ClusterConfig


@dataclass(frozen=True)
class Core:
    """The agents as one front end runs them."""

    settings: Settings
    stores: Stores
    assistant: Assistant
    runner: ConversationRunner

    def start(self) -> dict[str, str | None]:
        """Start the MCP servers; returns name → error for those that could not start."""
        return self.assistant.start()

    def close(self) -> None:
        self.assistant.close()


def load_cluster_fleet(settings: Settings, front: FrontEnd) -> Fleet[Any] | None:
    """CLUSTERS_FILE read once, with the front end's keys; None without one (the fleet of one today's
    settings imply is the Assistant's). A wrong file raises FleetError, a ConfigError: one line, exit 2.
    Clusters in other auth modes, regions or roles get server processes of their own (agents/mcp/pool.py)."""
    if settings.clusters_file is None:
        return None
    fleet = load_fleet(settings.clusters_file, settings.kubeconfig_paths(), front.cluster_model)
    return fleet


def build_core(
    settings: Settings,
    front: FrontEnd,
    *,
    stores: Stores | None = None,
    servers: McpServers | None = None,
    models: ModelFactory | None = None,
    audit: AuditLog | None = None,
    capabilities: tuple[Capability, ...] | None = None,
) -> Core:
    """Put the agents together for `front`; tests and benchmarks pass fakes for the network edges."""
    fleet = load_cluster_fleet(settings, front)  # first: a wrong file is found before anything starts
    remember_secrets(settings.secret_values())  # what no pattern knows is still redacted if it comes back
    stores = stores or build_stores(settings, claims_path=front.claims_path)
    assistant = Assistant(
        settings,
        servers,
        models,
        approvals_configured=front.approvals,
        read_only_text=front.read_only_text,
        no_approvers_text=front.no_approvers_text,
        audit=audit,
        # an approved call runs at most once, whatever resumes it: claimed where the approvals live
        claim_execution=stores.approvals.start_execution,
        capabilities=capabilities,
        fleet=fleet,
        bind_clusters=fleet is not None,
    )
    return Core(settings, stores, assistant, ConversationRunner(assistant, stores.sessions, stores.leases))
