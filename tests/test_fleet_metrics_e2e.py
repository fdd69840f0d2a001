"""`prometheus_url` per cluster end to end: two real Prometheus servers, the real MCP server, the bot's
specialist machinery; only the models are scripted.

prod's Prometheus scrapes a gauge of 1 and staging's the same gauge of 2, so the number in an answer says
which Prometheus it came from: the brains only read numbers out of tool results. No PROMETHEUS_URL is
set: the fleet's URLs alone offer the capability.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agents.compose import Core, FrontEnd, build_core, load_settings
from agents.events import AgentEvent, FinalAnswer
from frontends.doctor import fleet_assistant, run_checks
from tests.fakes.scripted_model import Reply, ScriptedModels, ToolCall, Turn
from tests.real_prometheus import RealPrometheus, Target, prometheus_binary

MARKER = "sre_bot_fleet_marker"
VALUES = {"prod": 1.0, "staging": 2.0}


@pytest.fixture(scope="module")
def prometheus_by_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Two real Prometheus servers, one per cluster, each scraping its own target: cluster -> URL."""
    binary = prometheus_binary()
    started: list[tuple[RealPrometheus, Target]] = []
    try:
        urls = {}
        for cluster, value in VALUES.items():
            target = Target().start()
            target.set(MARKER, value, help="which Prometheus answered (a test's gauge)")
            real = RealPrometheus(
                binary, tmp_path_factory.mktemp(f"prometheus-{cluster}"), {"demo": [target.address]}
            )
            started.append((real, target))
            real.start()
            real.wait_value(MARKER, value)
            urls[cluster] = real.url
        yield urls
    finally:
        for real, target in started:
            real.stop()
            target.stop()


@pytest.fixture
def fleet_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, prometheus_by_cluster: dict[str, str]) -> Path:
    """A fleet file whose clusters name their own Prometheus (and one, dev, that has none)."""
    path = tmp_path / "clusters.yaml"
    path.write_text(
        "default: staging\nclusters:\n"
        + "".join(
            f"  {name}:\n    eks: {{name: {name}-eks, region: eu-west-1}}\n    prometheus_url: {url}\n"
            for name, url in prometheus_by_cluster.items()
        )
        + "  dev:\n    eks: {name: dev-eks, region: eu-west-1}\n"
    )
    env = {
        "MODEL_PROVIDER": "openai",
        "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",  # never called: the models are scripted
        "MCP_SERVERS": "prometheus",
        "CLUSTERS_FILE": str(path),
        "MCP_LOG_DIR": str(tmp_path / "log"),
        "SESSION_STORAGE_PATH": str(tmp_path / "sessions"),
        "AUDIT_LOG_PATH": str(tmp_path / "audit.jsonl"),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return path


def per_cluster(turn: Turn) -> Reply:
    """Asks the metrics specialist once per cluster the prompt names, then relays the answers."""
    if turn.tool_results:
        return "\n\n".join(turn.unfenced_results())
    found = re.search(r"Clusters of this question: ([^(]+) \(", turn.system)
    assert found, "the coordinator's prompt names the question's clusters"
    return [
        ToolCall("metrics_assistant", {"query": f"{c.strip()}: {turn.user_text}", "cluster": c.strip()})
        for c in found.group(1).split(",")
    ]


def no_cluster(turn: Turn) -> Reply:
    """Asks the metrics specialist once, naming no cluster, and relays what it got."""
    if turn.tool_results:
        return "\n\n".join(turn.tool_results)
    return ToolCall("metrics_assistant", {"query": turn.user_text})


def reads_the_marker(turn: Turn) -> Reply:
    """Queries the marker, then answers with the number Prometheus returned, after the cluster the
    coordinator's query was for."""
    if not turn.tool_results:
        return ToolCall("query", {"query": MARKER})
    [series] = json.loads(turn.unfenced_results()[-1])["result"]
    return f"{turn.user_text.split(':')[0]}: the marker reads {series['value']:g}"


def core_with(**brains: Any) -> Core:
    models = ScriptedModels({"metrics_assistant": reads_the_marker, **brains})
    return build_core(load_settings(), FrontEnd(approvals=False), models=models)


async def answer(core: Core, question: str, conversation: str) -> str:
    events: list[AgentEvent] = [e async for e in core.runner.ask(question, conversation)]
    return [e for e in events if isinstance(e, FinalAnswer)][-1].text


async def test_a_question_in_prod_is_answered_from_prod_s_prometheus(fleet_env: Path) -> None:
    core = core_with(coordinator=per_cluster)
    try:
        assert [c.name for c in core.assistant.capabilities] == ["metrics_assistant"]  # no PROMETHEUS_URL
        core.start()
        assert (
            await answer(core, "what does the marker read in prod?", "M:prod") == "prod: the marker reads 1"
        )
        assert await answer(core, "and in staging?", "M:staging") == "staging: the marker reads 2"
        both = await answer(core, "compare the marker in staging and prod", "M:both")
        assert sorted(re.findall(r"\w+: the marker reads \d", both)) == [
            "prod: the marker reads 1",
            "staging: the marker reads 2",
        ]
        prometheus = {
            s.spec.env["PROMETHEUS_URL"]: s
            for s in core.assistant.servers.servers.values()
            if s.kind == "prometheus"
        }
        assert len(prometheus) == 2  # one process per URL, each one cluster's
    finally:
        core.close()


async def test_a_call_over_two_prometheus_servers_without_cluster_is_refused_before_any_query(
    fleet_env: Path,
) -> None:
    models = ScriptedModels({"coordinator": no_cluster, "metrics_assistant": reads_the_marker})
    core = build_core(load_settings(), FrontEnd(approvals=False), models=models)
    try:
        text = await answer(core, "compare the marker in staging and prod", "M:refused")
    finally:
        core.close()
    assert (
        "Not asked: the clusters of this question (staging, prod) are served by different Prometheus servers: "
        "call metrics_assistant once per cluster" in text
    )
    assert models.models["metrics_assistant"].requests == []  # no specialist ran, so no query did


async def test_a_cluster_without_a_prometheus_is_told_which_key_to_set(fleet_env: Path) -> None:
    core = core_with(coordinator=per_cluster)
    try:
        text = await answer(core, "what does the marker read in dev?", "M:dev")
    finally:
        core.close()
    assert "no Prometheus is set for cluster dev" in text and "`clusters.dev.prometheus_url`" in text


def test_doctor_has_one_line_per_prometheus_naming_its_clusters(
    fleet_env: Path, prometheus_by_cluster: dict[str, str]
) -> None:
    models = ScriptedModels({"coordinator": lambda turn: "OK"})
    checks = run_checks(load_settings(), lambda s: fleet_assistant(s, models=models))
    lines = {c.name: c for c in checks if c.name.startswith("prometheus:")}
    assert set(lines) == {"prometheus: prod", "prometheus: staging", "prometheus: dev"}
    for cluster in VALUES:
        line = lines[f"prometheus: {cluster}"]
        assert line.status == "OK", line
        assert line.detail.startswith(f"{prometheus_by_cluster[cluster]}: query count(up) answered")
    assert (
        lines["prometheus: dev"].status == "WARN"
        and "clusters.dev.prometheus_url" in lines["prometheus: dev"].detail
    )
    [served] = [c for c in checks if c.name.startswith("mcp server prometheus")]  # the warm one: staging's
    assert served.status == "OK" and "4 tools offered" in served.detail
