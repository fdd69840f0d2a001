"""Health and metrics over HTTP (HEALTH_PORT): /healthz, /readyz, /metrics.

/healthz says the process is alive. /readyz tells the truth about serving: the Slack socket is connected
and every MCP server started with the bot is running (one started on demand for another cluster
may be stopped for idleness), and the bot is not shutting down; otherwise 503 with what is not.
/metrics is Prometheus text.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from agents.mcp.servers import McpServers
from agents.metrics import REGISTRY

logger = logging.getLogger(__name__)


def health_app(
    socket_connected: Callable[[], Awaitable[bool]],
    servers: McpServers,
    stopping: Callable[[], bool] = lambda: False,
) -> web.Application:
    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "alive"})

    async def readyz(_request: web.Request) -> web.Response:
        checks: dict[str, str] = {}
        try:
            checks["slack_socket"] = "connected" if await socket_connected() else "disconnected"
        except Exception as exc:  # a broken client is simply "not ready"
            checks["slack_socket"] = f"unknown: {type(exc).__name__}"
        for name, server in servers.warm().items():
            checks[f"mcp_{name}"] = "running" if server.alive() else f"down: {server.error or 'not running'}"
        if stopping():
            checks["shutdown"] = "draining answers in flight; not taking new questions"
        ready = (
            checks["slack_socket"] == "connected"
            and all(v == "running" for k, v in checks.items() if k.startswith("mcp_"))
            and "shutdown" not in checks
        )
        return web.json_response({"ready": ready, "checks": checks}, status=200 if ready else 503)

    async def metrics(_request: web.Request) -> web.Response:
        body = generate_latest(REGISTRY)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    return app


async def start_health_server(app: web.Application, port: int, host: str = "0.0.0.0") -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    logger.info("health server on port %d (/healthz, /readyz, /metrics)", port)
    return runner
