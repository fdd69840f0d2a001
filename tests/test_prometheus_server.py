"""The Prometheus MCP server (mcpservers/prometheus) against a real Prometheus, over real stdio.

A target the test serves holds known values that change; the server's answers must carry Prometheus'
own numbers (compared with a direct HTTP query to the same Prometheus), refuse what is too large before
sending anything (saying the smallest step that fits), show only the top k series with a note, and hand
on Prometheus' own error. It may only GET `/api/v1/…` paths of its URL, with the credential it was given,
never following a redirect, and it reads nothing of the bot (no `agents/`, no `.env`).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp.server.mcpserver.exceptions import ToolError

from agents.failures import classify_tool_error
from agents.mcp.servers import McpServer, ServerSpec
from mcpservers.prometheus.limits import Limits, parse_duration, parse_time, plan_window
from tests.real_prometheus import (
    AuthProxy,
    PrometheusWorld,
    RealPrometheus,
    free_port,
    make_tls,
    prometheus_binary,
    require_real,
    running,
)

ROOT = Path(__file__).resolve().parent.parent


def spec(url: str, log_dir: Path, **env: str) -> ServerSpec:
    """The server as the bot runs it (the bot's Python, -I: no current folder on sys.path)."""
    return ServerSpec(
        name="prometheus",
        command=sys.executable,
        args=["-I", "-m", "mcpservers.prometheus"],
        env={"PATH": os.defpath, "PROMETHEUS_URL": url, **env},
        log_file=log_dir / "prometheus-server.stderr.log",
    )


@pytest.fixture(scope="module")
def server(prometheus: PrometheusWorld, tmp_path_factory: pytest.TempPathFactory) -> Iterator[McpServer]:
    mcp = McpServer(spec(prometheus.prometheus.url, tmp_path_factory.mktemp("log")))
    mcp.start()
    yield mcp
    mcp.close()


async def call(server: McpServer, tool: str, **arguments: Any) -> tuple[str, str]:
    """(status, text) of one call."""
    result = await server.call("t", tool, arguments)
    return result["status"], "\n".join(str(b.get("text", "")) for b in result["content"])


async def answer(server: McpServer, tool: str, **arguments: Any) -> dict[str, Any]:
    status, text = await call(server, tool, **arguments)
    assert status == "success", text
    return dict(json.loads(text))


def direct(world: PrometheusWorld, path: str, **params: str) -> Any:
    """Prometheus' own answer over plain HTTP, to compare the server's numbers with."""
    try:
        return world.prometheus.get(f"/api/v1/{path}", params)
    except urllib.error.HTTPError as exc:
        return json.loads(exc.read())


# --- numbers ------------------------------------------------------------------------------------------


async def test_an_instant_query_returns_the_value_served_and_follows_its_change(
    prometheus: PrometheusWorld, server: McpServer
) -> None:
    prometheus.target.set("demo_temperature_celsius", 21.5, room="a")
    prometheus.prometheus.wait_value('demo_temperature_celsius{room="a"}', 21.5)
    first = await answer(server, "query", query='demo_temperature_celsius{room="a"}')
    assert [r["value"] for r in first["result"]] == [21.5]
    assert first["result"][0]["labels"]["room"] == "a" and first["series"] == 1

    prometheus.target.set("demo_temperature_celsius", 30.25, room="a")
    prometheus.prometheus.wait_value('demo_temperature_celsius{room="a"}', 30.25)
    second = await answer(server, "query", query='demo_temperature_celsius{room="a"}')
    assert [r["value"] for r in second["result"]] == [30.25]
    scalar = await answer(server, "query", query="2 * 21")
    assert (scalar["resultType"], scalar["value"]) == ("scalar", 42)


async def test_a_range_query_carries_prometheus_own_points_and_the_change(
    prometheus: PrometheusWorld, server: McpServer
) -> None:
    real, target = prometheus.prometheus, prometheus.target
    selector = 'demo_queue_depth{queue="q1"}'
    target.set("demo_queue_depth", 10, queue="q1")
    since = real.wait_value(selector, 10)
    real.wait_for(f"count_over_time({selector}[1m])", lambda r: bool(r) and float(r[0]["value"][1]) >= 3)
    target.set("demo_queue_depth", 50, queue="q1")
    changed = real.wait_value(selector, 50)
    real.wait_for(f"count_over_time({selector}[1m])", lambda r: bool(r) and float(r[0]["value"][1]) >= 6)
    start, end = int(since), int(time.time())

    got = await answer(server, "query_range", query=selector, start=str(start), end=str(end), step="1s")
    [series] = got["result"]
    assert (series["first"], series["last"], series["min"], series["max"]) == (10, 50, 10, 50)
    values = [v for _, v in series["points"]]
    assert set(values) == {10, 50} and values == sorted(values)  # 10 until the change, then 50
    assert series["max_at"] >= time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(changed)))
    own = direct(prometheus, "query_range", query=selector, start=str(start), end=str(end), step="1")
    [expected] = own["data"]["result"]
    assert series["points"] == [[int(float(t)), int(float(v))] for t, v in expected["values"]]
    assert got["step"] == "1s" and got["start"].endswith("Z")


async def test_only_the_top_k_series_come_back_with_a_note_saying_k_of_n(
    prometheus: PrometheusWorld, server: McpServer
) -> None:
    real, target = prometheus.prometheus, prometheus.target
    for i in range(1, 13):
        target.set("demo_pod_memory_bytes", i * 1048576, pod=f"p{i}")
    real.wait_for("count(demo_pod_memory_bytes)", lambda r: bool(r) and r[0]["value"][1] == "12")
    got = await answer(server, "query", query="demo_pod_memory_bytes", top_k=3)
    assert [r["labels"]["pod"] for r in got["result"]] == ["p12", "p11", "p10"]
    assert [r["value"] for r in got["result"]] == [12582912, 11534336, 10485760]  # bytes stay exact
    assert (got["series"], got["shown"]) == (12, 3)
    assert "showing the 3 of 12 series with the highest value" in got["note"]
    assert got["labels_common"]["__name__"] == "demo_pod_memory_bytes"  # said once, not per series


async def test_range_series_rank_by_their_last_or_their_max_value(
    prometheus: PrometheusWorld, server: McpServer
) -> None:
    """A series that spiked and came down is first by max, not by last."""
    real, target = prometheus.prometheus, prometheus.target
    target.set("demo_latency_seconds", 5, svc="spiky")
    target.set("demo_latency_seconds", 3, svc="steady")
    since = real.wait_value('demo_latency_seconds{svc="spiky"}', 5)
    target.set("demo_latency_seconds", 1, svc="spiky")
    real.wait_value('demo_latency_seconds{svc="spiky"}', 1, whole_second=True)  # what a range to now sees
    window = {"query": "demo_latency_seconds", "start": str(int(since)), "end": "now", "step": "1s"}
    by_last = await answer(server, "query_range", top_k=1, **window)
    by_max = await answer(server, "query_range", top_k=1, rank_by="max", **window)
    assert [r["labels"]["svc"] for r in by_last["result"]] == ["steady"]
    assert [r["labels"]["svc"] for r in by_max["result"]] == ["spiky"] and by_max["result"][0]["max"] == 5
    assert "showing the 1 of 2 series with the highest max value" in by_max["note"]


# --- bounds -------------------------------------------------------------------------------------------


@pytest.fixture
def recorded(prometheus: PrometheusWorld, tmp_path: Path) -> Iterator[tuple[McpServer, AuthProxy]]:
    """The server behind a recording front of the real Prometheus that requires a bearer token."""
    proxy = AuthProxy(prometheus.prometheus.url, "Bearer prom-test-credential-4242")
    mcp = McpServer(spec(proxy.url, tmp_path, PROMETHEUS_TOKEN="prom-test-credential-4242"))
    try:
        yield mcp, proxy
    finally:
        mcp.close()
        proxy.stop()


async def test_too_many_points_or_too_long_a_range_is_refused_before_anything_is_sent(
    recorded: tuple[McpServer, AuthProxy],
) -> None:
    server, proxy = recorded
    status, text = await call(server, "query_range", query="up", start="1000000", end="1003600", step="1s")
    assert status == "error"
    assert "3601 points per series" in text and "more than the limit of 500" in text
    assert "use a step of at least 8s" in text
    status, text = await call(server, "query_range", query="up", start="now-30d", end="now")
    assert status == "error" and "is 30d; the longest allowed is 7d" in text
    status, text = await call(server, "query", query="x" * 4001)
    assert status == "error" and "the limit is 4000" in text
    assert proxy.seen == []  # refused in the server: Prometheus was never asked

    status, text = await call(server, "query_range", query="up", start="1000000", end="1003600", step="8s")
    assert status == "success", text  # the step it named fits
    assert [s.method for s in proxy.seen] == ["GET"]


async def test_a_result_larger_than_its_limit_keeps_summaries_and_says_what_was_left_out(
    prometheus: PrometheusWorld, tmp_path: Path
) -> None:
    # eight series with a point every second whatever was scraped: vector() is evaluated at every step
    wide = " or ".join(f'label_replace(vector({i}), "shard", "s{i}", "", "")' for i in range(1, 9))
    mcp = McpServer(spec(prometheus.prometheus.url, tmp_path, PROMETHEUS_MAX_RESULT_CHARS="3000"))
    try:
        status, text = await call(mcp, "query_range", query=wide, start="now-1m", step="1s", top_k=8)
    finally:
        mcp.close()
    assert status == "success" and len(text) <= 3000
    got = json.loads(text)
    assert [s["last"] for s in got["result"]] == list(range(8, 8 - got["shown"], -1))  # summaries stay
    assert "points" in got["result"][0] and len(got["result"][0]["points"]) == 61  # the top one keeps them
    assert "points" not in got["result"][-1]  # the lowest-ranked lose theirs first
    assert "points left out for the last" in got["note"] and "use a larger step than 1s" in got["note"]


# --- Prometheus' own words ------------------------------------------------------------------------------


async def test_a_bad_query_comes_back_as_prometheus_own_error(
    prometheus: PrometheusWorld, server: McpServer
) -> None:
    own = direct(prometheus, "query", query="rate(up[")
    assert own["status"] == "error"
    status, text = await call(server, "query", query="rate(up[")
    assert status == "error"
    assert own["error"] in text and own["errorType"] in text  # e.g. bad_data: 1:9: parse error: ...
    status, text = await call(server, "query_range", query="sum(", start="now-5m")
    assert status == "error" and "parse error" in text and "bad_data" in text


async def test_metric_names_and_down_targets_are_listed_with_their_details(
    prometheus: PrometheusWorld, server: McpServer
) -> None:
    real, target = prometheus.prometheus, prometheus.target
    target.set("demo_requests_total", 7, kind="counter", help="Requests served.", code="200")
    real.wait_value('demo_requests_total{code="200"}', 7)
    real.wait_for('up{job="gone"}', lambda r: bool(r) and r[0]["value"][1] == "0")
    metrics = await answer(server, "list_metrics", match="DEMO_REQUESTS")
    assert metrics["result"] == [
        {"name": "demo_requests_total", "type": "counter", "unit": "", "help": "Requests served."}
    ]
    none = await answer(server, "list_metrics", match="no_such_metric_anywhere")
    assert none["metrics"] == 0 and "no metric name contains" in none["note"]
    down = await answer(server, "targets")
    assert [(t["job"], t["health"]) for t in down["result"]] == [("gone", "down")]
    assert "connection refused" in down["result"][0]["last_error"] and down["active"] == 2
    every = await answer(server, "targets", state="all")
    assert sorted(t["job"] for t in every["result"]) == ["demo", "gone"]


# --- where it goes, with what ----------------------------------------------------------------------------


async def test_only_gets_to_api_paths_with_the_bearer_token(recorded: tuple[McpServer, AuthProxy]) -> None:
    server, proxy = recorded
    await answer(server, "query", query="up")
    await answer(server, "query_range", query="up", start="now-2m")
    await answer(server, "list_metrics", match="up")
    await answer(server, "targets")
    assert len(proxy.seen) == 5
    assert {s.method for s in proxy.seen} == {"GET"}
    assert all(urllib.parse.urlsplit(s.path).path.startswith("/api/v1/") for s in proxy.seen)
    assert {s.authorization for s in proxy.seen} == {"Bearer prom-test-credential-4242"}


async def test_refused_credentials_and_an_unreachable_url_are_said_as_such(
    prometheus: PrometheusWorld, tmp_path: Path
) -> None:
    proxy = AuthProxy(prometheus.prometheus.url, "Bearer the-right-one-0000")
    wrong = McpServer(spec(proxy.url, tmp_path, PROMETHEUS_TOKEN="not-the-right-one"))
    gone = McpServer(spec(f"http://127.0.0.1:{free_port()}", tmp_path))
    try:
        status, text = await call(wrong, "query", query="up")
        assert status == "error" and "with the bearer token of PROMETHEUS_TOKEN" in text
        assert "not-the-right-one" not in text and classify_tool_error(text) == "credentials"
        status, text = await call(gone, "query", query="up")
        assert status == "error" and "could not be reached" in text and "Connection refused" in text
        assert classify_tool_error(text) == "unreachable"
    finally:
        wrong.close()
        gone.close()
        proxy.stop()


async def test_a_redirect_is_not_followed(prometheus: PrometheusWorld, tmp_path: Path) -> None:
    elsewhere = AuthProxy(prometheus.prometheus.url, None)
    redirecting = AuthProxy(prometheus.prometheus.url, None, redirect_to=elsewhere.url)
    mcp = McpServer(spec(redirecting.url, tmp_path, PROMETHEUS_TOKEN="prom-test-credential-4242"))
    try:
        status, text = await call(mcp, "query", query="up")
    finally:
        mcp.close()
        redirecting.stop()
        elsewhere.stop()
    assert status == "error" and "redirect (HTTP 302)" in text and "not followed" in text
    assert len(redirecting.seen) == 1 and elsewhere.seen == []  # the token went nowhere else


# A bcrypt hash of "sre-bot-test-password" (Prometheus' web config wants hashes; made once with crypt).
PASSWORD_HASH = "$2b$04$aHO6CA6P5GgDHG7aClV2fOkN7uHt9BpHdLVtdiZPS3WCAz1qXpO/e"


@pytest.fixture(scope="module")
def tls_prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RealPrometheus, Path]]:
    """A second real Prometheus serving HTTPS with a certificate of a private CA, and basic auth."""
    import base64
    import ssl

    binary = prometheus_binary()
    workdir = tmp_path_factory.mktemp("prometheus-tls")
    ca, cert, key = make_tls(workdir)
    web = workdir / "web.yml"
    web.write_text(
        json.dumps(
            {
                "tls_server_config": {"cert_file": str(cert), "key_file": str(key)},
                "basic_auth_users": {"alice": PASSWORD_HASH},
            }
        )
    )
    basic = "Basic " + base64.b64encode(b"alice:sre-bot-test-password").decode()
    context = ssl.create_default_context(cafile=str(ca))
    real = RealPrometheus(binary, workdir, {}, web_config=web, client_context=context, authorization=basic)
    with running(real):
        yield real, ca


async def test_https_with_a_ca_file_and_basic_auth(
    tls_prometheus: tuple[RealPrometheus, Path], tmp_path: Path
) -> None:
    real, ca = tls_prometheus
    auth = {"PROMETHEUS_USERNAME": "alice", "PROMETHEUS_PASSWORD": "sre-bot-test-password"}
    good = McpServer(spec(real.url, tmp_path, PROMETHEUS_CA_FILE=str(ca), **auth))
    no_ca = McpServer(spec(real.url, tmp_path, **auth))
    bad_password = McpServer(
        spec(
            real.url,
            tmp_path,
            PROMETHEUS_CA_FILE=str(ca),
            PROMETHEUS_USERNAME="alice",
            PROMETHEUS_PASSWORD="nope",
        )
    )
    try:
        got = await answer(good, "query", query="vector(7)")
        assert [r["value"] for r in got["result"]] == [7]
        status, text = await call(no_ca, "query", query="vector(7)")
        assert status == "error" and "certificate verify failed" in text and "PROMETHEUS_CA_FILE" in text
        status, text = await call(bad_password, "query", query="vector(7)")
        assert status == "error" and "as PROMETHEUS_USERNAME alice" in text and "nope" not in text
        assert classify_tool_error(text) == "credentials"
    finally:
        for mcp in (good, no_ca, bad_password):
            mcp.close()


# --- nothing of the bot ----------------------------------------------------------------------------------


def test_the_server_imports_nothing_of_the_bot_and_loads_no_env_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("PROMETHEUS_TOKEN=from-a-dot-env\n")
    probe = (
        "import sys, os, mcpservers.prometheus.server as s\n"
        "from mcpservers.prometheus.client import Config\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('agents', 'slackbot', 'frontends', 'dotenv'))\n"
        "print(bad, Config.from_env(os.environ).authorization)\n"
    )
    out = subprocess.run(
        [sys.executable, "-I", "-c", probe],
        cwd=tmp_path,
        env={"PATH": os.defpath, "PROMETHEUS_URL": "http://127.0.0.1:9"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "[] None"


def test_a_url_with_credentials_stops_the_server_with_a_clear_line(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-I", "-m", "mcpservers.prometheus"],
        env={"PATH": os.defpath, "PROMETHEUS_URL": "http://bob:hunter2@prometheus:9090"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 2
    assert "PROMETHEUS_URL must not hold credentials" in out.stderr and "hunter2" not in out.stderr


# --- the bounds' arithmetic ------------------------------------------------------------------------------


def test_times_and_durations_as_a_model_writes_them() -> None:
    now = 1_800_000_000.0
    assert parse_time("now", "t", now) == now
    assert parse_time("now-1h30m", "t", now) == now - 5400
    assert parse_time(" now - 15m ", "t", now) == now - 900
    eight = dt.datetime(2027, 1, 15, 8, tzinfo=dt.UTC).timestamp()
    assert parse_time("2027-01-15T08:00:00Z", "t", now) == eight
    assert parse_time("2027-01-15T10:00:00+02:00", "t", now) == eight
    assert parse_time(str(int(eight)), "t", now) == parse_time(int(eight), "t", now) == eight
    for bad, words in (
        ("2027-01-15T08:00:00", "has no time zone"),
        ("1799996400000", "looks like milliseconds"),
        ("yesterday", "is not a time"),
        ("now-5 minutes", "is not a time"),
        ("now-5min", "is not a duration"),
    ):
        with pytest.raises(ToolError, match=words):
            parse_time(bad, "start", now)
    assert parse_duration("1h30m") == 5400 and parse_duration("500ms") == 0.5 and parse_duration("90") == 90
    with pytest.raises(ToolError, match="positive"):
        parse_duration("0s")


def test_the_default_step_reads_a_trend_and_the_smallest_step_fits() -> None:
    limits = Limits()
    now = 1_800_000_000.0
    hour = plan_window("now-1h", "now", None, limits, now)
    assert hour.step == 60 and hour.points == 61  # about 60 points, on whole minutes
    week = plan_window("now-7d", "now", None, limits, now)
    assert week.step == 10800 and week.points <= limits.max_points
    with pytest.raises(ToolError, match="at least 2m54s") as refused:
        plan_window("now-1d", "now", "1m", limits, now)
    smallest = parse_duration(str(refused.value).split("(")[-1].split(" seconds")[0])
    assert plan_window("now-1d", "now", f"{smallest:g}s", limits, now).points <= limits.max_points
    with pytest.raises(ToolError, match=r"end .* must be after start"):
        plan_window("now", "now-1h", None, limits, now)


def test_a_missing_real_component_is_skipped_but_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="Prometheus is missing: install"):
        require_real("Prometheus", "install it")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="missing and CI=true"):
        require_real("Prometheus", "install it")


def test_raw_samples_of_an_instant_range_selector_are_cut_to_the_points_limit() -> None:
    from mcpservers.prometheus.results import matrix

    samples = [{"metric": {"pod": "a"}, "values": [[1000 + i, str(i)] for i in range(600)]}]
    got = json.loads(matrix(samples, "last", 5, Limits(), {"query": "x[10m]"}))
    [series] = got["result"]
    assert len(series["points"]) == 500 and series["points"][-1] == [1599, 599]
    assert (series["first"], series["min"], series["max"]) == (0, 0, 599)  # the summary counts all
    assert "only the last 500 raw samples of 1 series are listed" in got["note"]
