"""Metrics: what the metrics specialist costs per model call, a chart's drawing time, and the MCP hop.

Side by side in one run:
1. the tool specs `metrics_assistant` sends with every model call, built as the bot builds them (its
   curated tools selected from the real `mcpservers.prometheus` server, started by the bot's `Assistant`),
   as characters / 4 (an estimate of tokens, not a tokenizer's count), plus its prompt;
2. `agents.charts.render.render_png` of 5 series × 500 points: median and p95 over the runs, and the
   first call (matplotlib's import and first draw) apart, in this process and in a fresh one with an
   empty MPLCONFIGDIR (a new container: matplotlib builds its font list first);
3. `query_range` through the MCP server (`call` on its open session: the MCP round trip, the server's own
   GET to Prometheus and its shaping) vs the same GET of `/api/v1/query_range` made directly (read and
   JSON-parsed), against one real Prometheus (Debian's binary, tests/real_prometheus.py), interleaved.
   Without the binary this part is skipped, saying so.
Run: `uv run python -m bench.metrics [--renders 20] [--calls 30]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

from agents.capabilities.metrics import METRICS
from agents.charts.data import chart_from_result
from agents.charts.model import Chart
from agents.compose import load_settings
from agents.coordinator import Assistant
from agents.specialists import select_tools
from bench.common import fake_world
from bench.mcp_overhead import spec_tokens
from mcpservers.prometheus.limits import Limits
from mcpservers.prometheus.results import matrix, window_head
from tests.fakes.brains import default_brains
from tests.fakes.scripted_model import ScriptedModels
from tests.real_prometheus import PROMETHEUS_BINARY, RealPrometheus, Target

SERIES, POINTS = 5, 500
T0 = 1764756000  # 2025-12-03T10:00:00Z
QUERY = 'sum by (pod) (container_memory_working_set_bytes{namespace="shop"})'
FIRST_CHART = """
import sys, time
sys.path.insert(0, {root!r})
from bench.metrics import bench_chart
from agents.charts.render import render_png
chart = bench_chart()
started = time.perf_counter()
render_png(chart)
print(time.perf_counter() - started)
"""


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, round(len(values) * 0.95) - 1)]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def bench_chart() -> Chart:
    """5 series × 500 points as the server writes them (results.matrix), read back by the chart parser."""
    series = [
        {
            "metric": {"pod": f"checkout-{i}", "namespace": "shop"},
            "values": [[T0 + j * 15, str((i + 1) * 2**28 + (j % 97) * 2**20)] for j in range(POINTS)],
        }
        for i in range(SERIES)
    ]
    head = window_head(QUERY, T0, T0 + (POINTS - 1) * 15, 15)
    text = matrix(series, "last", SERIES, Limits(max_result_chars=10**6), head)
    chart = chart_from_result(text)
    assert chart is not None and [len(s.points) for s in chart.series] == [POINTS] * SERIES
    return chart


def render_times(runs: int) -> tuple[float, list[float], float]:
    """(first call in this process, the next `runs`, first call in a fresh process with a new config dir)."""
    assert "matplotlib" not in sys.modules, "the first-call figure needs matplotlib not yet imported"
    from agents.charts.render import render_png

    chart = bench_chart()
    started = time.perf_counter()
    render_png(chart)
    first = time.perf_counter() - started
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        png = render_png(chart)
        times.append(time.perf_counter() - started)
    assert png.startswith(b"\x89PNG")
    config = tempfile.mkdtemp(prefix="bench-mplconfig-")
    root = str(Path(__file__).resolve().parent.parent)
    out = subprocess.run(
        [sys.executable, "-c", FIRST_CHART.format(root=root)],
        env={**os.environ, "MPLCONFIGDIR": config},
        capture_output=True,
        text=True,
        check=True,
    )
    shutil.rmtree(config, ignore_errors=True)
    return first, times, float(out.stdout.strip())


def seed(prometheus: RealPrometheus, target: Target) -> float:
    """5 series scraped every second; returns a time from which each has a sample."""
    for i in range(SERIES):
        target.set(
            "container_memory_working_set_bytes",
            float((i + 1) * 2**28),
            namespace="shop",
            pod=f"checkout-{i}",
        )
    result = prometheus.wait_for(
        "count(container_memory_working_set_bytes)", lambda r: bool(r) and float(r[0]["value"][1]) == SERIES
    )
    return float(int(float(result[0]["value"][0])) + 1)


def direct_get(url: str, params: dict[str, str]) -> int:
    with urllib.request.urlopen(
        f"{url}/api/v1/query_range?{urllib.parse.urlencode(params)}", timeout=10
    ) as r:
        body = r.read()
    data = json.loads(body)
    assert data["status"] == "success", data
    return len(body)


async def mcp_vs_direct(
    assistant: Assistant, url: str, start: float, calls: int
) -> tuple[list[float], list[float], int, int]:
    """Interleaved: (through the MCP server, direct GET, characters the tool returned, bytes of the GET)."""
    server = assistant.servers["prometheus"]
    # 300 steps of 1 s from the first sample (Prometheus answers steps after the last scrape from it, 5m lookback)
    args = {"query": QUERY, "start": str(start), "end": str(start + 299), "step": "1s"}
    params = {"query": QUERY, "start": str(start), "end": str(start + 299), "step": "1"}
    through: list[float] = []
    direct: list[float] = []
    chars = size = 0
    for i in range(calls + 3):  # the first 3: warm-up (connections, the server's first query)
        started = time.perf_counter()
        result = await server.call(f"bench-{i}", "query_range", args)
        took = time.perf_counter() - started
        assert result["status"] == "success", result
        chars = len(result["content"][0]["text"])
        started = time.perf_counter()
        size = await asyncio.to_thread(direct_get, url, params)
        took_direct = time.perf_counter() - started
        if i >= 3:
            through.append(took)
            direct.append(took_direct)
    return through, direct, chars, size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--renders", type=int, default=20, help="timed renders after the first")
    parser.add_argument("--calls", type=int, default=30, help="query_range calls each way")
    args = parser.parse_args()

    binary = shutil.which(PROMETHEUS_BINARY)
    workdir, kube = fake_world("metrics", MCP_SERVERS="prometheus", PROMETHEUS_URL="http://127.0.0.1:9")
    prometheus = target = None
    if binary:
        target = Target().start()
        prometheus = RealPrometheus(binary, workdir / "prometheus", {"demo": [target.address]})
        (workdir / "prometheus").mkdir()
        prometheus.start()
        os.environ["PROMETHEUS_URL"] = prometheus.url
    settings = load_settings()
    assistant = Assistant(settings, models=ScriptedModels(default_brains()))
    try:
        errors = assistant.start()
        if errors.get("prometheus"):
            raise SystemExit(f"the Prometheus MCP server did not start: {errors['prometheus']}")
        server = assistant.servers["prometheus"]
        tools = select_tools(METRICS, server, output_budget=settings.tool_result_max_chars)
        count, tool_tokens = spec_tokens(tools)
        prompt_tokens = len(METRICS.prompt.format(**assistant.prompt_values)) // 4
        first, renders, fresh = render_times(args.renders)
        through = direct = None
        if prometheus is not None and target is not None:
            start = seed(prometheus, target)
            through, direct, chars, size = asyncio.run(
                mcp_vs_direct(assistant, prometheus.url, start, args.calls)
            )
    finally:
        assistant.close()
        if prometheus is not None:
            prometheus.stop()
        if target is not None:
            target.stop()
        kube.stop()

    total = tool_tokens + prompt_tokens
    print("metrics_assistant per model call (estimated tokens = characters / 4):")
    print(
        f"  tool specs        : {count} tools ({', '.join(t.tool_name for t in tools)}), ~{tool_tokens:5d} tokens"
    )
    print(f"  specialist prompt : ~{prompt_tokens:5d} tokens")
    print(f"  together          : ~{total:5d} tokens (target ≤ 4000)")
    median_render = statistics.median(renders)
    print(f"\nchart of {SERIES} series × {POINTS} points (800×400 PNG):")
    print(
        f"  render            : median {ms(median_render)}  p95 {ms(p95(renders))}  (n={len(renders)}, target ≤ 300 ms)"
    )
    print(f"  first call        : {ms(first)}  (matplotlib's import and first draw, font list cached)")
    print(f"  first call, new   : {ms(fresh)}  (a fresh process with an empty MPLCONFIGDIR: font list built)")
    ok = total <= 4000 and median_render <= 0.300
    if through is None or direct is None:
        print(
            f"\nquery_range through MCP vs direct: skipped, no `{PROMETHEUS_BINARY}` binary (apt-get install -y prometheus)"
        )
    else:
        m_through, m_direct = statistics.median(through), statistics.median(direct)
        print(f"\nquery_range, {SERIES} series × 300 points, same real Prometheus, interleaved:")
        print(
            f"  through the MCP server : median {ms(m_through)}  p95 {ms(p95(through))}  (n={len(through)}, {chars} characters to the model)"
        )
        print(
            f"  direct HTTP GET + JSON : median {ms(m_direct)}  p95 {ms(p95(direct))}  (n={len(direct)}, {size} bytes from Prometheus)"
        )
        print(
            f"  ratio MCP / direct     : {m_through / m_direct:8.1f}x  (MCP adds {ms(m_through - m_direct).strip()})"
        )
    print(f"\ntargets (≤ 4k tokens, render ≤ 300 ms): {'met' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
