"""An answer's chart reaches people: one per answer (the last range query's), after the answer, in its
thread through Slack's external upload flow, or as a file whose path the terminal prints.

The range results are made by the Prometheus server's own `results.matrix` and fenced as the model saw
them, so the answer's chart and the server's output cannot drift apart unnoticed.
"""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from agents.charts.model import Chart, Series
from agents.events import ChartReady, FinalAnswer
from agents.mcp.output import fence
from agents.redact import remember_secrets
from agents.turn import Answer
from frontends.terminal import print_chart, write_chart
from mcpservers.prometheus import results
from mcpservers.prometheus.limits import Limits
from slackbot.charts import share_chart
from slackbot.outbound import SafeWebClient
from slackbot.rate_budget import RateBudget
from slackbot.replies import ReplyTarget
from tests.fakes.slack_api import BOT_TOKEN, FakeSlack

PNG = b"\x89PNG\r\n\x1a\n"
T0 = 1_764_000_000


def range_result(query: str, values: list[float], tool: str = "query_range") -> str:
    """A query_range result as the model sees it: the server's JSON, fenced."""
    series = [
        {"metric": {"service": "checkout"}, "values": [[T0 + 60 * i, str(v)] for i, v in enumerate(values)]}
    ]
    head = results.window_head(query, T0, T0 + 60 * len(values), 60)
    return fence(results.matrix(series, "last", 5, Limits(), head), f"prometheus:{tool}")


def specialist_result(tool_id: str, text: str, status: str = "success") -> dict[str, Any]:
    """A raw Strands event: the metrics specialist's tool result, nested as the agent-as-tool adapter sends it."""
    result = {"toolResult": {"toolUseId": tool_id, "status": status, "content": [{"text": text}]}}
    return {
        "tool_stream_event": {
            "tool_use": {"name": "metrics_assistant"},
            "data": {"message": {"role": "user", "content": [result]}},
        }
    }


def specialist_call(tool_id: str, tool: str) -> dict[str, Any]:
    use = {"toolUseId": tool_id, "name": tool, "input": {"query": "q"}}
    return {
        "tool_stream_event": {
            "tool_use": {"name": "metrics_assistant"},
            "data": {"message": {"role": "assistant", "content": [{"toolUse": use}]}},
        }
    }


def run_answer(raw_events: list[dict[str, Any]]) -> list[Any]:
    answer = Answer("c1")
    events = [e for raw in raw_events for e in answer.events(raw)]
    answer.result = None
    return [*events, *answer.ending()]


def test_an_answer_ends_with_the_chart_of_its_last_range_query_only() -> None:
    events = run_answer(
        [
            specialist_call("a", "query_range"),
            specialist_result("a", range_result("first_query", [1, 2, 3])),
            specialist_call("b", "query"),  # a value now: not a trend
            specialist_result("b", range_result("instant_query", [4, 5]).replace("query_range", "query")),
            specialist_call("c", "query_range"),
            specialist_result("c", "<untrusted-data>bad_data: parse error</untrusted-data>", "error"),
            specialist_call("d", "query_range"),
            specialist_result("d", range_result("second_query", [0.02, 0.02, 0.15])),
            {"data": "The error rate rose."},
        ]
    )
    charts = [e for e in events if isinstance(e, ChartReady)]
    assert [c.chart.query for c in charts] == ["second_query"]
    assert isinstance(events[-1], FinalAnswer) and events[-2] is charts[0]  # after the text, before the end
    [series] = charts[0].chart.series
    assert [v for _, v in series.points] == [0.02, 0.02, 0.15]


def test_no_chart_when_no_range_query_worked() -> None:
    events = run_answer(
        [
            specialist_call("c", "query_range"),
            specialist_result("c", range_result("q", [1, 2]), "error"),
            {"data": "Prometheus refused the query."},
        ]
    )
    assert not [e for e in events if isinstance(e, ChartReady)]


# --- Slack ------------------------------------------------------------------------------------------------

CHART = Chart(
    query='sum(rate(http_requests_total{code=~"5.."}[5m])) <!here> `x`',
    start="2026-12-03T10:00:00Z",
    end="2026-12-03T11:00:00Z",
    step="1m",
    unit="",
    series=(Series('service="checkout"', tuple((T0 + 60.0 * i, float(i)) for i in range(30))),),
    total_series=7,
    common="",
)


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    fake = FakeSlack().start()
    try:
        yield fake
    finally:
        fake.stop()


async def test_the_chart_is_shared_into_the_thread_with_the_query_shown_inertly(slack: FakeSlack) -> None:
    client = SafeWebClient(token=BOT_TOKEN, base_url=slack.api_url)
    budget = RateBudget()
    assert await share_chart(client, budget, ReplyTarget("C1", "100.1"), CHART, "corr-1")
    [upload] = slack.shared_files("C1", "100.1")
    assert upload.content.startswith(PNG) and upload.filename.endswith(".png")
    [message] = slack.thread("C1", "100.1")
    assert "1 of 7 series" in message.text and "2026-12-03T10:00:00Z" in message.text
    assert "<!here>" not in message.text and "&lt;!here&gt;" in message.text  # shown, never a ping
    assert budget.granted["files.getUploadURLExternal"] == 1 == budget.granted["files.completeUploadExternal"]


async def test_no_secret_in_the_query_reaches_the_title_alt_text_or_comment(slack: FakeSlack) -> None:
    """The query may repeat what a workload wrote; redaction sees the chart's texts like any text sent."""
    token = "xoxb-123456789012-123456789012-abcdefghijklmnopqrstuvwx"
    remember_secrets(["odd shaped remembered secret"])
    hostile = replace(
        CHART, query=f'up{{t="{token}", p="odd shaped remembered secret"}} password=hunter2hunter2'
    )
    client = SafeWebClient(token=BOT_TOKEN, base_url=slack.api_url)
    assert await share_chart(client, RateBudget(), ReplyTarget("C1", "100.1"), hostile, "corr-4")
    [upload] = slack.shared_files("C1", "100.1")
    [message] = slack.thread("C1", "100.1")
    sent = " ".join(str(c.params) for c in slack.calls) + upload.title + upload.alt_txt + message.text
    for secret in (token, "odd shaped remembered secret", "hunter2hunter2"):
        assert secret not in sent
    assert upload.alt_txt.startswith("up{") and "[redacted]" in upload.alt_txt


async def test_a_missing_scope_is_said_in_the_thread_with_the_fix(slack: FakeSlack) -> None:
    slack.fail_next("files.getUploadURLExternal", status=200, error="missing_scope")
    client = SafeWebClient(token=BOT_TOKEN, base_url=slack.api_url)
    assert not await share_chart(client, RateBudget(), ReplyTarget("C1", "100.1"), CHART, "corr-2")
    [message] = slack.thread("C1", "100.1")
    assert "files:write" in message.text and "reinstalls" in message.text
    assert not slack.shared_files("C1", "100.1")


async def test_a_chart_that_cannot_be_drawn_is_said_with_a_reference(slack: FakeSlack) -> None:
    def broken(_chart: Chart) -> bytes:
        raise ValueError("no")

    client = SafeWebClient(token=BOT_TOKEN, base_url=slack.api_url)
    assert not await share_chart(client, RateBudget(), ReplyTarget("C1", "100.1"), CHART, "corr-3", broken)
    [message] = slack.thread("C1", "100.1")
    assert "could not be drawn" in message.text and "corr-3" in message.text


# --- the terminal -----------------------------------------------------------------------------------------


def test_the_terminal_writes_the_chart_to_a_new_private_file(tmp_path: Path) -> None:
    first, second = write_chart(CHART, tmp_path), write_chart(CHART, tmp_path)
    assert first != second and first.read_bytes().startswith(PNG)
    assert stat.S_IMODE(os.stat(first).st_mode) == 0o600


async def test_the_terminal_prints_where_the_chart_is_or_one_line_why_not(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    printed: list[str] = []
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    await print_chart(CHART, printed.append)
    [line] = printed
    written = Path(line.removeprefix("chart: ").strip())
    assert line.startswith("chart: ") and written.parent == tmp_path
    assert (await asyncio.to_thread(written.read_bytes)).startswith(PNG)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "missing"))
    printed.clear()
    await print_chart(CHART, printed.append)
    assert len(printed) == 1 and printed[0].startswith("warning: the chart could not be written")


def test_prepare_loads_matplotlib_ahead_of_the_first_chart() -> None:
    """Run in a fresh interpreter: this test process may have drawn a chart already."""
    code = (
        "import sys; from agents.charts.render import prepare; prepare(); print('matplotlib' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == "True"
