"""/readyz tells the truth: socket down or an MCP server down → 503; /metrics serves Prometheus text."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from pathlib import Path
from types import SimpleNamespace

import aiohttp

from agents.coordinator import Assistant
from agents.mcp.servers import McpServers
from agents.settings import load_settings
from slackbot.health import health_app, start_health_server
from tests.fakes.brains import default_brains
from tests.fakes.scripted_model import ScriptedModels
from tests.slack_harness import wait_until


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def get(port: int, path: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}{path}") as response:
        return response.status, await response.text()


async def test_readyz_follows_the_socket_and_the_mcp_servers(agent_env: Path, monkeypatch) -> None:
    monkeypatch.setenv("MCP_SERVERS", "eks")
    assistant = Assistant(load_settings(), models=ScriptedModels(default_brains()))
    connected = {"value": False}

    async def socket_connected() -> bool:
        return connected["value"]

    port = free_port()
    runner = await start_health_server(health_app(socket_connected, assistant.servers), port, "127.0.0.1")
    try:
        assert (await get(port, "/healthz"))[0] == 200
        status, body = await get(port, "/readyz")
        assert status == 503 and '"slack_socket": "disconnected"' in body  # nothing started yet
        await asyncio.to_thread(assistant.start)
        connected["value"] = True
        status, body = await get(port, "/readyz")
        assert status == 200, body
        os.kill(assistant.servers["eks"].pid or 0, signal.SIGKILL)
        await wait_until(lambda: not assistant.servers["eks"].alive(), "the killed server gone")
        status, body = await get(port, "/readyz")
        assert status == 503 and '"mcp_eks": "down' in body
        await asyncio.to_thread(assistant.servers["eks"].ensure_started)
        assert (await get(port, "/readyz"))[0] == 200
        connected["value"] = False
        assert (await get(port, "/readyz"))[0] == 503
        status, text = await get(port, "/metrics")
        assert status == 200
        for name in (
            "sre_bot_questions_total",
            "sre_bot_tool_calls_total",
            "sre_bot_errors_total",
            "sre_bot_approvals_total",
            "sre_bot_first_reply_seconds_bucket",
            "sre_bot_answer_seconds_bucket",
        ):
            assert name in text
    finally:
        await runner.cleanup()
        await asyncio.to_thread(assistant.close)


async def test_the_container_healthcheck_follows_health_port(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from slackbot import healthcheck

    async def connected() -> bool:
        return True

    port = free_port()
    monkeypatch.setenv("HEALTH_PORT", str(port))
    assert await asyncio.to_thread(healthcheck.main) == 1  # nothing listening yet
    runner = await start_health_server(
        health_app(connected, SimpleNamespace(servers={})),  # type: ignore[arg-type]
        port,
        "127.0.0.1",
    )
    try:
        assert await asyncio.to_thread(healthcheck.main) == 0
    finally:
        await runner.cleanup()
    monkeypatch.setenv("HEALTH_PORT", "0")
    assert healthcheck.main() == 0


async def test_readyz_is_not_ready_while_shutting_down(agent_env: Path) -> None:
    async def connected() -> bool:
        return True

    stopping = False
    port = free_port()
    no_servers = McpServers([])
    runner = await start_health_server(
        health_app(connected, no_servers, lambda: stopping),
        port,
        "127.0.0.1",
    )
    try:
        assert (await get(port, "/readyz"))[0] == 200
        stopping = True
        status, body = await get(port, "/readyz")
        assert status == 503 and "draining" in body
        assert (await get(port, "/healthz"))[0] == 200  # still alive: do not kill it mid-drain
    finally:
        await runner.cleanup()
