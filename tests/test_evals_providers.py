"""`sre-bot eval` against configured providers, not the scripted model: the real bot with Strands' own
provider classes talking to a fake model server at the network edge (Ollama's /api/chat here; the
OpenAI-compatible one in tests/test_evals_judge.py). What is checked is the harness with a provider's
protocol: the table printed, the tokens each call reported counted, the model named in the report.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.bedrock_api import FakeBedrock
from tests.fakes.ollama_api import FakeOllama
from tests.test_evals import CASES, run_eval


@pytest.fixture
def ollama(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOllama]:
    server = FakeOllama(prompt_tokens=700, eval_tokens=30).start()
    monkeypatch.delenv("CLUSTERS_FILE", raising=False)
    for name in ("OPENAI_BASE_URL", "ANTHROPIC_API_KEY", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MODEL_PROVIDER", "ollama")
    monkeypatch.setenv("OLLAMA_HOST", server.host)
    monkeypatch.setenv("MODEL_ID", "qwen3:8b")
    yield server
    server.stop()


def test_a_local_ollama_runs_a_case_scored_and_its_tokens_counted(tmp_path: Path, ollama: FakeOllama) -> None:
    report_path = tmp_path / "report.json"
    code, out, err = run_eval(
        "--cases",
        str(CASES / "crashloop-missing-env.yaml"),
        "--out",
        str(report_path),
        "--price-in",
        "1",
        "--price-out",
        "2",
    )
    assert code == 0, err
    report = json.loads(report_path.read_text())
    assert report["model"] == "ollama:qwen3:8b" and report["scripted"] is False
    outcome = report["results"][0]["runs"][0]["outcome"]
    calls = len(ollama.requests)
    assert calls >= 2 and outcome["model_calls"] == calls  # the coordinator and the specialist, each metered
    assert (outcome["tokens_in"], outcome["tokens_out"]) == (700 * calls, 30 * calls)
    assert all(r["model"] == "qwen3:8b" and r["stream"] is True for r in ollama.requests)
    assert "| pass rate |" in out and "ollama:qwen3:8b" in out
    # the rule-based stand-in looks in the wrong namespace: a wrong answer through a real provider fails,
    # with the reason in the table
    assert [c["tool"] for c in outcome["tool_calls"]] == ["eks_assistant", "list_k8s_resources"]
    assert (
        "- `crashloop-missing-env` (0%): findings: not in the answer: checkout-6f7d9-x2k4p, PAYMENTS_API_URL"
        in out
    )


@pytest.fixture
def bedrock(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeBedrock]:
    server = FakeBedrock(input_tokens=900, output_tokens=40).start()
    monkeypatch.delenv("CLUSTERS_FILE", raising=False)
    for name in ("OPENAI_BASE_URL", "OLLAMA_HOST", "AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MODEL_PROVIDER", "bedrock")
    monkeypatch.setenv("MODEL_ID", "us.anthropic.claude-sonnet-4-20250514-v1:0")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEVALTEST")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "eval-secret")
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", server.url)
    yield server
    server.stop()


def test_bedrock_answers_while_cost_explorer_is_moto(tmp_path: Path, bedrock: FakeBedrock) -> None:
    """The cost cases point the AWS SDK at moto; the model must still be reached at Bedrock's endpoint,
    signed, and each call's usage counted."""
    cases = tmp_path / "cases"
    cases.mkdir()
    for name in ("crashloop-missing-env", "cost-top-service"):
        (cases / f"{name}.yaml").write_text((CASES / f"{name}.yaml").read_text())
    report_path = tmp_path / "report.json"
    code, out, err = run_eval("--cases", str(cases), "--out", str(report_path))
    assert code == 0, err
    report = json.loads(report_path.read_text())
    assert report["model"] == "bedrock:us.anthropic.claude-sonnet-4-20250514-v1:0"
    assert {r["model"] for r in bedrock.requests} == {"us.anthropic.claude-sonnet-4-20250514-v1:0"}
    assert all(
        r["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIAEVALTEST/") for r in bedrock.requests
    )
    outcomes = {r["case"]: r["runs"][0]["outcome"] for r in report["results"]}
    assert sum(o["model_calls"] for o in outcomes.values()) == len(bedrock.requests)
    for outcome in outcomes.values():
        assert (outcome["tokens_in"], outcome["tokens_out"]) == (
            900 * outcome["model_calls"],
            40 * outcome["model_calls"],
        )
    # Cost Explorer answered from moto's seeded results, through the real billing MCP server
    cost = outcomes["cost-top-service"]
    assert [c["tool"] for c in cost["tool_calls"]][:2] == ["finops_assistant", "cost-explorer"]
    assert cost["error"] == "" and "Amazon Elastic Compute Cloud" in cost["answer"], cost["answer"]
    assert "bedrock:us.anthropic.claude-sonnet-4-20250514-v1:0" in out
