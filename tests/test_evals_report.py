"""The eval report (evals/report.py) on hand-built outcomes and scores: every figure of the JSON report, the
same figures in the Markdown table, `compare` of two reports, and `load_report` refusing what is not one.

The figures are worked out by hand in the comments, not by the code under test.
"""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path
from typing import Any

import pytest

from evals.cases import Case
from evals.cli import main as evaluate
from evals.judge import Verdict, summary
from evals.options import add_arguments
from evals.report import Prices, ReportError, build, compare, load_report, markdown
from evals.run import Outcome
from evals.score import Check, Score


def case(case_id: str, difficulty: str, *areas: str) -> Case:
    return Case.model_validate(
        {
            "id": case_id,
            "question": f"what about {case_id}?",
            "tags": {"difficulty": difficulty, "area": list(areas)},
            "expect": {"findings": ["x"]},
            "budget": {"tokens": 100_000},
            "script": [{"calls": [], "quote": []}],
        }
    )


CASES = [
    case("crash", "easy", "pods", "crashloop"),
    case("cost", "hard", "costs"),
    case("node", "hard", "nodes", "pods"),
]
SPECIALIST = {"event": "tool_call", "tool": "eks_assistant"}  # the coordinator asking: not counted
READ = {"event": "tool_call", "tool": "list_k8s_resources"}


def ran(
    case_id: str,
    run: int,
    passed: bool,
    seconds: float,
    tokens: tuple[int, int],
    reads: int,
) -> tuple[Outcome, Score]:
    outcome = Outcome(
        case_id,
        run,
        answer=f"answer of {case_id}",
        seconds=seconds,
        tokens_in=tokens[0],
        tokens_out=tokens[1],
        tool_calls=[SPECIALIST, *[READ] * reads],
    )
    checks = [Check("answered", True)]
    checks.append(Check("findings", True) if passed else Check("findings", False, f"{case_id} not found"))
    return outcome, Score(case_id, run, checks)


def results(node_passes: bool = False, slower: float = 1.0) -> list[tuple[Outcome, Score]]:
    """3 cases × 2 runs. Run 1: crash ✓ cost ✓ node ✗ (2/3); run 2: crash ✓ cost ✗ node ✗ (1/3)."""
    return [
        ran("crash", 1, True, 1 * slower, (1000, 100), 2),
        ran("cost", 1, True, 2 * slower, (2000, 200), 2),
        ran("node", 1, node_passes, 3 * slower, (3000, 300), 1),
        ran("crash", 2, True, 4 * slower, (1000, 100), 2),
        ran("cost", 2, False, 5 * slower, (2000, 200), 2),
        ran("node", 2, node_passes, 30 * slower, (3000, 300), 1),
    ]


PRICES = Prices(tokens_in=3.0, tokens_out=15.0)


@pytest.fixture
def report() -> dict[str, Any]:
    return build("bedrock:a", CASES, results(), 2)


def test_the_summary_figures(report: dict[str, Any]) -> None:
    s = report["summary"]
    assert s["pass_rate"] == 3 / 6
    # the pass rate of each run's round: 2/3 and 1/3; population standard deviation 1/6
    assert s["spread"]["min"] == pytest.approx(1 / 3)
    assert s["spread"]["max"] == pytest.approx(2 / 3)
    assert s["spread"]["stdev"] == pytest.approx(1 / 6)
    # latencies 1 2 3 4 5 30: median (3 + 4) / 2, p95 the slowest (6 × 0.95 = 5.7 → the 6th)
    assert s["latency_median_s"] == 3.5
    assert s["latency_p95_s"] == 30
    assert s["tokens_in_per_case"] == 2000  # (1000 + 2000 + 3000) × 2 / 6
    assert s["tokens_out_per_case"] == 200
    assert s["cost_per_case_usd"] is None  # no prices given: no guess
    # the specialists' calls only: 2 + 2 + 1 per round, 10 over 6 runs
    assert s["tool_calls_per_case"] == pytest.approx(10 / 6)
    assert (report["model"], report["cases"], report["runs"], report["scripted"]) == (
        "bedrock:a",
        3,
        2,
        False,
    )
    assert "judge" not in report


def test_one_run_has_no_spread() -> None:
    s = build("m", CASES, results()[:3], 1)["summary"]
    assert s["spread"] == {"min": pytest.approx(2 / 3), "max": pytest.approx(2 / 3), "stdev": 0.0}


def test_the_cost_per_case_uses_the_prices() -> None:
    s = build("m", CASES, results(), 2, prices=PRICES)["summary"]
    # 2000 tokens in at $3 per million + 200 out at $15 per million
    assert s["cost_per_case_usd"] == pytest.approx((2000 * 3 + 200 * 15) / 1e6) == 0.009


def test_the_pass_rate_by_tag(report: dict[str, Any]) -> None:
    assert report["by_tag"] == {
        "area:costs": {"pass_rate": 0.5, "cases": 1},  # ✓ ✗
        "area:crashloop": {"pass_rate": 1.0, "cases": 1},
        "area:nodes": {"pass_rate": 0.0, "cases": 1},
        "area:pods": {"pass_rate": 0.5, "cases": 2},  # crash ✓✓, node ✗✗
        "difficulty:easy": {"pass_rate": 1.0, "cases": 1},
        "difficulty:hard": {"pass_rate": 0.25, "cases": 2},  # cost ✓✗, node ✗✗
    }
    assert list(report["by_tag"]) == sorted(report["by_tag"])


def test_each_case_with_its_runs(report: dict[str, Any]) -> None:
    by_case = {r["case"]: r for r in report["results"]}
    assert list(by_case) == ["cost", "crash", "node"]
    assert {c: r["pass_rate"] for c, r in by_case.items()} == {"cost": 0.5, "crash": 1.0, "node": 0.0}
    assert by_case["node"]["tags"] == ["difficulty:hard", "area:nodes", "area:pods"]
    first, second = by_case["cost"]["runs"]
    assert (first["run"], first["passed"], second["run"], second["passed"]) == (1, True, 2, False)
    assert second["checks"][1] == {"name": "findings", "ok": False, "detail": "cost not found"}
    assert second["outcome"]["seconds"] == 5 and second["outcome"]["answer"] == "answer of cost"


@pytest.mark.parametrize("n", range(1, 61))
def test_p95_is_a_latency_at_least_95_percent_of_runs_stay_under(n: int) -> None:
    """Nearest rank: the smallest latency with at least 95% of the runs at or under it."""
    pairs = [ran("crash", 1, True, float(i), (0, 0), 0) for i in range(1, n + 1)]
    p95 = build("m", CASES[:1], pairs, 1)["summary"]["latency_p95_s"]
    at_or_under = sum(i <= p95 for i in range(1, n + 1))
    assert at_or_under >= 0.95 * n
    assert at_or_under - 1 < 0.95 * n  # and no higher than needed


def test_the_markdown_table_shows_the_figures() -> None:
    text = markdown(build("bedrock:a", CASES, results(), 2, prices=PRICES))
    lines = text.splitlines()
    assert lines[0] == "## bedrock:a"
    assert lines[2].startswith("3 cases × 2 run(s), ")
    assert "| pass rate | 50% (runs: 33%–67%, sd 16.7 pts) |" in lines
    assert "| latency median / p95 | 3.5 s / 30.0 s |" in lines
    assert "| tokens in / out per case | 2,000 / 200 |" in lines
    assert "| estimated cost per case | $0.0090 |" in lines
    assert "| tool calls per case | 1.7 |" in lines
    tags = lines[lines.index("| tag | pass rate | cases |") + 2 :][:6]
    assert tags == [
        "| area:costs | 50% | 1 |",
        "| area:crashloop | 100% | 1 |",
        "| area:nodes | 0% | 1 |",
        "| area:pods | 50% | 2 |",
        "| difficulty:easy | 100% | 1 |",
        "| difficulty:hard | 25% | 2 |",
    ]
    failing = text.split("Failing cases:\n\n")[1].splitlines()
    assert failing == ["- `cost` (50%): findings: cost not found", "- `node` (0%): findings: node not found"]
    assert "scripted" not in text and "LLM judge" not in text


def test_the_markdown_without_prices_says_how_to_get_a_cost(report: dict[str, Any]) -> None:
    assert "| estimated cost per case | — (give --price-in/--price-out) |" in markdown(report).splitlines()


def test_a_scripted_report_says_it_measures_no_model() -> None:
    scripted = build("scripted", CASES, results(node_passes=True)[:3], 1, scripted=True)
    text = markdown(scripted)
    assert scripted["scripted"] is True
    assert text.splitlines()[0] == "## scripted (scripted: checks the harness, not a model)"
    assert "Failing cases" not in text  # every case passed


def test_the_judge_is_reported_apart_from_the_checks() -> None:
    verdicts = [
        Verdict("crash", 1, True, "PASS: names the missing variable"),
        Verdict("node", 1, False, "FAIL: blames the wrong node"),
        Verdict("cost", 1, True, "PASS: right service"),
        Verdict("node", 2, False, "FAIL: no next step"),
    ]
    judged = summary("openai:judge", verdicts)
    data = build("openai:bot", CASES, results(), 2, judge=judged)
    assert data["judge"]["judged"] == 4 and data["judge"]["pass_rate"] == 0.5
    assert data["judge"]["verdicts"][1] == {
        "case": "node",
        "run": 1,
        "passed": False,
        "reason": "FAIL: blames the wrong node",
    }
    assert data["summary"]["pass_rate"] == 0.5  # the checks' verdicts, whatever the judge said
    text = markdown(data)
    judge_part = text.split("\nLLM judge ")[1].splitlines()
    assert judge_part[0] == "(openai:judge, reported apart): 50% of 4 judged run(s)"
    # each run the judge failed, with its reason; none of those it passed
    assert [line for line in judge_part if line.startswith("- ")] == [
        "- `node` (run 1): FAIL: blames the wrong node",
        "- `node` (run 2): FAIL: no next step",
    ]
    assert "right service" not in text and "missing variable" not in text


# --- compare ----------------------------------------------------------------------------------------


def test_compare_puts_the_figures_side_by_side() -> None:
    a = build("bedrock:a", CASES, results(), 2)
    # b: node now passes both runs (5/6), every run twice as slow, priced
    b = build("ollama:b", CASES, results(node_passes=True, slower=2), 2, prices=PRICES)
    lines = compare(a, b).splitlines()
    assert lines[:9] == [
        "| metric | a: bedrock:a | b: ollama:b | b − a |",
        "|---|---|---|---|",
        "| pass rate (%) | 50 | 83 | +33 |",
        "| latency median (s) | 3.5 | 7.0 | +3.5 |",
        "| latency p95 (s) | 30.0 | 60.0 | +30.0 |",
        "| tokens in per case | 2,000 | 2,000 | +0 |",
        "| tokens out per case | 200 | 200 | +0 |",
        "| cost per case (USD) | — | 0.0090 | |",
        "| tool calls per case | 1.7 | 1.7 | +0.0 |",
    ]
    tags = lines[lines.index("| tag | a | b |") + 2 :][:6]
    assert tags == [
        "| area:costs | 50% | 50% |",
        "| area:crashloop | 100% | 100% |",
        "| area:nodes | 0% | 100% |",
        "| area:pods | 50% | 100% |",
        "| difficulty:easy | 100% | 100% |",
        "| difficulty:hard | 25% | 75% |",
    ]


def test_compare_lists_exactly_the_cases_that_changed() -> None:
    a = build("a", CASES, results(), 2)
    b = build("b", CASES, results(node_passes=True), 2)
    text = compare(a, b)
    assert text.split("Cases that changed:\n")[1].splitlines() == ["- `node`: 0% → 100%"]
    assert compare(b, a).split("Cases that changed:\n")[1].splitlines() == ["- `node`: 100% → 0%"]
    # a case only one report ran, and its tag only that one has
    extra = case("dns", "medium", "dns")
    c = build("c", [*CASES, extra], [*results(), ran("dns", 1, True, 1, (0, 0), 0)], 2)
    changed = compare(a, c).split("Cases that changed:\n")[1].splitlines()
    assert changed == ["- `dns`: absent → 100%"]
    assert "| area:dns | — | 100% |" in compare(a, c).splitlines()


def test_compare_of_the_same_results_lists_no_case() -> None:
    a = build("a", CASES, results(), 2)
    text = compare(a, build("b", CASES, results(), 2))
    assert text.endswith("\nNo case changed.\n")
    assert "Cases that changed" not in text and "`" not in text


# --- load_report ------------------------------------------------------------------------------------


def run_compare(a: Path, b: Path) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    out, err = io.StringIO(), io.StringIO()
    code = evaluate(parser.parse_args(["--compare", str(a), str(b)]), out, err)
    return code, out.getvalue(), err.getvalue()


def test_a_saved_report_loads_as_it_was_written(tmp_path: Path, report: dict[str, Any]) -> None:
    path = tmp_path / "a.json"
    path.write_text(json.dumps(report))
    assert load_report(path) == report
    code, out, err = run_compare(path, path)
    assert (code, err) == (0, "") and out == compare(report, report)


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "cannot read: No such file or directory"),
        ("{not json", "not a JSON report: Expecting property name"),
        (b"\xff\xfe{}", "not a JSON report"),
        ("[1, 2]", "not an `sre-bot eval --out` report (version 1)"),
        ("{}", "not an `sre-bot eval --out` report (version 1)"),
        ("VERSION 2", "not an `sre-bot eval --out` report (version 1)"),  # a whole report of a later format
        # the version and a summary, but nothing compare reads: refused here, not a KeyError later
        ('{"version": 1, "summary": {}}', "not an `sre-bot eval --out` report (version 1)"),
        ('{"version": 1, "model": "m", "summary": [], "by_tag": {}, "results": []}', "not an `sre-bot"),
        ('{"version": 1, "model": "m", "summary": {}, "by_tag": {}, "results": [{}]}', "not an `sre-bot"),
    ],
)
def test_what_is_not_a_report_is_refused_in_one_line(
    tmp_path: Path, report: dict[str, Any], content: str | bytes | None, says: str
) -> None:
    good, bad = tmp_path / "a.json", tmp_path / "b.json"
    good.write_text(json.dumps(report))
    if content == "VERSION 2":
        bad.write_text(json.dumps({**report, "version": 2}))
    elif isinstance(content, bytes):
        bad.write_bytes(content)
    elif content is not None:
        bad.write_text(content)
    with pytest.raises(ReportError) as caught:
        load_report(bad)
    message = str(caught.value)
    assert message.startswith(f"{bad}: ") and says in message and "\n" not in message
    code, out, err = run_compare(good, bad)
    assert (code, out) == (2, "")
    assert err == f"sre-bot eval: {message}\n"


def test_compare_says_when_one_report_ran_offline_and_the_other_on_a_cluster() -> None:
    offline = build("a", CASES, results(), 2)
    live = build("a", CASES, results(), 2, world="live:k3s")
    assert offline["world"] == "offline" and live["world"] == "live:k3s"
    assert compare(offline, live).splitlines()[:2] == [
        "Not comparable as they stand: a ran offline, b ran live:k3s.",
        "",
    ]
    assert compare(offline, build("b", CASES, results(), 2)).startswith("| metric |")
    assert "against the cluster" not in markdown(offline)
    assert markdown(live).splitlines()[2].endswith(", against the cluster of context k3s")
