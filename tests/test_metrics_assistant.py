"""`metrics_assistant` end to end: the coordinator routes a trend question to it, its model (scripted)
queries the real Prometheus through the real MCP server, and the answer carries Prometheus' numbers.

Only the model is scripted: the brains read the numbers out of the tool results, so a right number in
the answer came from Prometheus. Prometheus sits behind a front that requires the bearer token, so a
working answer proves the token was sent; it must never show in the model's requests, the answer, the
events or the audit log. Without PROMETHEUS_URL the capability is not offered, and help, doctor and the
coordinator say how to enable it.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from agents.capabilities import by_name, enabled
from agents.compose import load_settings
from agents.coordinator import Assistant, server_specs
from agents.events import AgentEvent, ChartReady, FinalAnswer
from agents.runner import ConversationRunner
from agents.state.sessions import FileSessionStore
from frontends.doctor import offer_checks, run_checks
from slackbot.handlers import ModeInfo, usage
from slackbot.renderer import Renderer
from tests.fakes.scripted_model import Brain, ScriptedModels, ToolCall, Turn
from tests.real_prometheus import AuthProxy, PrometheusWorld
from tests.slack_harness import running_bot

TOKEN = "prom-e2e-credential-7d41c2"  # shaped like no known token: only its exact text can find it
SELECTOR = 'demo_checkout_error_ratio{service="checkout"}'


@pytest.fixture
def metrics_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, prometheus: PrometheusWorld
) -> Iterator[AuthProxy]:
    """Settings as a user sets them for metrics only, Prometheus behind a front requiring the token."""
    proxy = AuthProxy(prometheus.prometheus.url, f"Bearer {TOKEN}")
    env = {
        "MODEL_PROVIDER": "openai",
        "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",  # never called: the models are scripted
        "MCP_SERVERS": "prometheus",
        "PROMETHEUS_URL": proxy.url,
        "PROMETHEUS_TOKEN": TOKEN,
        "MCP_LOG_DIR": str(tmp_path / "log"),
        "SESSION_STORAGE_PATH": str(tmp_path / "sessions"),
        "AUDIT_LOG_PATH": str(tmp_path / "audit.jsonl"),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    try:
        yield proxy
    finally:
        proxy.stop()


def coordinator(turn: Turn) -> str | ToolCall:
    """Routes every question to the metrics specialist and relays what it says."""
    if turn.tool_results:
        return "\n\n".join(turn.unfenced_results())
    return ToolCall("metrics_assistant", {"query": turn.user_text})


def trend_brain(start: int, selector: str = SELECTOR) -> Brain:
    """Queries the range, then answers with the numbers it read in the result, and the PromQL it ran."""

    def brain(turn: Turn) -> str | ToolCall:
        if not turn.tool_results:
            return ToolCall(
                "query_range", {"query": selector, "start": str(start), "end": "now", "step": "1s"}
            )
        data = json.loads(turn.unfenced_results()[-1])
        [series] = data["result"]
        return (
            f"The checkout error rate rose from {series['first']:.0%} to {series['last']:.0%} "
            f"(peak {series['max']:.0%}). Query: `{data['query']}` from {data['start']} to {data['end']}."
        )

    return brain


async def collect(events: Any) -> list[AgentEvent]:
    return [e async for e in events]


def seed_the_change(world: PrometheusWorld, service: str = "checkout") -> int:
    """The error ratio 2% for a few scrapes, then 15%; returns a start before the change (unix seconds)."""
    real, target = world.prometheus, world.target
    selector = f'demo_checkout_error_ratio{{service="{service}"}}'  # a series of its own per test
    target.set("demo_checkout_error_ratio", 0.02, service=service)
    since = real.wait_value(selector, 0.02)
    real.wait_for(f"count_over_time({selector}[1m])", lambda r: bool(r) and float(r[0]["value"][1]) >= 3)
    target.set("demo_checkout_error_ratio", 0.15, service=service)
    real.wait_value(selector, 0.15, whole_second=True)  # what a range ending "now" sees
    return int(since)


async def test_a_trend_question_is_answered_with_prometheus_numbers_and_the_promql_it_ran(
    metrics_env: AuthProxy, prometheus: PrometheusWorld
) -> None:
    start = seed_the_change(prometheus)
    models = ScriptedModels({"coordinator": coordinator, "metrics_assistant": trend_brain(start)})
    settings = load_settings()
    assistant = Assistant(settings, models=models)
    try:
        assert [c.name for c in assistant.capabilities] == ["metrics_assistant"]
        runner = ConversationRunner(assistant, FileSessionStore(settings.session_storage_path))
        events = await collect(runner.ask("is the checkout error rate up since this morning?", "M:1"))
    finally:
        assistant.close()
    final = [e for e in events if isinstance(e, FinalAnswer)][-1]
    assert "rose from 2% to 15% (peak 15%)" in final.text
    assert f"`{SELECTOR}`" in final.text
    [chart] = [e.chart for e in events if isinstance(e, ChartReady)]  # the series the answer read
    [series] = chart.series
    assert chart.query == SELECTOR and chart.total_series == 1
    assert {v for _, v in series.points} == {0.02, 0.15} and series.points[-1][1] == 0.15

    # the route, the specialist's tools and its prompt
    [asked] = models.models["coordinator"].requests[:1]
    assert (
        "Metrics and time series from Prometheus" in asked.system and "→ metrics_assistant." in asked.system
    )
    specialist = models.models["metrics_assistant"].requests[0]
    assert specialist.tools == ["query", "query_range", "list_metrics", "targets"]
    assert "the PromQL you ran" in specialist.system

    # the step lines show the PromQL that ran
    renderer = Renderer(reply=None)  # type: ignore[arg-type]  # apply() only builds the steps
    for event in events:
        renderer.apply(event)
    titles = [s.title for s in renderer.steps.values()]
    assert titles == [
        "Asking the metrics specialist: is the checkout error rate up since this morning?",
        f"Querying Prometheus, {start} to now, step 1s: {SELECTOR}",
    ]
    assert all(s.status == "complete" for s in renderer.steps.values())

    # the audit log has the call with its PromQL, as a read
    records = [json.loads(line) for line in settings.audit_log_path.read_text().splitlines()]
    [call] = [r for r in records if r["event"] == "tool_call" and r["tool"] == "query_range"]
    assert call["arguments"]["query"] == SELECTOR and call["access"] == "read"

    # the token went to Prometheus, and nowhere else
    assert {s.authorization for s in metrics_env.seen} == {f"Bearer {TOKEN}"}
    seen_by_models = [
        text
        for model in models.models.values()
        for turn in model.requests
        for text in (turn.system, turn.user_text, *turn.tool_results, *turn.history)
    ]
    assert not [t for t in seen_by_models if TOKEN in t]
    assert TOKEN not in settings.audit_log_path.read_text()
    assert not [e for e in events if TOKEN in repr(e)]


async def test_in_slack_the_trend_answer_is_followed_by_its_chart_in_the_thread(
    metrics_env: AuthProxy, prometheus: PrometheusWorld, tmp_path: Path
) -> None:
    start = seed_the_change(prometheus, "cart")
    selector = 'demo_checkout_error_ratio{service="cart"}'
    models = ScriptedModels({"coordinator": coordinator, "metrics_assistant": trend_brain(start, selector)})
    async with running_bot(models, tmp_path) as h:
        event = h.slack.mention("is the checkout error rate up since this morning?")
        await asyncio.to_thread(h.slack.send_event, event)
        replies = await h.final_reply("C1", event["ts"])
        [upload] = h.slack.shared_files("C1", event["ts"])
    assert "rose from 2% to 15% (peak 15%)" in replies[0].final_text
    assert upload.content.startswith(b"\x89PNG\r\n\x1a\n") and upload.thread_ts == event["ts"]
    with Image.open(io.BytesIO(upload.content)) as image:
        assert image.format == "PNG" and image.width >= 600
    comment = replies[-1].text  # the chart's message comes after the answer
    assert selector in comment
    assert "1 series" in comment and TOKEN not in comment


async def test_a_bad_promql_reaches_the_model_as_prometheus_own_error_and_it_corrects_the_query(
    metrics_env: AuthProxy, prometheus: PrometheusWorld
) -> None:
    prometheus.target.set("demo_checkout_error_ratio", 0.04, service="payments")
    prometheus.prometheus.wait_value('demo_checkout_error_ratio{service="payments"}', 0.04)
    own = json.loads(_direct_error(prometheus, 'demo_checkout_error_ratio{service="payments"'))

    def brain(turn: Turn) -> str | ToolCall:
        if not turn.tool_results:
            return ToolCall("query", {"query": 'demo_checkout_error_ratio{service="payments"'})
        last = turn.unfenced_results()[-1]
        if "parse error" in last:
            return ToolCall("query", {"query": 'demo_checkout_error_ratio{service="payments"}'})
        value = json.loads(last)["result"][0]["value"]
        return f"The payments error rate is {value:.0%} now."

    models = ScriptedModels({"coordinator": coordinator, "metrics_assistant": brain})
    settings = load_settings()
    assistant = Assistant(settings, models=models)
    try:
        runner = ConversationRunner(assistant, FileSessionStore(settings.session_storage_path))
        events = await collect(runner.ask("what is the payments error rate?", "M:2"))
    finally:
        assistant.close()
    assert "The payments error rate is 4% now." in [e for e in events if isinstance(e, FinalAnswer)][-1].text
    corrected = models.models["metrics_assistant"].requests[1]
    assert own["error"] in corrected.tool_results[0] and own["errorType"] in corrected.tool_results[0]


def _direct_error(world: PrometheusWorld, promql: str) -> str:
    import urllib.error

    try:
        world.prometheus.get("/api/v1/query", {"query": promql})
    except urllib.error.HTTPError as exc:
        return str(exc.read().decode())
    raise AssertionError(f"{promql} was accepted")


def test_without_a_url_it_is_not_offered_and_help_doctor_and_the_coordinator_say_how(
    agent_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = load_settings()
    assert "prometheus" in settings.enabled_servers  # on by default: the URL is the switch
    assert [c.name for c in enabled(settings)] == ["eks_assistant", "finops_assistant"]
    assert "prometheus" not in [s.name for s in server_specs(settings)]
    models = ScriptedModels({"coordinator": coordinator})
    assistant = Assistant(settings, servers=_no_servers(), models=models)
    try:
        assert "metrics_assistant" not in [s.tool_name for s in assistant.specialists]
        prompt = assistant.system_prompt()
        assert (
            "Metrics and time series from Prometheus" in prompt
            and "not set up here (PROMETHEUS_URL is not set" in prompt
        )
    finally:
        assistant.close()

    capability = by_name("metrics_assistant")
    assert capability is not None
    why = capability.not_offered(settings)
    assert why is not None and "PROMETHEUS_URL" in why
    help_text = usage(ModeInfo("c", "read-only", "m", ("Kubernetes/EKS",), (f"{capability.title}: {why}",)))
    assert "*Not set up*: Metrics (Prometheus): PROMETHEUS_URL is not set" in help_text

    monkeypatch.setenv("MCP_SERVERS", "prometheus")
    checks = run_checks(load_settings(), lambda s: Assistant(s, models=_model_ok(), servers=_no_servers()))
    [skipped] = [c for c in checks if c.name == "mcp server prometheus"]
    assert (
        skipped.status == "SKIP"
        and "Metrics (Prometheus) is not offered: PROMETHEUS_URL is not set" in skipped.detail
    )

    monkeypatch.setenv("PROMETHEUS_URL", "http://prometheus.monitoring:9090")
    assert [c.name for c in enabled(load_settings())] == ["metrics_assistant"]
    monkeypatch.setenv("MCP_SERVERS", "eks,billing")  # MCP_SERVERS can still leave it out
    assert "metrics_assistant" not in [c.name for c in enabled(load_settings())]
    [left_out] = offer_checks(load_settings())  # and doctor asks whether that was meant
    assert left_out.status == "WARN" and "MCP_SERVERS (eks,billing) leaves prometheus out" in left_out.detail


def _no_servers() -> Any:
    from agents.mcp.servers import McpServers

    return McpServers([])


def _model_ok() -> ScriptedModels:
    return ScriptedModels({"coordinator": lambda turn: "OK"})


def test_doctor_queries_prometheus_with_the_settings_credentials(
    metrics_env: AuthProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    checks = run_checks(load_settings(), lambda s: Assistant(s, models=_model_ok()))
    [server] = [c for c in checks if c.name == "mcp server prometheus"]
    assert (
        server.status == "OK"
        and "4 tools offered: list_metrics, query, query_range, targets" in server.detail
    )
    [probe] = [c for c in checks if c.name == "prometheus"]
    assert probe.status == "OK" and probe.detail.startswith("query count(up) answered")

    monkeypatch.setenv("PROMETHEUS_TOKEN", "a-wrong-token-1234")
    checks = run_checks(load_settings(), lambda s: Assistant(s, models=_model_ok()))
    [probe] = [c for c in checks if c.name == "prometheus"]
    assert probe.status == "FAIL" and "refused the request with the bearer token" in probe.detail
    assert "a-wrong-token-1234" not in probe.detail and "Check PROMETHEUS_TOKEN" in probe.fix


def test_the_credential_is_in_the_prometheus_server_alone(
    agent_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Only the Prometheus server's process gets the token; it gets no AWS keys, and -I keeps the
    current folder off its import path."""
    monkeypatch.setenv("PROMETHEUS_URL", "https://prometheus.example:9090/prom")
    monkeypatch.setenv("PROMETHEUS_TOKEN", TOKEN)
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.setenv("PROMETHEUS_CA_FILE", "ca.pem")
    settings = load_settings()
    environ = {
        "PATH": "/usr/bin",
        "AWS_SECRET_ACCESS_KEY": "aws-secret",
        "SLACK_BOT_TOKEN": "xoxb-1",
        "LANG": "C",
    }
    specs = {s.name: s for s in server_specs(settings, environ)}
    assert set(specs) == {"eks", "billing", "prometheus"}
    prom = specs["prometheus"]
    assert prom.env["PROMETHEUS_TOKEN"] == TOKEN and prom.env["PROMETHEUS_CA_FILE"] == str(ca.resolve())
    assert prom.env["PROMETHEUS_URL"] == "https://prometheus.example:9090/prom"
    assert not {"AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "SLACK_BOT_TOKEN"} & set(prom.env)
    assert prom.args == ["-I", "-m", "mcpservers.prometheus"]
    assert int(prom.env["PROMETHEUS_MAX_RESULT_CHARS"]) < settings.tool_result_max_chars
    for other in ("eks", "billing"):
        assert not [k for k, v in specs[other].env.items() if k.startswith("PROMETHEUS") or v == TOKEN]
    assert TOKEN not in repr(settings)  # a SecretStr: no log line or traceback shows it


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("PROMETHEUS_URL", "prometheus:9090", "expected the http(s) base URL of Prometheus"),
        ("PROMETHEUS_URL", "http://bob:hunter2@prometheus:9090", "must not hold credentials"),
        ("PROMETHEUS_CA_FILE", "/no/such/ca.pem", "no readable file at /no/such/ca.pem"),
        ("PROMETHEUS_PASSWORD", "pw", "required with PROMETHEUS_PASSWORD"),
    ],
)
def test_a_wrong_prometheus_setting_is_one_line(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, words: str
) -> None:
    monkeypatch.setenv("MODEL_PROVIDER", "ollama")
    monkeypatch.setenv("MCP_SERVERS", "prometheus")
    monkeypatch.setenv("PROMETHEUS_URL", "http://prometheus:9090")
    monkeypatch.setenv(variable, value)
    with pytest.raises(Exception, match=re.escape(words)) as raised:
        load_settings()
    assert "hunter2" not in str(raised.value)


def test_step_lines_name_the_promql_window_and_step() -> None:
    from agents.stream import summarize_call

    long = 'sum by (pod) (rate(container_cpu_usage_seconds_total{namespace="checkout"}[5m]))'
    assert summarize_call("query", {"query": long}, "metrics_assistant") == f"Querying Prometheus: {long}"
    assert (
        summarize_call("query_range", {"query": "up", "start": "now-6h", "step": "5m"}, "metrics_assistant")
        == "Querying Prometheus, now-6h to now, step 5m: up"
    )
    assert summarize_call("list_metrics", {"match": "http"}, "metrics_assistant") == (
        "Looking up metric names containing http"
    )
    # another specialist's tool of the same name gets the generic wording
    assert (
        summarize_call("query", {"query": "up", "time": "now"}, "eks_assistant")
        == "Running query: query=up, time=now"
    )
    assert len(summarize_call("query", {"query": "x" * 500}, "metrics_assistant")) == 200
