"""Metrics: `metrics_assistant` over the project's own read-only Prometheus MCP server (mcpservers/).

Offered only when PROMETHEUS_URL is set, or a cluster of the fleet file has its own `prometheus_url`:
then each distinct URL gets a process of its own (agents/mcp/pool.py), a cluster without one uses
PROMETHEUS_URL, and the credentials are the same global settings for every one. The server runs with the bot's Python as a process of its own;
its environment is built here from the Prometheus settings and only what reaching Prometheus needs (path,
locale, proxies, trust store): the Prometheus credential is in that process alone, and no AWS or Slack
credential is in it. Why our own server and not one from PyPI: README, "Metrics".
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from agents.capabilities.base import ASK_AGAIN, TELL_ADMIN, Capability, PerCluster
from agents.charts.data import chart_from_result
from agents.charts.model import Chart
from agents.mcp.output import UNTRUSTED_RULE
from agents.mcp.servers import NETWORK_ENV, ServerSpec

if TYPE_CHECKING:
    from agents.fleet.config import ClusterConfig
    from agents.settings import Settings

MODULE = "mcpservers.prometheus"
TOOLS = ("query", "query_range", "list_metrics", "targets")
# From the bot's environment, what reaching Prometheus needs; nothing else (no AWS, Slack or model keys).
BASE_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", *NETWORK_ENV)
FENCE_ROOM = 300  # of TOOL_RESULT_MAX_CHARS, for the untrusted-data fence and a redaction marker or two
ENABLE = (
    "PROMETHEUS_URL is not set: the bot's admin sets it to the Prometheus base URL (such as "
    "`http://prometheus.monitoring:9090`) to enable questions about metrics (with CLUSTERS_FILE, or "
    "sets `prometheus_url` for each cluster there)"
)

PROMPT = (
    """You are metrics_assistant, a Prometheus expert helping an on-call SRE. Today is {today}; times are UTC.
How to work:
- Unsure of a metric's name? Find it with list_metrics first, then query it.
- A value now: query. A trend, a change, before/after a time: query_range over the period asked (start
  and end like now-6h, or RFC3339 with Z); compare the numbers before and after.
- Counters need rate(x[5m]); aggregate with sum by (label) so few series come back; only the top series
  are returned (top_k), and a note says how many there were.
- A refusal for size says what fits (a step of at least ..., a shorter range): follow it. A Prometheus
  error quotes Prometheus: fix the PromQL from it and try again, at most twice.
- Answer in short Markdown: the finding with numbers and units first (seconds, bytes as MiB/GiB, ratios as
  %, rates per second), then the PromQL you ran in backticks and the time range.
"""
    + UNTRUSTED_RULE
)


def unconfigured(settings: Settings) -> str | None:
    return None if settings.prometheus_url else ENABLE


def result_chars(settings: Settings) -> int:
    """The server's own result limit: what the model may see, less the room the fence takes."""
    return max(2000, settings.tool_result_max_chars - FENCE_ROOM)


def cluster_url(settings: Settings, cluster: ClusterConfig) -> str | None:
    """The Prometheus of a fleet cluster: its own `prometheus_url`, else PROMETHEUS_URL (None: neither)."""
    return cluster.prometheus_url or settings.prometheus_url


def no_url(cluster: str) -> str:
    return (
        f"no Prometheus is set for cluster {cluster}: the bot's admin sets `clusters.{cluster}.prometheus_url` "
        "in CLUSTERS_FILE, or PROMETHEUS_URL for every cluster without one"
    )


def server_spec(settings: Settings, base: Mapping[str, str], common: Mapping[str, str]) -> ServerSpec:
    """The server of PROMETHEUS_URL (no fleet file, or a cluster without its own URL)."""
    return instance_spec(settings, base, common, settings.prometheus_url or "")


def instance_spec(
    settings: Settings, base: Mapping[str, str], common: Mapping[str, str], url: str
) -> ServerSpec:
    """`python -I -m mcpservers.prometheus` for one Prometheus (-I: neither the current folder nor
    PYTHON* variables count). PROMETHEUS_URL's is `prometheus`; another URL's is `prometheus-<host>-<hash>`,
    with its own log file: the URL itself, which may carry a path, is no file name."""
    env = {name: base[name] for name in BASE_ENV if base.get(name)}
    env.setdefault("PATH", os.defpath)
    env.update(settings.prometheus_environment())
    if url:
        env["PROMETHEUS_URL"] = url
    env["PROMETHEUS_MAX_RESULT_CHARS"] = str(result_chars(settings))
    env["FASTMCP_LOG_LEVEL"] = settings.fastmcp_log_level
    name = "prometheus" if not url or url == settings.prometheus_url else f"prometheus-{url_slug(url)}"
    return ServerSpec(
        name=name,
        kind="prometheus",
        command=sys.executable,
        args=["-I", "-m", MODULE],
        env=env,
        log_file=settings.mcp_log_dir / f"{name}-server.stderr.log",
    )


def url_slug(url: str) -> str:
    """A short, unique, file-safe name for a URL: its host (cut) and a hash of the whole URL."""
    host = re.sub(r"[^a-z0-9]+", "-", (urlsplit(url).hostname or "").lower()).strip("-")[:20]
    return f"{host}-{hashlib.sha256(url.encode()).hexdigest()[:8]}".lstrip("-")


def step(tool: str, args: Mapping[str, Any]) -> str | None:
    """Step lines that show the PromQL that runs (what a person checks first when a number looks off)."""
    query = " ".join(str(args.get("query", "")).split())
    if tool == "query":
        at = args.get("time")
        return f"Querying Prometheus{f' at {at}' if at and at != 'now' else ''}: {query}"
    if tool == "query_range":
        window = f"{args.get('start', 'now-1h')} to {args.get('end', 'now')}"
        step_words = f", step {args['step']}" if args.get("step") else ""
        return f"Querying Prometheus, {window}{step_words}: {query}"
    if tool == "list_metrics":
        match = args.get("match")
        return f"Looking up metric names{f' containing {match}' if match else ''}"
    if tool == "targets":
        return "Checking Prometheus' scrape targets"
    return None


def chart(tool: str, text: str) -> Chart | None:
    """A range query's series are charted (a trend is seen faster than read); a value now is not."""
    return chart_from_result(text) if tool == "query_range" else None


METRICS = Capability(
    name="metrics_assistant",
    server="prometheus",
    title="Metrics (Prometheus)",
    server_title="Prometheus",
    asking="Asking the metrics specialist",
    route=(
        "Metrics and time series from Prometheus (error rates, latency, traffic, CPU/memory use over time, "
        "trends, before/after a time, what is near a limit)"
    ),
    description=(
        "Prometheus specialist: runs read-only PromQL queries (values now and over time ranges) and reads "
        "the series. Pass the user's question with the service, the metric if known and the time range."
    ),
    prompt=PROMPT,
    tools=TOOLS,
    server_spec=server_spec,
    per_cluster=PerCluster(
        cluster_url, instance_spec, differ="are served by different Prometheus servers", missing=no_url
    ),
    read_only_tools=frozenset(TOOLS),  # the server has no other kind of tool
    notes={
        "unreachable": (
            "Prometheus could not be reached.",
            ASK_AGAIN,
            "Check PROMETHEUS_URL (and PROMETHEUS_CA_FILE for https), the network and any proxy; "
            "`sre-bot doctor` tests it.",
        ),
        "credentials": (
            "Prometheus refused the bot's credentials.",
            TELL_ADMIN,
            "Check PROMETHEUS_TOKEN, or PROMETHEUS_USERNAME and PROMETHEUS_PASSWORD; `sre-bot doctor` tests it.",
        ),
    },
    unconfigured=unconfigured,
    step=step,
    probe=("query", {"query": "count(up)"}),
    chart=chart,
)
