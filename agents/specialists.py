"""The specialist agents ("agents as tools"): one per registered capability (agents/capabilities/).

Each specialist is a Strands Agent with its own prompt over a curated subset of one MCP server's tools.
Curating matters: the billing server's 47 tool specs alone are ~46k tokens sent with every model call.
A fresh specialist Agent is built per call (Agents are not safe for concurrent use); the MCP servers and
their tools are shared.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from strands import Agent
from strands.hooks import HookCallback, HookProvider
from strands.types._events import ToolResultEvent
from strands.types.tools import AgentTool, ToolGenerator, ToolResultContent, ToolSpec, ToolUse
from typing_extensions import override

from agents.capabilities import Capability, read_rules
from agents.failures import describe_failure, model_failures
from agents.fleet import CLUSTER_SCOPE, ClusterScope, Fleet, cluster_scope
from agents.gate.write_gate import request_facts
from agents.mcp.output import fence
from agents.mcp.pool import ClusterServers
from agents.mcp.servers import McpServer, ServerUnavailable
from agents.mcp.tools import McpTool
from agents.models import ModelFactory, retry_strategy
from agents.specialist_hooks import HandOnRequest, ModelFailureWatch


def select_tools(
    spec: Capability,
    server: McpServer,
    *,
    output_budget: int,
    allowed: Callable[[str, str], bool] = lambda _server, _name: True,
    route: Callable[[Mapping[str, Any]], McpServer | str] | None = None,
) -> list[AgentTool]:
    """The specialist's curated tools that the server offers and the policy allows.

    `route` picks each call's server process among a fleet's (agents/mcp/pool.py); without it every
    call goes to `server`.
    """
    offered = server.tool_specs()
    names = list(offered) if spec.tools is None else [n for n in spec.tools if n in offered]
    return [
        McpTool(
            server,
            offered[n],
            output_budget=output_budget,
            description_limit=spec.description_limits.get(n, spec.description_limit),
            route=route,
        )
        for n in names
        if allowed(server.kind, n) and n not in spec.excluded_tools
    ]


@dataclass
class SpecialistContext:
    """What a specialist needs at call time, built once per bot process by the coordinator."""

    model_factory: ModelFactory
    servers: dict[str, McpServer]
    prompt_values: dict[str, str]
    output_budget: int
    max_wait_seconds: int
    hooks: Callable[[], list[HookProvider | HookCallback[Any]]] = list
    tool_allowed: Callable[[str, str], bool] = lambda _server, _name: True  # (server, tool) offered?
    fleet: Fleet[Any] | None = None  # a CLUSTERS_FILE fleet: specialists get a `cluster` per call
    # With a fleet: each clustered capability's server processes (by capability name), one per way of
    # reaching clusters, so a call runs in the process of the cluster it names.
    cluster_servers: Mapping[str, ClusterServers] = field(default_factory=dict)


class SpecialistTool(AgentTool):
    """`eks_assistant(query)` / `finops_assistant(query)`: runs a fresh specialist and streams its events.

    Delegates to Strands' agent-as-tool adapter, which forwards the sub-agent's stream and carries its
    interrupts (approvals) up to the coordinator; this class adds the `query` parameter, a fresh agent per
    call, and a clear answer when the specialist's server is unavailable.
    """

    def __init__(self, spec: Capability, context: SpecialistContext) -> None:
        super().__init__()
        self.spec = spec
        self.context = context

    @property
    def tool_name(self) -> str:
        return self.spec.name

    @property
    def clustered(self) -> bool:
        """Whether each call is about one cluster of a fleet file: its tools name clusters, or the
        fleet's clusters are served by different processes of it (a Prometheus each)."""
        if self.context.fleet is None:
            return False
        pool = self.context.cluster_servers.get(self.spec.name)
        return self.spec.cluster_argument is not None or (pool is not None and pool.several())

    @property
    def tool_spec(self) -> ToolSpec:
        properties: dict[str, Any] = {
            "query": {"type": "string", "description": "The question or task, in full."}
        }
        if self.clustered and self.context.fleet is not None:
            properties["cluster"] = {
                "type": "string",
                "enum": list(self.context.fleet.names),
                "description": "The one cluster of this question this call is about (one call per cluster).",
            }
        return {
            "name": self.spec.name,
            "description": self.spec.description,
            "inputSchema": {"json": {"type": "object", "properties": properties, "required": ["query"]}},
        }

    @property
    def tool_type(self) -> str:
        return "agent"

    def pool(self, scope: ClusterScope | None) -> ClusterServers | None:
        """The fleet's server processes when this call is about the fleet's clusters, else None."""
        if self.context.fleet is None or scope is None:
            return None
        return self.context.cluster_servers.get(self.spec.name)

    def server_for(self, scope: ClusterScope | None) -> McpServer | None:
        """The process this call's tools are listed from: its first cluster's (None when nothing serves
        that cluster), or the one server."""
        pool = self.pool(scope)
        if pool is not None and scope is not None:
            first = scope.clusters[0]
            return None if pool.missing(first) else pool.server(first)
        return self.context.servers.get(self.spec.server)

    def build_agent(self, scope: ClusterScope | None = None) -> Agent:
        server = self.server_for(scope)
        assert server is not None  # unavailable_reason said so first
        pool = self.pool(scope)
        route = None
        allowed = self.context.tool_allowed
        if pool is not None and scope is not None:
            route = pool.router(scope.clusters, self.spec.cluster_argument)
            if not any(pool.writes(c) for c in scope.clusters):
                # Read-only clusters only: no write tool is offered at all (their servers refuse too).
                allowed = read_only_tool
        tools = select_tools(
            self.spec, server, output_budget=self.context.output_budget, allowed=allowed, route=route
        )
        values = self.context.prompt_values
        if self.clustered and scope is not None:
            values = {**values, "cluster": self._cluster_words(scope)}
            if allowed is read_only_tool:
                assert pool is not None  # only a pool's clusters are read-only on their own
                values.update(mode="read-only", write_rule=self._read_only_rule(scope, pool.allow_write))
        return Agent(
            name=self.spec.name,
            model=self.context.model_factory(self.spec.name),
            system_prompt=self.spec.prompt.format(**values),
            tools=list[Any](tools),
            callback_handler=None,
            hooks=self.context.hooks(),
            retry_strategy=retry_strategy(self.context.max_wait_seconds),
        )

    def _read_only_rule(self, scope: ClusterScope, allow_write: bool) -> str:
        """What the specialist of read-only clusters says about a change: no tool for it, and who enables it."""
        fleet = self.context.fleet
        assert fleet is not None  # self.clustered
        keys = [
            f"clusters.{n}.writes: true in CLUSTERS_FILE"
            for n in scope.clusters
            if not fleet.clusters[n].writes
        ]
        if not allow_write:
            keys.append("EKS_MCP_ALLOW_WRITE=true")
        return (
            f"Changes are disabled for {', '.join(scope.clusters)} (read-only in this bot's fleet), so you have no "
            f"tool that changes anything: say so, and that an operator enables changes with {' and '.join(keys)} "
            "(each change then still needs a person's approval)."
        )

    def _cluster_words(self, scope: ClusterScope) -> str:
        """The prompt's cluster in scope: the server's name first (what the tools take), then the fleet's."""
        fleet = self.context.fleet
        assert fleet is not None  # self.clustered
        named = [
            f"{fleet.clusters[n].target} (the fleet's {n})" if fleet.clusters[n].target != n else n
            for n in scope.clusters
        ]
        return named[0] if len(named) == 1 else " or ".join(named) + ": pass the one each call is for"

    def call_scope(self, tool_use: ToolUse, invocation_state: dict[str, Any]) -> ClusterScope | str | None:
        """This call's clusters: the request's, narrowed to the `cluster` asked for; a str is a refusal."""
        scope = cluster_scope(invocation_state)
        raw = tool_use.get("input")
        asked = raw.get("cluster") if isinstance(raw, dict) else None
        if scope is None or not self.clustered:
            return scope
        if not asked:
            return self._one_process(scope)
        narrowed = scope.narrowed(str(asked).strip().lower())
        if narrowed is None:
            return (
                f"cluster {str(asked)[:64]!r} is not a cluster of this question ({', '.join(scope.clusters)}): "
                "ask about one of them; to look at another cluster, the user names it."
            )
        return narrowed

    def _one_process(self, scope: ClusterScope) -> ClusterScope | str:
        """Several clusters are for tools that name each call's cluster; a call of tools naming none
        (PromQL) over clusters of several processes is refused: which one is not the model's to pick."""
        pool = self.pool(scope)
        if self.spec.cluster_argument is not None or pool is None:
            return scope
        return pool.one_call_per_cluster(scope.clusters, self.spec.name) or scope

    def unavailable_reason(self, scope: ClusterScope | None = None) -> str | None:
        server = self.server_for(scope)
        pool = self.pool(scope)
        if server is None:
            missing = pool.missing(scope.clusters[0]) if pool is not None and scope is not None else None
            return missing or f"the {self.spec.title} capability is not configured"
        try:
            server.ensure_started()
        except ServerUnavailable as exc:
            if pool is not None and scope is not None:
                return f"cluster {scope.clusters[0]}: {exc}"
            return str(exc)
        return None

    @override
    async def stream(
        self, tool_use: ToolUse, invocation_state: dict[str, Any], **kwargs: Any
    ) -> ToolGenerator:
        scope = self.call_scope(tool_use, invocation_state)
        if isinstance(scope, str):
            yield _error_result(tool_use, f"Not asked: {scope}")
            return
        reason = await asyncio.to_thread(self.unavailable_reason, scope)
        if reason is not None:
            yield {"capability_unavailable": {"capability": self.spec.title, "reason": reason}}
            yield _error_result(
                tool_use,
                f"{self.spec.title} is unavailable right now: {reason}. Tell the user "
                "this capability is unavailable and why; answer what you can without it.",
            )
            return
        if scope is not None:  # the specialist's calls are bound to this call's cluster, not the question's
            invocation_state = {**invocation_state, CLUSTER_SCOPE: scope}
        async for event in self.run_agent(self.build_agent(scope), tool_use, invocation_state, **kwargs):
            yield event

    async def run_agent(
        self, agent: Agent, tool_use: ToolUse, invocation_state: dict[str, Any], **kwargs: Any
    ) -> ToolGenerator:
        """Run `agent` on the call's query through Strands' agent-as-tool adapter (events, interrupts)."""
        raw = tool_use.get("input")
        query = raw.get("query") or raw.get("input") or "" if isinstance(raw, dict) else str(raw or "")
        inner = agent.as_tool(name=self.spec.name, description=self.spec.description)
        mapped: ToolUse = {
            "toolUseId": tool_use["toolUseId"],
            "name": self.spec.name,
            "input": {"input": query},
        }
        # Hooks of this call only (the agent is built per call): Strands' adapter neither hands the
        # coordinator's invocation state on to the specialist nor tells a model failure from a tool error.
        watch = ModelFailureWatch()
        agent.hooks.add_hook(watch)
        agent.hooks.add_hook(HandOnRequest(request_facts(invocation_state), cluster_scope(invocation_state)))
        async for event in inner.stream(mapped, invocation_state, **kwargs):
            if isinstance(event, ToolResultEvent):
                failure = watch.failure
                if failure is not None and event.tool_result.get("status") == "error":
                    if describe_failure(failure, "").kind != "internal":
                        self._report_model_failure(failure, invocation_state)
                elif event.tool_result.get("status") == "success":
                    # The specialist's answer quotes cluster and account text: it stays marked as data.
                    event = ToolResultEvent(
                        {
                            **event.tool_result,
                            "content": _fenced(event.tool_result["content"], self.spec.name),
                        }
                    )
            yield event

    def _report_model_failure(self, exc: BaseException, invocation_state: dict[str, Any]) -> None:
        """A model failure in the specialist ends the whole answer with the error that caused it."""
        recorded = model_failures(invocation_state)
        if recorded is not None:
            recorded.append(exc)
        parent = invocation_state.get("agent")
        if parent is not None and hasattr(parent, "cancel"):
            # With a closing assistant message, so the saved conversation still alternates user/assistant
            # (Bedrock refuses two user turns in a row) and the thread's next question works.
            parent.cancel(after_current_tools=True, message=f"(stopped: the {self.spec.name} model failed)")


def read_only_tool(server: str, name: str) -> bool:
    """Offered in read-only mode or for read-only clusters: a tool its server's capability declares
    read-only (fail closed: a tool a new server version adds is not offered until it is classified)."""
    return name in read_rules(server).tools


def _error_result(tool_use: ToolUse, text: str) -> ToolResultEvent:
    return ToolResultEvent(
        {"toolUseId": tool_use["toolUseId"], "status": "error", "content": [{"text": text}]}
    )


def _fenced(content: list[ToolResultContent], source: str) -> list[ToolResultContent]:
    return [
        ToolResultContent(text=fence(block["text"], source)) if "text" in block else block
        for block in content
    ]
