"""The MCP server: four reading tools over one Prometheus, each bounded before anything is sent.

`query` (an instant query), `query_range` (series over time), `list_metrics` (names with their type and
help) and `targets` (scrape health). Every one only reads, and says so in its annotations; every refusal
and every Prometheus error comes back as the tool's error text, for the model to correct its call.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations

from mcpservers.prometheus import results
from mcpservers.prometheus.client import Config, ConfigError, Prometheus
from mcpservers.prometheus.limits import check_query, clock, format_duration, iso, parse_time, plan_window

READ_ONLY = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
MAX_METRICS = 200
HELP_CHARS = 200


def build(config: Config) -> MCPServer:
    """The server over `config`'s Prometheus (a function, so tests can build one per configuration)."""
    prometheus = Prometheus(config)
    limits = config.limits
    timeout = {"timeout": format_duration(config.timeout)}  # Prometheus stops evaluating then, too
    level = os.environ.get("FASTMCP_LOG_LEVEL", "ERROR").upper()
    server: MCPServer = MCPServer(
        "prometheus-readonly",
        log_level=level if level in LOG_LEVELS else "ERROR",  # type: ignore[arg-type]
    )

    def with_warnings(head: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
        return {**head, "warnings": warnings} if warnings else head

    @server.tool(annotations=READ_ONLY, structured_output=False)
    def query(query: str, time: str | float = "now", top_k: int = limits.max_series) -> str:
        """Instant PromQL query: each series' value at `time` (now, now-1h, unix seconds, or RFC3339 with
        Z or an offset). Returns JSON: labels and value per series, the top_k highest (at most 20)."""
        text = check_query(query, limits)
        at = parse_time(time, "time", now=clock())  # not a whole second: the newest sample counts
        data, warnings = prometheus.get("query", {"query": text, "time": f"{at:.3f}", **timeout})
        kind = data.get("resultType")
        head = with_warnings({"query": text, "time": iso(at), "resultType": kind}, warnings)
        k = max(1, min(top_k, limits.max_series))
        if kind == "vector":
            return results.vector(data.get("result") or [], k, limits, head)
        if kind == "matrix":
            return results.matrix(data.get("result") or [], "last", k, limits, head)
        return results.scalar(data.get("result") or [at, "NaN"], head)

    @server.tool(annotations=READ_ONLY, structured_output=False)
    def query_range(
        query: str,
        start: str | float = "now-1h",
        end: str | float = "now",
        step: str = "",
        top_k: int = limits.default_range_series,
        rank_by: Literal["last", "max"] = "last",
    ) -> str:
        """Range PromQL query: series over time. start/end: now, now-6h, unix seconds, or RFC3339 with Z
        or an offset; at most 7d apart. step: 30s, 5m, 1h (default: about 60 points); at most 500
        points per series. Returns JSON per series: labels, first/last/min/max/avg and [unix seconds,
        value] points; only the top_k series (default 5, at most 20) by their last or max value."""
        text = check_query(query, limits)
        window = plan_window(start, end, step or None, limits)
        params = {
            "query": text,
            "start": f"{window.start:.3f}",
            "end": f"{window.end:.3f}",
            "step": f"{window.step:g}",
            **timeout,
        }
        data, warnings = prometheus.get("query_range", params)
        head = with_warnings(results.window_head(text, window.start, window.end, window.step), warnings)
        k = max(1, min(top_k, limits.max_series))
        return results.matrix(data.get("result") or [], rank_by, k, limits, head)

    @server.tool(annotations=READ_ONLY, structured_output=False)
    def list_metrics(match: str = "", limit: int = 50) -> str:
        """Metric names containing `match` (case-insensitive), with their type, unit and help text, in
        name order; at most `limit` (at most 200). Use it to find a metric before querying it."""
        names, _ = prometheus.get("label/__name__/values")
        wanted = match.strip().lower()
        found = [str(n) for n in names or [] if wanted in str(n).lower()]
        shown = found[: max(1, min(limit, MAX_METRICS))]
        metadata, _ = prometheus.get("metadata") if shown else ({}, [])
        rows = []
        for name in shown:
            meta = (metadata or {}).get(name) or [{}]
            rows.append(
                {
                    "name": name,
                    "type": meta[0].get("type", ""),
                    "unit": meta[0].get("unit", ""),
                    "help": str(meta[0].get("help", ""))[:HELP_CHARS],
                }
            )
        notes = []
        if len(found) > len(shown):
            notes.append(f"showing {len(shown)} of {len(found)} names: give a narrower match to see others")
        if not found:
            notes.append(f"no metric name contains {match!r}")
        document = {"match": match, "metrics": len(found), "shown": len(shown), "result": rows}
        return results.fit(document, notes, limits)

    @server.tool(annotations=READ_ONLY, structured_output=False)
    def targets(state: Literal["down", "all"] = "down", limit: int = 50) -> str:
        """Scrape targets with their job, instance, health and last scrape error: those not up (default)
        or all; at most `limit` (at most 200)."""
        data, _ = prometheus.get("targets", {"state": "active"})
        active = (data or {}).get("activeTargets") or []
        rows = [
            {
                "job": (t.get("labels") or {}).get("job", t.get("scrapePool", "")),
                "instance": (t.get("labels") or {}).get("instance", ""),
                "health": t.get("health", ""),
                "last_error": t.get("lastError", ""),
                "last_scrape": t.get("lastScrape", ""),
                "scrape_seconds": results.number(t.get("lastScrapeDuration", "NaN")),
            }
            for t in active
        ]
        down = [r for r in rows if r["health"] != "up"]
        chosen = sorted(
            down if state == "down" else rows, key=lambda r: (r["health"] == "up", r["job"], r["instance"])
        )
        shown = chosen[: max(1, min(limit, MAX_METRICS))]
        notes = [f"showing {len(shown)} of {len(chosen)} targets"] if len(chosen) > len(shown) else []
        document = {"active": len(rows), "down": len(down), "shown": len(shown), "result": shown}
        return results.fit(document, notes, limits)

    return server


def main() -> None:
    """Run over stdio with the configuration of this process's environment (and nothing else: no .env)."""
    try:
        config = Config.from_env(os.environ)
    except (ConfigError, ValueError) as exc:
        print(f"prometheus MCP server configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    build(config).run()
