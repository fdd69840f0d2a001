"""Strands tools over a long-lived MCP server: shared by every request, shaped on the way back.

Unlike Strands' MCPAgentTool (bound to one MCPClient), these call through `McpServer`, which restarts a
dead server, and they pass every result through the output budget and the untrusted-data fence.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

from strands.types._events import ToolResultEvent
from strands.types.tools import AgentTool, ToolGenerator, ToolSpec, ToolUse
from typing_extensions import override

from agents.gate.arguments import ArgumentRefused, coerce_arguments, refusal_message, validate_call
from agents.mcp.output import shape_result
from agents.mcp.servers import McpServer


def trim_description(text: str, limit: int) -> str:
    """Keep whole leading paragraphs up to `limit` characters: the part a model uses to pick the tool."""
    if len(text) <= limit:
        return text
    out = ""
    for para in text.split("\n\n"):
        if len(out) + len(para) + 2 > limit:
            break
        out = f"{out}\n\n{para}" if out else para
    return out or text[:limit]


class McpTool(AgentTool):
    """One MCP tool offered to a specialist agent."""

    def __init__(
        self,
        server: McpServer,
        spec: ToolSpec,
        *,
        output_budget: int,
        description_limit: int | None = None,
        route: Callable[[Mapping[str, Any]], McpServer | str] | None = None,
    ) -> None:
        super().__init__()
        self.server = server  # the server its spec was listed from; `route` picks a call's process
        self.route = route
        self._spec: ToolSpec = copy.deepcopy(spec)
        if description_limit is not None:
            self._spec["description"] = trim_description(self._spec.get("description", ""), description_limit)
        self._spec.pop("outputSchema", None)  # not needed by the model; saves tokens on every call
        self.output_budget = output_budget

    @property
    def tool_name(self) -> str:
        return self._spec["name"]

    @property
    def tool_spec(self) -> ToolSpec:
        return self._spec

    @property
    def tool_type(self) -> str:
        return "mcp"

    @property
    def parameters(self) -> frozenset[str] | None:
        """The declared arguments (None when the schema accepts any): others are refused, not ignored."""
        schema = self._spec.get("inputSchema", {}).get("json", {})
        properties = schema.get("properties")
        if not isinstance(properties, dict) or schema.get("additionalProperties") is True:
            return None
        return frozenset(properties)

    @override
    async def stream(
        self, tool_use: ToolUse, invocation_state: dict[str, Any], **kwargs: Any
    ) -> ToolGenerator:
        arguments = coerce_arguments(tool_use.get("input"))
        try:  # the same check the write gate made: the last step before anything reaches the server
            validate_call(self.tool_name, arguments, server=self.server.kind, parameters=self.parameters)
        except ArgumentRefused as exc:
            yield ToolResultEvent(
                {
                    "toolUseId": tool_use["toolUseId"],
                    "status": "error",
                    "content": [{"text": refusal_message(self.tool_name, exc)}],
                }
            )
            return
        server = self.server if self.route is None else self.route(arguments)
        if isinstance(server, str):  # refused by the route (agents/mcp/pool.py): nothing reaches a server
            yield ToolResultEvent(
                {"toolUseId": tool_use["toolUseId"], "status": "error", "content": [{"text": server}]}
            )
            return
        result = await server.call(tool_use["toolUseId"], self.tool_name, arguments)
        yield ToolResultEvent(
            shape_result(result, f"{self.server.kind}:{self.tool_name}", self.output_budget)
        )
