"""The capability seam: a new capability is one object registered, and the rest of the bot follows.

A toy capability over a tiny MCP server written here (real stdio, real Strands, real gate): the
coordinator routes to it, its steps render in plain words, its write pauses at an approval and runs
once when approved, and doctor checks its server, with no other module naming it.
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest

from agents.capabilities import (
    Capability,
    ReadRules,
    by_name,
    enabled,
    not_offered,
    read_rules,
    register,
    registered,
    unregister,
)
from agents.compose import load_settings  # as front ends load them: MCP_SERVERS checked by the registry
from agents.coordinator import Assistant
from agents.events import AgentEvent, ApprovalRequired, FinalAnswer
from agents.gate.write_gate import APPROVAL_INTERRUPT, call_hash, classify
from agents.mcp.servers import ServerSpec, child_env
from agents.mcp.tools import McpTool
from agents.runner import ConversationRunner
from agents.settings import Settings
from agents.state.sessions import FileSessionStore
from frontends.doctor import run_checks
from slackbot.renderer import Renderer
from tests.fakes.scripted_model import ScriptedModels, ToolCall, Turn

SERVER = textwrap.dedent(
    '''
    import pathlib
    import sys

    from mcp.server.mcpserver import MCPServer

    WIDGETS = {"a": "red", "b": "blue", "c": "red"}
    PAINTED = pathlib.Path(sys.argv[1])
    mcp = MCPServer("widgets")


    @mcp.tool()
    def count_widgets(color: str) -> str:
        """How many widgets have this color."""
        return f"{sum(1 for c in WIDGETS.values() if c == color)} {color} widgets"


    @mcp.tool()
    def paint_widget(name: str, color: str) -> str:
        """Paint one widget a color."""
        with PAINTED.open("a") as f:
            f.write(f"{name} {color}\\n")
        return f"painted {name} {color}"


    mcp.run()
    '''
)


def toy(script: Path, painted: Path) -> Capability:
    def server_spec(settings: Settings, base: Mapping[str, str], common: Mapping[str, str]) -> ServerSpec:
        return ServerSpec(
            name="widgets",
            command=sys.executable,
            args=[str(script), str(painted)],
            env=child_env(base, {"PYTHONPATH": ":".join(sys.path)}),
            log_file=settings.mcp_log_dir / "widgets.stderr.log",
        )

    return Capability(
        name="widget_assistant",
        server="widgets",
        title="Widgets",
        server_title="widgets",
        asking="Asking the widget specialist",
        route="Widgets (how many, painting them)",
        description="Widget specialist: counts widgets by color and paints them.",
        prompt="You are widget_assistant. Cluster {cluster}.",
        tools=None,
        server_spec=server_spec,
        read_only_tools=frozenset({"count_widgets"}),
    )


def clash() -> Capability:
    """A capability whose own server's `paint_widget` only reads (not enabled: only declared)."""

    def no_server(settings: Settings, base: Mapping[str, str], common: Mapping[str, str]) -> ServerSpec:
        raise AssertionError("never started")

    toy_one = toy(Path("unused.py"), Path("unused.txt"))
    return replace(
        toy_one,
        name="clash_assistant",
        server="clash",
        route="nothing",
        server_spec=no_server,
        read_only_tools=frozenset({"paint_widget"}),
    )


def coordinator(turn: Turn) -> str | ToolCall:
    if turn.tool_results:
        return "Widgets: " + " ".join(turn.unfenced_results())
    return ToolCall("widget_assistant", {"query": turn.user_text})


def widget_brain(turn: Turn) -> str | ToolCall:
    if turn.tool_results:
        return " ".join(turn.tool_results)
    if "paint" in turn.user_text:
        return ToolCall("paint_widget", {"name": "a", "color": "green"})
    return ToolCall("count_widgets", {"color": "red"})


@pytest.fixture
def widgets(agent_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The toy capability registered (and only it enabled), writes on; yields the server's paint log."""
    script, painted = tmp_path / "widgets_server.py", tmp_path / "painted.txt"
    script.write_text(SERVER)
    register(toy(script, painted))
    monkeypatch.setenv("MCP_SERVERS", "widgets")
    monkeypatch.setenv("EKS_MCP_ALLOW_WRITE", "true")
    try:
        yield painted
    finally:
        unregister("widget_assistant")


def painted(log: Path) -> str:
    """What the toy server painted so far."""
    return log.read_text() if log.exists() else ""


async def collect(events) -> list[AgentEvent]:  # type: ignore[no-untyped-def]
    return [e async for e in events]


async def test_a_registered_capability_is_routed_to_rendered_gated_and_checked(widgets: Path) -> None:
    models = ScriptedModels({"coordinator": coordinator, "widget_assistant": widget_brain})
    settings = load_settings()
    assistant = Assistant(settings, models=models, approvals_configured=True)
    try:
        assert [c.name for c in assistant.capabilities] == ["widget_assistant"]
        runner = ConversationRunner(assistant, FileSessionStore(settings.session_storage_path))

        # routed, with its steps in plain words
        events = await collect(runner.ask("how many red widgets?", "W:1"))
        final = [e for e in events if isinstance(e, FinalAnswer)][-1]
        assert "2 red widgets" in final.text
        [asked] = models.models["coordinator"].requests[:1]
        assert "- Widgets (how many, painting them) → widget_assistant." in asked.system
        assert "eks_assistant" not in asked.system  # only the enabled capabilities are routed to
        renderer = Renderer(reply=None)  # type: ignore[arg-type]  # apply() only builds the steps
        for event in events:
            renderer.apply(event)
        titles = [s.title for s in renderer.steps.values()]
        assert titles == [
            "Asking the widget specialist: how many red widgets?",
            "Running count widgets: color=red",
        ]
        assert all(s.status == "complete" for s in renderer.steps.values())

        # its write pauses at an approval, and runs once when approved; another capability that calls a
        # tool of the same name read-only changes nothing (a server's tools are judged by its own rules)
        register(clash())
        events = await collect(runner.ask("paint widget a green", "W:2"))
        [pending] = [e for e in events if isinstance(e, ApprovalRequired)]
        assert pending.tool == "paint_widget" and pending.arguments == {"name": "a", "color": "green"}
        assert painted(widgets) == ""  # nothing painted before a decision
        response = {"approved": True, "hash": pending.call_hash, "by": "U2", "approval_id": "w1"}
        resumed = await collect(runner.resume("W:2", {pending.interrupt_id: response}))
        assert "painted a green" in [e for e in resumed if isinstance(e, FinalAnswer)][-1].text
        assert painted(widgets) == "a green\n"
        again = await collect(runner.resume("W:2", {pending.interrupt_id: response}))
        assert painted(widgets) == "a green\n", again  # approved once, run once
    finally:
        unregister("clash_assistant")
        assistant.close()

    # doctor checks its server like any other, listing the tools it offers
    checks = run_checks(settings, lambda s: Assistant(s, models=models, approvals_configured=True))
    [server] = [c for c in checks if c.name == "mcp server widgets"]
    assert server.status == "OK" and "2 tools offered: count_widgets, paint_widget" in server.detail
    assert not [c for c in checks if c.name in ("kubernetes", "cluster")]  # no EKS checks without EKS


def test_the_registry_drives_read_rules_settings_and_steps(widgets: Path) -> None:
    """Classification, MCP_SERVERS and step lines follow registration, and forget it on removal."""
    assert classify("count_widgets", {}).write is False
    assert classify("paint_widget", {}).write is True  # not declared read-only: a write (fail closed)
    assert "widget_assistant" in read_rules().tools  # handing a question on only reads
    register(clash())
    try:  # the same tool name, read-only on another server: each server's own declarations judge it
        assert classify("paint_widget", {}, server="widgets").write is True
        assert classify("paint_widget", {}, server="clash").write is False
        assert classify("count_widgets", {}, server="clash").write is True
        assert classify("count_widgets", {}, server="nobody").write is True  # no capability: a write
        # a specialist's name is a read only as the specialist (no server): a server's tool of that name
        # is that server's own, and it declared none
        assert classify("widget_assistant", {}, server="widgets").write is True
        assert "widget_assistant" not in read_rules("widgets").tools
    finally:
        unregister("clash_assistant")
    assert load_settings().enabled_servers == ["widgets"]
    unregister("widget_assistant")
    assert by_name("widget_assistant") is None
    assert classify("count_widgets", {}).write is True  # an unregistered tool is not known to read
    with pytest.raises(Exception, match="expected a comma-separated subset of eks, billing"):
        load_settings()


def test_two_capabilities_cannot_share_a_name_or_a_server(widgets: Path, tmp_path: Path) -> None:
    existing = by_name("widget_assistant")
    assert existing is not None
    with pytest.raises(ValueError, match="already registered"):
        register(existing)
    assert [c.name for c in registered()].count("widget_assistant") == 1


def test_read_rules_join_each_capabilitys_tools_and_reading_operations() -> None:
    """Over several capabilities, a tool's reading operations are the union of what each declares."""
    one = replace(clash(), name="one", server="one", read_operations={"manage": frozenset({"get"})})
    two = replace(
        clash(),
        name="two",
        server="two",
        read_only_tools=frozenset({"look"}),
        read_operations={"manage": frozenset({"list"}), "other": frozenset({"show"})},
    )
    rules = ReadRules.of([one, two])
    assert rules.tools == frozenset({"paint_widget", "look", "one", "two"})
    assert rules.operations == {"manage": frozenset({"get", "list"}), "other": frozenset({"show"})}
    assert ReadRules.of([one]).operations == {"manage": frozenset({"get"})}
    assert ReadRules.of([one, two], specialists=False).tools == frozenset({"paint_widget", "look"})


def test_the_enabled_capabilities_are_those_mcp_servers_names(
    widgets: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert [c.name for c in enabled(load_settings())] == ["widget_assistant"]
    monkeypatch.setenv("MCP_SERVERS", "billing,widgets")
    assert [c.name for c in enabled(load_settings())] == [
        "finops_assistant",
        "widget_assistant",
    ]  # registry order
    with pytest.raises(ValueError, match="already registered"):  # a new name on a taken server
        register(replace(clash(), server="widgets"))
    with pytest.raises(ValueError, match="already registered"):  # a taken name on a new server
        register(replace(clash(), name="widget_assistant"))
    assert by_name("clash_assistant") is None


def test_a_capability_its_settings_do_not_configure_is_not_offered_and_says_why(
    widgets: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    needy = replace(
        clash(),
        name="needy_assistant",
        server="needy",
        unconfigured=lambda s: None if s.mcp_idle_seconds == 0 else "MCP_IDLE_SECONDS=0 enables it",
    )
    register(needy)
    try:
        monkeypatch.setenv("MCP_SERVERS", "widgets,needy")
        settings = load_settings()
        assert [c.name for c in enabled(settings)] == ["widget_assistant"]
        assert [(c.name, why) for c, why in not_offered(settings)] == [
            ("needy_assistant", "MCP_IDLE_SECONDS=0 enables it")
        ]
        monkeypatch.setenv("MCP_IDLE_SECONDS", "0")
        settings = load_settings()
        assert [c.name for c in enabled(settings)] == ["widget_assistant", "needy_assistant"]
        assert not_offered(settings) == [] and needy.not_offered(settings) is None
        monkeypatch.setenv("MCP_IDLE_SECONDS", "60")
        monkeypatch.setenv("MCP_SERVERS", "widgets")
        assert not_offered(load_settings()) == []  # left out by MCP_SERVERS: nothing to enable
    finally:
        unregister("needy_assistant")


def mcp_tool(server: str, name: str) -> McpTool:
    """A tool as a specialist gets it from `server` (never called here: the gate only reads it)."""
    stub = SimpleNamespace(name=server, spec=SimpleNamespace(name=server))
    properties = {"name": {"type": "string"}, "color": {"type": "string"}}
    spec = {
        "name": name,
        "description": name,
        "inputSchema": {"json": {"type": "object", "properties": properties}},
    }
    return McpTool(stub, spec, output_budget=1000)  # type: ignore[arg-type]


def test_the_gate_judges_a_tool_by_its_own_servers_rules(widgets: Path) -> None:
    """The gate hook itself, as Strands calls it: another capability's read-only `paint_widget` does not
    make this server's `paint_widget` a read, before the call or in its audited result."""
    from tests.test_mut_write_gate import After, Before, Paused, approved, gate, use

    register(clash())
    try:
        g, audit = gate()
        tool = mcp_tool("widgets", "paint_widget")
        args = {"name": "a", "color": "green"}
        asked = Before(use("paint_widget", args, "p1"), selected_tool=tool)
        with pytest.raises(Paused):  # a write: the agent pauses for a card
            g.before(asked)  # type: ignore[arg-type]
        assert [name for name, _ in asked.interrupts] == [APPROVAL_INTERRUPT] and asked.cancel_tool is False
        run = Before(
            use("paint_widget", args, "p1"),
            response=approved(call_hash("paint_widget", args)),
            selected_tool=tool,
        )
        g.before(run)  # type: ignore[arg-type]
        assert run.cancel_tool is False  # approved: it runs
        g.after(After(use("paint_widget", args, "p1"), {"status": "success"}, selected_tool=tool))  # type: ignore[arg-type]
        assert (audit.records[-1]["event"], audit.records[-1]["access"]) == ("tool_result", "write")
        read = Before(use("paint_widget", args, "p2"), selected_tool=mcp_tool("clash", "paint_widget"))
        g.before(read)  # type: ignore[arg-type]
        assert read.interrupts == [] and read.cancel_tool is False  # the clash server's own: a read
    finally:
        unregister("clash_assistant")


def test_cached_rules_of_all_servers_are_never_those_of_one(widgets: Path) -> None:
    register(clash())
    try:
        assert "paint_widget" in read_rules().tools  # the union, cached first
        assert "paint_widget" not in read_rules("widgets").tools  # then one server's: its own
        assert read_rules("clash").tools == frozenset({"paint_widget"})
    finally:
        unregister("clash_assistant")
