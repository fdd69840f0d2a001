"""Long-lived MCP server processes: started once per bot process, tools listed once, shared by requests.

Spawning a server per question costs 1.1-1.8 s (and needs the network with `uv tool run`); an open
session answers a call in a few ms. Strands' MCPClient keeps one session on a background thread and is
thread-safe, but it never reconnects: after the server dies every call says "Connection closed". So each
server is launched through `sh -c 'echo $$ > pidfile; exec server'` (same pid, no extra process), and a
call first checks that pid and restarts a dead server, so the next call succeeds.

Why one module of ~460 lines: a server's lifecycle (launch, pid file, health, restart, idle stop, close)
is one state machine, and the collection's split into warm and on-demand servers (what readiness, the
watchdog and the idle reaper each count) is read with it; the pieces are only correct together.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from mcp import StdioServerParameters
from mcp.client.stdio import stdio_client
from strands.tools.mcp import MCPClient
from strands.types.tools import ToolResult, ToolSpec

logger = logging.getLogger(__name__)

# Variables the child needs but the mcp stdio client does not pass on (it passes only HOME, LOGNAME,
# PATH, SHELL, TERM, USER). Credentials cover static keys, profiles, IRSA and EKS Pod Identity.
# How a child reaches the network through the bot's proxies and CAs: every server gets these.
NETWORK_ENV = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
)
PASSTHROUGH_ENV = (
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_ENDPOINT_URL",
    "AWS_STS_REGIONAL_ENDPOINTS",
    "AWS_CA_BUNDLE",
    *NETWORK_ENV,
    "REQUESTS_CA_BUNDLE",
    "KUBECONFIG",
    "TMPDIR",
    "HOME",
    "PATH",
    "LANG",
    "LC_ALL",
)

CONNECTION_LOST = "Connection closed"
START_RETRY_SECONDS = 60.0
"""After a failed start, calls fail fast with the same reason for this long before trying again."""


class ServerUnavailable(Exception):
    """A server could not be started; `str()` says why in words a user can act on."""


@dataclass
class ServerSpec:
    """How to run one MCP server: its executable, arguments and the environment it gets."""

    name: str
    command: str | None
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    log_file: Path | None = None
    startup_timeout: int = 30
    missing_hint: str = ""
    owned_dirs: list[Path] = field(default_factory=list)  # removed when the server is closed
    # Its capability's server name ("eks"), which the gate judges its tools by; `name` differs for the
    # other instances of one capability's server (one per way of reaching a cluster: agents/mcp/pool.py).
    kind: str = ""


def child_env(base: Mapping[str, str], extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The explicit environment of a server: the passthrough variables that are set, plus `extra`."""
    env = {k: base[k] for k in PASSTHROUGH_ENV if base.get(k)}
    env.setdefault("PATH", os.defpath)
    env.update({k: v for k, v in (extra or {}).items() if v is not None})
    return env


def _pid_alive(pid: int) -> bool:
    """True while the process runs; a zombie (dead, not yet reaped) counts as dead."""
    stat = Path(f"/proc/{pid}/stat")
    if stat.exists():
        try:
            state = stat.read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return False
        return state not in ("Z", "X")
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


class McpServer:
    """One MCP server process with its tools listed once, restarted on the next call after it dies."""

    def __init__(self, spec: ServerSpec) -> None:
        self.spec = spec
        self.error: str | None = None
        self._client: MCPClient | None = None
        self._specs: dict[str, ToolSpec] = {}
        self._lock = threading.Lock()
        descriptor, pid_file = tempfile.mkstemp(prefix=f"sre-bot-{spec.name}-", suffix=".pid")
        os.close(descriptor)  # the shell writes it; keeping the descriptor would leak one per server
        self._pid_file = Path(pid_file)
        self._log: TextIO | None = None
        self.restarts = 0
        self._failed_at: float | None = None
        # Calls in flight and the last use, under their own lock: the start lock is held for a whole
        # start (~1 s), and a call must never wait for it on the event loop just to count itself.
        self._use = threading.Lock()
        self._busy = 0
        self.last_used = time.monotonic()
        self.idle_stops = 0
        self._idled = False

    # lifecycle ----------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def kind(self) -> str:
        """The capability's server name this process is an instance of (what the gate judges by)."""
        return self.spec.kind or self.spec.name

    @property
    def running(self) -> bool:
        return self._client is not None

    @property
    def available(self) -> bool:
        return self._client is not None and self.error is None

    @property
    def pid(self) -> int | None:
        try:
            return int(self._pid_file.read_text().strip())
        except (OSError, ValueError):
            return None

    def alive(self) -> bool:
        pid = self.pid
        return self._client is not None and pid is not None and _pid_alive(pid)

    def tool_specs(self) -> dict[str, ToolSpec]:
        """Tool specs by name, as listed at the first start (the tool list does not change)."""
        return dict(self._specs)

    def start(self) -> None:
        """Start the process and list its tools unless it already runs; raises ServerUnavailable.

        A no-op for a running server: a background start must not kill the server a question just
        started (and may be calling).
        """
        with self._lock:
            if self.alive():
                return
            self._start_locked()

    def _start_locked(self) -> None:
        self._stop_locked()
        spec = self.spec
        if not spec.command:
            self.error = f"the {spec.name} MCP server is not installed. {spec.missing_hint}".strip()
            self._failed_at = time.monotonic()
            raise ServerUnavailable(self.error)
        self._pid_file.write_text("")
        if spec.log_file is not None:
            spec.log_file.parent.mkdir(parents=True, exist_ok=True)
            self._log = spec.log_file.open("a", encoding="utf-8")
        params = StdioServerParameters(
            command="/bin/sh",
            args=["-c", 'echo $$ > "$0"; exec "$@"', str(self._pid_file), spec.command, *spec.args],
            env=spec.env,
        )
        errlog = self._log or open(os.devnull, "w")  # noqa: SIM115 - closed in _stop_locked
        self._log = errlog
        client = MCPClient(
            lambda: stdio_client(params, errlog=errlog),  # type: ignore[arg-type,return-value]
            startup_timeout=spec.startup_timeout,
            application_name="sre-bot",
        )
        started = time.monotonic()
        try:
            client.start()
            tools = client.list_tools_sync()
        except Exception as exc:  # the MCP client wraps every start failure differently
            with _quiet():
                try:
                    client.stop(None, None, None)
                except Exception:
                    logger.debug("stop after failed start of %s", spec.name, exc_info=True)
            self.error = f"the {spec.name} MCP server did not start: {_reason(exc, spec.log_file)}"
            self._failed_at = time.monotonic()
            raise ServerUnavailable(self.error) from None
        self._client = client
        self._failed_at = None
        with self._use:
            self.last_used = time.monotonic()  # a fresh start is a use: not idle before its first call
        if not self._specs:
            self._specs = {t.tool_name: t.tool_spec for t in tools}
        self.error = None
        logger.info(
            "mcp server %s started in %.2fs with %d tools (pid %s)",
            spec.name,
            time.monotonic() - started,
            len(tools),
            self.pid,
        )

    def stop(self) -> None:
        with self._lock:
            self._stop_locked()

    def _stop_locked(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with _quiet():
                try:
                    client.stop(None, None, None)
                except Exception:
                    logger.debug("error stopping %s", self.spec.name, exc_info=True)
        if self._log is not None:
            self._log.close()
            self._log = None

    def close(self) -> None:
        self.stop()
        self._pid_file.unlink(missing_ok=True)
        for directory in self.spec.owned_dirs:
            shutil.rmtree(directory, ignore_errors=True)

    def _ensure_running(self) -> MCPClient:
        """Restart a dead server before a call (one restart even if many requests notice at once)."""
        with self._lock:
            if self._client is not None and self.alive():
                return self._client
            if self._failed_at is not None and time.monotonic() - self._failed_at < START_RETRY_SECONDS:
                raise ServerUnavailable(self.error or f"the {self.spec.name} MCP server is unavailable")
            if self._client is not None:
                logger.warning("mcp server %s (pid %s) died; restarting", self.spec.name, self.pid)
                self.restarts += 1
            elif self._idled:
                logger.info("mcp server %s starting again after an idle stop", self.spec.name)
            self._idled = False
            self._start_locked()
            assert self._client is not None
            return self._client

    def ensure_started(self) -> None:
        """Raise ServerUnavailable (with the reason) unless the server runs or could be restarted."""
        self._ensure_running()

    # calls --------------------------------------------------------------------------------------

    def stop_if_idle(self, idle_seconds: float, now: float | None = None) -> bool:
        """Stop the process when no call ran for `idle_seconds` and none is running; True if it stopped.

        The next call starts it again (~1 s), as after a crash but without counting a restart.
        """
        with self._lock:
            with self._use:
                now = time.monotonic() if now is None else now
                if self._client is None or self._busy or now - self.last_used < idle_seconds:
                    return False
            self._stop_locked()
            self._idled = True
            self.idle_stops += 1
        logger.info("mcp server %s stopped after %.0fs idle", self.spec.name, idle_seconds)
        return True

    def _enter(self) -> None:
        with self._use:
            self._busy += 1
            self.last_used = time.monotonic()

    def _leave(self) -> None:
        with self._use:
            self._busy -= 1
            self.last_used = time.monotonic()

    async def call(self, tool_use_id: str, name: str, arguments: dict[str, Any]) -> ToolResult:
        """Call a tool; a dead (or idle-stopped) server is started first. Errors come back as results."""
        self._enter()  # counted before the start, so an idle stop cannot come between start and call
        try:
            return await self._call(tool_use_id, name, arguments)
        finally:
            self._leave()

    async def _call(self, tool_use_id: str, name: str, arguments: dict[str, Any]) -> ToolResult:
        try:
            client = await asyncio.to_thread(self._ensure_running)
        except ServerUnavailable as exc:
            return error_result(tool_use_id, str(exc))
        result = await client.call_tool_async(tool_use_id=tool_use_id, name=name, arguments=arguments)
        if result.get("status") == "error" and _mentions_lost_connection(result) and not self.alive():
            # Died during this call: we cannot know whether it acted, so say so rather than retry.
            return error_result(
                tool_use_id,
                f"the {self.spec.name} MCP server stopped during this call; it will be restarted on the next "
                "call. If this was a change, check the current state before trying again.",
            )
        return ToolResult(toolUseId=tool_use_id, status=result["status"], content=list(result["content"]))


def error_result(tool_use_id: str, text: str) -> ToolResult:
    return ToolResult(toolUseId=tool_use_id, status="error", content=[{"text": text}])


def _mentions_lost_connection(result: ToolResult) -> bool:
    return any(CONNECTION_LOST in str(block.get("text", "")) for block in result.get("content", []))


def _reason(exc: BaseException, log_file: Path | None) -> str:
    """The most useful line: the server's own last log line beats the client's generic wrapper."""
    text = str(exc) or type(exc).__name__
    cause = exc.__cause__ or exc.__context__
    if cause is not None and str(cause):
        text = str(cause)
    if log_file is not None and log_file.exists():
        lines = [ln.strip() for ln in log_file.read_text(errors="replace").splitlines() if ln.strip()]
        errors = [ln for ln in lines[-40:] if "Error" in ln or "error" in ln]
        if errors:
            text = f"{text} — {errors[-1][:300]} (log: {log_file})"
    return text


class _quiet:
    """Silence Strands' own exception logging while we handle the failure ourselves."""

    def __enter__(self) -> None:
        self._logger = logging.getLogger("strands.tools.mcp")
        self._level = self._logger.level
        self._logger.setLevel(logging.CRITICAL)

    def __exit__(self, *exc: object) -> None:
        self._logger.setLevel(self._level)


class McpServers:
    """The bot's MCP servers by name; started together, each failing on its own.

    `specs` are the servers kept warm (started with the bot, never stopped for idleness). `instance`
    adds a server on first use (another way of reaching clusters: agents/mcp/pool.py); those stop after
    `idle_seconds` without a call (`start_reaper`) and start again at the next one.
    """

    def __init__(self, specs: list[ServerSpec]) -> None:
        self.servers = {s.name: McpServer(s) for s in specs}
        self._warm = frozenset(self.servers)
        self._lock = threading.Lock()
        self._reaper: threading.Thread | None = None
        self._closing = threading.Event()

    def __getitem__(self, name: str) -> McpServer:
        return self.servers[name]

    def get(self, name: str) -> McpServer | None:
        return self.servers.get(name)

    def instance(self, name: str, make_spec: Callable[[], ServerSpec]) -> McpServer:
        """The server called `name`, made from `make_spec()` the first time (not started: a call starts it)."""
        with self._lock:
            server = self.servers.get(name)
            if server is None:
                spec = make_spec()
                if spec.name != name:
                    raise ValueError(f"a server spec named {spec.name!r} was made for {name!r}")
                server = self.servers[name] = McpServer(spec)
            return server

    def warm(self) -> dict[str, McpServer]:
        """The servers started with the bot, by name: what readiness means (an on-demand server that
        is stopped for idleness, or cannot reach its cluster, does not make the bot unready)."""
        with self._lock:
            return {name: s for name, s in self.servers.items() if name in self._warm}

    def to_restart(self) -> list[McpServer]:
        """The servers a watchdog should bring back: warm ones that are not running, and on-demand ones
        that died while in use (not those stopped for idleness: the next call starts them)."""
        with self._lock:
            servers = list(self.servers.items())
        return [s for name, s in servers if not s.alive() and (name in self._warm or s.running)]

    def start_all(self) -> dict[str, str | None]:
        """Start every warm server in parallel; returns name → error (None when it started)."""
        outcome: dict[str, str | None] = {}

        def start(server: McpServer) -> None:
            try:
                server.start()
                outcome[server.name] = None
            except ServerUnavailable as exc:
                outcome[server.name] = str(exc)

        warm = [s for name, s in self.servers.items() if name in self._warm]
        threads = [threading.Thread(target=start, args=(s,), daemon=True) for s in warm]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return outcome

    def reap(self, idle_seconds: float, now: float | None = None) -> list[str]:
        """Stop the on-demand servers idle for `idle_seconds`; returns their names."""
        with self._lock:
            lazy = [s for name, s in self.servers.items() if name not in self._warm]
        return [s.name for s in lazy if s.stop_if_idle(idle_seconds, now)]

    def start_reaper(self, idle_seconds: float) -> None:
        """Check for idle on-demand servers in the background (0 seconds: never stop them)."""
        if idle_seconds <= 0 or self._reaper is not None:
            return
        period = max(1.0, min(idle_seconds / 4, 30.0))

        def run() -> None:
            while not self._closing.wait(period):
                try:
                    self.reap(idle_seconds)
                except Exception:  # a failed stop must not end the reaper: the next round tries again
                    logger.exception("stopping idle MCP servers failed")

        self._reaper = threading.Thread(target=run, name="mcp-idle-reaper", daemon=True)
        self._reaper.start()

    def close(self) -> None:
        self._closing.set()
        with self._lock:
            servers = list(self.servers.values())
        for server in servers:
            server.close()
