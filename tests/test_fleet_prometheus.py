"""`prometheus_url` per cluster in CLUSTERS_FILE: the key's checks, which clusters share a Prometheus
server process, when the metrics capability is offered, and what a call that cannot be served is told.

The real Prometheus servers and the real MCP server are in tests/test_fleet_metrics_e2e.py; these use
specs that never start.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest
from strands.types._events import ToolResultEvent

from agents.capabilities import METRICS, Capability, enabled, not_offered
from agents.fleet import CLUSTER_SCOPE, ClusterConfig, ClusterScope, Fleet, FleetError, Resolution, load_fleet
from agents.mcp.pool import ClusterServers
from agents.mcp.servers import McpServers
from agents.server_specs import cluster_servers, server_specs
from agents.settings import Settings
from agents.specialists import SpecialistContext, SpecialistTool

PROD, STAGING = "http://prom-prod.monitoring:9090", "https://prom-staging.monitoring/prom"


def fleet_file(tmp_path: Path, **urls: str | None) -> Path:
    """A fleet of IAM-mode clusters (no kubeconfig needed), each with the `prometheus_url` given."""
    lines = [f"default: {next(iter(urls))}", "clusters:"]
    for name, url in urls.items():
        lines.append(f"  {name}:")
        lines.append(f"    eks: {{name: {name}-eks, region: eu-west-1}}")
        if url is not None:
            lines.append(f"    prometheus_url: {url!r}")
    path = tmp_path / "clusters.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def fleet(**urls: str | None) -> Fleet[ClusterConfig]:
    clusters: dict[str, Any] = {
        name: {"eks": {"name": f"{name}-eks", "region": "eu-west-1"}, "prometheus_url": url}
        for name, url in urls.items()
    }
    return Fleet[ClusterConfig].model_validate({"default": next(iter(urls)), "clusters": clusters})


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, model_provider="ollama", mcp_servers="prometheus", **values)  # type: ignore[call-arg]


# --- the key -------------------------------------------------------------------------------------------


def test_a_cluster_may_name_its_prometheus_and_one_without_has_none(tmp_path: Path) -> None:
    loaded = load_fleet(fleet_file(tmp_path, prod=PROD, staging=STAGING, dev=None))
    assert {n: c.prometheus_url for n, c in loaded.clusters.items()} == {
        "prod": PROD,
        "staging": STAGING,
        "dev": None,
    }


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "prom-prod:9090",
            "expected the http(s) base URL of Prometheus, e.g. http://prometheus.monitoring:9090",
        ),
        ("ftp://prom-prod:9090", "expected the http(s) base URL of Prometheus"),
        ("http://", "expected the http(s) base URL of Prometheus"),
        ("http://[::1", "expected the http(s) base URL of Prometheus"),
        ("http://prom:99999", "expected the http(s) base URL of Prometheus"),
        ("http://bob:hunter2@prom-prod:9090", "must not hold credentials: set PROMETHEUS_USERNAME and"),
        ("http://prom-prod:9090/?x=hunter2", "expected a base URL without ?query or #fragment"),
        ("http://prom-prod:9090/#hunter2", "expected a base URL without ?query or #fragment"),
    ],
)
def test_a_bad_prometheus_url_is_one_line_naming_the_cluster_s_key(
    tmp_path: Path, url: str, expected: str
) -> None:
    path = fleet_file(tmp_path, staging=None, prod=url)
    with pytest.raises(FleetError) as raised:
        load_fleet(path)
    assert str(raised.value).startswith(f"CLUSTERS_FILE: {path}: clusters.prod.prometheus_url: {expected}")
    assert raised.value.key == "clusters.prod.prometheus_url"
    assert "hunter2" not in str(raised.value)  # a credential in the URL is never repeated


@pytest.mark.parametrize("url", ["prom-prod:9090", "http://bob:hunter2@prom:9090", "http://prom:9090/?a=1"])
def test_the_fleet_key_and_prometheus_url_refuse_the_same_urls_in_the_same_words(
    tmp_path: Path, url: str
) -> None:
    """One rule for both: a URL that works in PROMETHEUS_URL works per cluster, and the other way round."""
    with pytest.raises(FleetError) as in_file:
        load_fleet(fleet_file(tmp_path, prod=url))
    [in_settings] = [p for p in settings(prometheus_url=url).problems() if p.variable == "PROMETHEUS_URL"]
    assert in_file.value.key == "clusters.prod.prometheus_url"
    assert str(in_file.value).endswith(f": {in_settings.problem}")


def test_a_prometheus_url_that_is_no_string_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "clusters.yaml"
    path.write_text("clusters:\n  prod:\n    eks: {name: p, region: eu-west-1}\n    prometheus_url: [a]\n")
    with pytest.raises(
        FleetError, match=re.escape("clusters.prod.prometheus_url: Input should be a valid string")
    ):
        load_fleet(path)


# --- one process per URL -------------------------------------------------------------------------------


def pools(config: Settings, of: Fleet[ClusterConfig]) -> ClusterServers:
    return cluster_servers(config, McpServers([]), of, (METRICS,), environ={"PATH": "/usr/bin"})[METRICS.name]


def test_clusters_with_one_url_share_a_process_and_another_url_gets_its_own(tmp_path: Path) -> None:
    config = settings(prometheus_url=STAGING, prometheus_token="t0ken-for-every-prometheus")
    pool = pools(config, fleet(prod=PROD, eu=PROD, staging=None, qa=STAGING, dev="http://prom-dev:9090"))
    served = {name: pool.server(name) for name in ("prod", "eu", "staging", "qa", "dev")}
    assert served["prod"] is served["eu"]  # one URL: one process
    assert served["staging"] is served["qa"]  # no URL of its own: PROMETHEUS_URL's, the same as qa's
    assert len({id(s) for s in served.values()}) == 3
    urls = {name: s.spec.env["PROMETHEUS_URL"] for name, s in served.items()}
    assert urls == {
        "prod": PROD,
        "eu": PROD,
        "staging": STAGING,
        "qa": STAGING,
        "dev": "http://prom-dev:9090",
    }
    assert served["staging"].name == "prometheus"  # PROMETHEUS_URL's keeps today's name
    names = [s.name for s in (served["prod"], served["dev"])]
    assert names[0].startswith("prometheus-prom-prod-monitoring-") and names[1].startswith(
        "prometheus-prom-dev-"
    )
    assert len(set(names)) == 2 and all(s.kind == "prometheus" for s in served.values())  # the gate's rules
    assert {s.spec.log_file for s in served.values()} == {
        config.mcp_log_dir / f"{name}-server.stderr.log" for name in ("prometheus", *names)
    }
    # the credentials are global: every Prometheus gets the same, and nothing else of the bot
    assert {s.spec.env.get("PROMETHEUS_TOKEN") for s in served.values()} == {"t0ken-for-every-prometheus"}


def test_the_default_cluster_s_prometheus_starts_with_the_bot_and_the_others_on_first_use() -> None:
    config = settings()
    [warm] = server_specs(config, capabilities=(METRICS,), fleet=fleet(prod=PROD, staging=STAGING))
    assert warm.env["PROMETHEUS_URL"] == PROD and warm.kind == "prometheus"
    # the default has none: the first cluster that has one
    [warm] = server_specs(config, capabilities=(METRICS,), fleet=fleet(dev=None, staging=STAGING))
    assert warm.env["PROMETHEUS_URL"] == STAGING
    assert server_specs(config, capabilities=(METRICS,), fleet=fleet(dev=None)) == []
    # with PROMETHEUS_URL, a default without its own URL starts PROMETHEUS_URL's, named as without a fleet
    [warm] = server_specs(
        settings(prometheus_url=STAGING), capabilities=(METRICS,), fleet=fleet(dev=None, p=PROD)
    )
    assert (warm.name, warm.env["PROMETHEUS_URL"]) == ("prometheus", STAGING)
    servers = McpServers([warm])
    pool = cluster_servers(settings(prometheus_url=STAGING), servers, fleet(dev=None, p=PROD), (METRICS,))[
        METRICS.name
    ]
    assert pool.server("dev") is servers["prometheus"]  # the warm one is served, not made again


# --- offered -------------------------------------------------------------------------------------------


def test_only_per_cluster_urls_offer_the_capability_and_without_a_fleet_nothing_changes() -> None:
    without_url = settings()
    assert [c.name for c in enabled(without_url)] == []
    [(capability, why)] = not_offered(without_url)
    assert capability is METRICS and why.startswith("PROMETHEUS_URL is not set") and "`prometheus_url`" in why
    assert [c.name for c in enabled(without_url, fleet(prod=PROD, staging=None))] == ["metrics_assistant"]
    assert not_offered(without_url, fleet(prod=PROD, staging=None)) == []
    assert [c.name for c in enabled(without_url, fleet(prod=None, staging=None))] == []  # no URL anywhere
    assert [c.name for c in enabled(settings(prometheus_url=PROD))] == ["metrics_assistant"]  # as before
    left_out = Settings(_env_file=None, model_provider="ollama", mcp_servers="eks")  # type: ignore[call-arg]
    assert METRICS not in enabled(left_out, fleet(prod=PROD))  # MCP_SERVERS still leaves it out


# --- which cluster a call is about ---------------------------------------------------------------------


def specialist(
    config: Settings, of: Fleet[ClusterConfig] | None, capability: Capability = METRICS
) -> SpecialistTool:
    servers = McpServers([])
    context = SpecialistContext(
        model_factory=lambda name: None,  # type: ignore[arg-type,return-value]  # no model is built here
        servers=servers.servers,
        prompt_values={},
        output_budget=8000,
        max_wait_seconds=5,
        fleet=of,
        cluster_servers=cluster_servers(config, servers, of, (capability,)) if of is not None else {},
    )
    return SpecialistTool(capability, context)


def scope(*clusters: str) -> dict[str, Any]:
    return {CLUSTER_SCOPE: ClusterScope(Resolution(clusters, "question"))}


def ask(tool: SpecialistTool, state: dict[str, Any], **arguments: str) -> str:
    """The text of the tool's result when it is refused before any model or server runs."""

    async def run() -> list[Any]:
        use = {"toolUseId": "t1", "name": tool.tool_name, "input": {"query": "error rate?", **arguments}}
        return [e async for e in tool.stream(use, state)]  # type: ignore[arg-type]

    events = asyncio.run(run())
    [result] = [e for e in events if isinstance(e, ToolResultEvent)]
    assert result.tool_result["status"] == "error"
    return str(result.tool_result["content"][0]["text"])


def test_with_different_urls_the_metrics_tool_takes_a_cluster_as_eks_assistant_does() -> None:
    tool = specialist(settings(), fleet(prod=PROD, staging=STAGING))
    properties = tool.tool_spec["inputSchema"]["json"]["properties"]
    assert properties["cluster"]["enum"] == ["prod", "staging"]
    narrowed = tool.call_scope(
        {"toolUseId": "t", "name": "m", "input": {"query": "q", "cluster": "prod"}}, scope("prod", "staging")
    )
    assert isinstance(narrowed, ClusterScope) and narrowed.clusters == ("prod",)
    assert tool.server_for(narrowed) is tool.context.cluster_servers[METRICS.name].server("prod")
    # one Prometheus for the whole fleet: nothing to choose, so no `cluster` and no refusal
    shared = specialist(settings(prometheus_url=PROD), fleet(prod=None, staging=None))
    assert "cluster" not in shared.tool_spec["inputSchema"]["json"]["properties"]
    assert shared.call_scope(
        {"toolUseId": "t", "name": "m", "input": {"query": "q"}}, scope("prod", "staging")
    ) == ClusterScope(Resolution(("prod", "staging"), "question"))
    # without a fleet file: as before, no `cluster`, the one server
    alone = specialist(settings(prometheus_url=PROD), None)
    assert list(alone.tool_spec["inputSchema"]["json"]["properties"]) == ["query"]


def test_a_call_spanning_two_prometheus_servers_without_cluster_is_refused_with_metrics_words() -> None:
    tool = specialist(settings(), fleet(prod=PROD, staging=STAGING))
    text = ask(tool, scope("prod", "staging"))
    assert text == (
        "Not asked: the clusters of this question (prod, staging) are served by different Prometheus servers: "
        "call metrics_assistant once per cluster, with `cluster` set to one of them, then compare the answers."
    )
    assert "AWS" not in text
    # the second line: a tool call routed over both clusters is refused in the same words, never picked
    route = tool.context.cluster_servers[METRICS.name].router(("prod", "staging"), None)
    assert route({"query": "up"}) == (
        "Not executed: this tool names no cluster, and the clusters of this call (prod, staging) are served "
        "by different Prometheus servers. Ask about one cluster at a time."
    )


def test_a_cluster_with_no_prometheus_is_refused_naming_the_key_to_set() -> None:
    tool = specialist(settings(), fleet(prod=PROD, dev=None))
    text = ask(tool, scope("prod", "dev"), cluster="dev")
    assert "no Prometheus is set for cluster dev" in text
    assert "`clusters.dev.prometheus_url` in CLUSTERS_FILE, or PROMETHEUS_URL" in text
    route = tool.context.cluster_servers[METRICS.name].router(("dev",), None)
    assert str(route({"query": "up"})).startswith("Not executed: no Prometheus is set for cluster dev")
