"""Whether the fleet's clusters answer, asked through the EKS MCP servers that already run, in bounded time.

One read per cluster (list the namespaces, as `sre-bot doctor` does), all at once, each through the
server process that serves that cluster and cut off after `timeout` seconds, so a front end can show
"reachable or not" without waiting on a cluster that hangs. It never starts a server: a cluster whose
process is not running (not used yet, stopped after MCP_IDLE_SECONDS, or down) is "unknown", and
starting processes stays the questions', the bot's start-up's and its watcher's job. The call goes to the
server directly, not through a model or the write gate: a fixed read with the fleet's own target as
`cluster_name`.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from agents.fleet.config import Fleet

REACH_SECONDS = 3.0
PROBE_TOOL = "list_k8s_resources"
DETAIL_CHARS = 160


class Server(Protocol):
    """What the probe needs of an MCP server (`agents.mcp.servers.McpServer`)."""

    def alive(self) -> bool: ...

    async def call(self, tool_use_id: str, name: str, arguments: dict[str, Any]) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class Reach:
    """`ok` True: it answered; False: it failed or did not answer in time; None: not checked (why in
    `detail`). `detail` is the server's error, cut short: text from outside, for the front end to escape."""

    ok: bool | None
    detail: str = ""


NOT_RUNNING = "its EKS MCP server is not running now; a question about it starts it"
NO_SERVER = "no EKS MCP server is enabled (MCP_SERVERS)"


class ReachProbe:
    """Asks each cluster of a fleet for its namespaces through the EKS server that serves it
    (`server_of(cluster name)`; None when there is none)."""

    def __init__(self, server_of: Callable[[str], Server | None], *, timeout: float = REACH_SECONDS) -> None:
        self._server_of = server_of
        self.timeout = timeout

    async def check(self, fleet: Fleet[Any]) -> dict[str, Reach]:
        """Every cluster's `Reach`, asked concurrently; returns within about `timeout` seconds."""
        names = list(fleet.clusters)
        found = await asyncio.gather(*(self._one(n, fleet.clusters[n].target) for n in names))
        return dict(zip(names, found, strict=True))

    async def _one(self, name: str, target: str) -> Reach:
        server = self._server_of(name)
        if server is None:
            return Reach(None, NO_SERVER)
        if not server.alive():
            return Reach(None, NOT_RUNNING)
        arguments = {"cluster_name": target, "kind": "Namespace", "api_version": "v1"}
        try:
            result = await asyncio.wait_for(
                server.call(f"reach-{uuid.uuid4().hex[:8]}", PROBE_TOOL, arguments), self.timeout
            )
        except TimeoutError:
            return Reach(False, f"no answer within {self.timeout:g} s")
        except Exception as exc:  # the server's client raises many kinds; the answer is "not reachable"
            return Reach(False, f"{type(exc).__name__}: {exc}"[:DETAIL_CHARS])
        if result.get("status") == "error":
            text = " ".join(str(block.get("text", "")) for block in result.get("content") or [])
            return Reach(False, " ".join(text.split())[:DETAIL_CHARS] or "the call failed")
        return Reach(True)
