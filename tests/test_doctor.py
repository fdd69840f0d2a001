"""`sre-bot doctor`: every check OK against the fakes; only the checks a setup uses; every failure listed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agents.capabilities import read_rules
from agents.coordinator import Assistant
from agents.settings import Settings
from frontends.doctor import Check, diagnose, exit_code, format_table, settings_checks
from slackbot.config import SlackSettings, load_slack_settings
from tests.fakes.brains import default_brains
from tests.fakes.fake_cluster import FakeKubeAPI
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.scripted_model import ScriptedModels
from tests.test_cli import sre_bot
from tests.test_settings import forget_exported_aws_settings

WRITE_TOOLS = {"manage_k8s_resource", "apply_yaml", "generate_app_manifest", "manage_eks_stacks"}


@pytest.fixture(autouse=True)
def empty_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A HOME without ~/.kube/config or ~/.aws, so nothing of the developer's decides a check here."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    forget_exported_aws_settings(monkeypatch)
    return home


def statuses(stdout: str) -> dict[str, str]:
    lines = stdout.splitlines()
    assert lines[0].split() == ["CHECK", "STATUS", "DETAIL"]
    width = lines[0].index("STATUS")
    return {line[:width].strip(): line[width:].split()[0] for line in lines[1:] if not line.startswith(" ")}


def scripted(settings: Settings) -> Assistant:
    return Assistant(settings, models=ScriptedModels(default_brains()))


def not_started(settings: Settings) -> Assistant:
    raise AssertionError("nothing may start while the settings are wrong")


def slack_checks() -> list[Check]:
    """What the CLI hands doctor for `sre-bot run` (agents/ must not import slackbot/)."""
    return settings_checks(
        "slack",
        SlackSettings,
        load_slack_settings,
        needed_by="sre-bot run",
        required=("slack_bot_token", "slack_app_token"),
    )


def by_name(checks: list[Check], name: str) -> list[Check]:
    return [c for c in checks if c.name == name]


def test_doctor_all_ok_against_the_fakes(agent_env: Path, tmp_path: Path) -> None:
    with FakeOpenAI() as model:
        proc = sre_bot("doctor", env={**os.environ, "OPENAI_BASE_URL": model.base_url}, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert statuses(proc.stdout) == {
        "settings": "OK",
        "kubernetes": "OK",
        "approvals": "OK",
        "state": "OK",  # local files: STATE_BACKEND=local
        "mcp server eks": "OK",
        "mcp server billing": "OK",
        "mcp server prometheus": "SKIP",  # no PROMETHEUS_URL: the line says how to enable it
        "cluster": "OK",
        "aws credentials": "OK",
        "model": "OK",
        "slack": "WARN",  # no Slack tokens: fine for the terminal, only `sre-bot run` needs them
        "alerts": "SKIP",  # no ALERTS_PORT: no listener
    }
    assert "Metrics (Prometheus) is not offered: PROMETHEUS_URL is not set" in proc.stdout
    assert f"kubeconfig mode (KUBECONFIG is set): {agent_env}" in proc.stdout
    assert "list_k8s_resources" in proc.stdout and "cost-explorer" in proc.stdout


def test_doctor_names_what_fails_and_how_to_fix_it(agent_env: Path, tmp_path: Path) -> None:
    proc = sre_bot(
        "doctor",
        env={
            **os.environ,
            "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
            "DEFAULT_CLUSTER": "no-such-context",
            "EKS_MCP_ALLOW_WRITE": "true",
        },
        cwd=tmp_path,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stdout + proc.stderr
    cluster = next(line for line in proc.stdout.splitlines() if line.startswith("cluster"))
    assert "FAIL" in cluster and "no-such-context" in cluster
    assert "kubectl --context no-such-context get namespaces" in proc.stdout  # a kubeconfig-mode fix
    model = next(line for line in proc.stdout.splitlines() if line.startswith("model"))
    assert "FAIL" in model
    approvals = next(line for line in proc.stdout.splitlines() if line.startswith("approvals"))
    assert "WARN" in approvals and "every change will be refused" in approvals
    assert "APPROVER_USER_IDS" in proc.stdout
    assert proc.stdout.count("fix:") >= 3


def test_kubeconfig_ollama_eks_only_needs_no_aws_credentials(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, kube: FakeKubeAPI
) -> None:
    """No AWS anywhere in this setup, so no AWS check can fail it; read-only offers only read tools."""
    kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig")
    for key, value in {
        "MODEL_PROVIDER": "ollama",
        "KUBECONFIG": str(kubeconfig),
        "MCP_SERVERS": "eks",
        "EKS_MCP_ALLOW_SENSITIVE_DATA": "true",
        "MCP_LOG_DIR": str(tmp_path / "log"),
        "TMPDIR": str(tmp_path),
    }.items():
        monkeypatch.setenv(key, value)
    checks = diagnose([slack_checks], assistant_factory=scripted)
    table = format_table(checks)
    assert statuses(table) == {
        "settings": "OK",
        "slack": "WARN",  # not set: only `sre-bot run` needs the tokens
        "kubernetes": "OK",
        "approvals": "OK",
        "state": "OK",
        "mcp server eks": "OK",
        "cluster": "OK",
        "aws credentials": "SKIP",
        "model": "OK",
    }, table
    assert exit_code(checks) == 0
    [aws] = by_name(checks, "aws credentials")
    assert aws.detail == "not used: model ollama, Kubernetes in kubeconfig mode, no billing server"
    [mode] = by_name(checks, "kubernetes")
    assert mode.detail == (
        f"kubeconfig mode (KUBECONFIG is set): {kubeconfig}; cluster fake-k3s (the kubeconfig's current-context)"
    )
    [eks] = by_name(checks, "mcp server eks")
    listed = set(eks.detail.split(": ", 1)[1].split(";")[0].split(", "))
    assert {"list_k8s_resources", "get_pod_logs", "get_k8s_events"} <= listed <= read_rules("eks").tools
    assert not WRITE_TOOLS & set(eks.detail.replace(",", " ").replace(";", " ").split())
    assert "more not offered (write tools in read-only mode" in eks.detail


def test_every_failing_setting_is_listed_with_its_fix(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for key, value in {
        "MODEL_PROVIDER": "bedrock",  # without AWS_REGION
        "TOOL_RESULT_MAX_CHARS": "lots",
        "EKS_MCP_ALLOW_WRITE": "maybe",
        "KUBECONFIG": str(tmp_path / "missing.yaml"),
        "HEALTH_PORT": "99999",
        "SLACK_BOT_TOKEN": "xoxb-1",
    }.items():
        monkeypatch.setenv(key, value)
    checks = diagnose([slack_checks], assistant_factory=not_started)
    failed = [c.detail.split(":")[0] for c in checks if c.status == "FAIL"]
    assert failed == [
        "EKS_MCP_ALLOW_WRITE",
        "TOOL_RESULT_MAX_CHARS",
        "AWS_REGION",
        "KUBECONFIG",
        "HEALTH_PORT",
    ]
    assert [c.name for c in checks if c.status == "FAIL"] == ["settings"] * 4 + ["slack"]
    assert all(c.fix for c in checks if c.status == "FAIL")
    assert checks[-1].status == "SKIP"
    assert exit_code(checks) == 2
    assert format_table(checks).count("fix:") == 5


def test_iam_mode_without_a_cluster_name_is_a_setting_to_fix(
    monkeypatch: pytest.MonkeyPatch, empty_home: Path
) -> None:
    monkeypatch.setenv("MODEL_PROVIDER", "ollama")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    checks = diagnose(assistant_factory=not_started)
    [problem] = [c for c in checks if c.status == "FAIL"]
    assert problem.detail.startswith(
        f"DEFAULT_CLUSTER: required in IAM mode (KUBECONFIG is unset and there is no "
        f"{empty_home / '.kube' / 'config'})"
    )
    assert "none set" not in format_table(checks)
    assert exit_code(checks) == 2


def test_the_slack_settings_of_run(monkeypatch: pytest.MonkeyPatch) -> None:
    [check] = slack_checks()
    assert check.status == "WARN" and "SLACK_BOT_TOKEN and SLACK_APP_TOKEN not set" in check.detail
    monkeypatch.setenv("SLACK_BOT_TOKEN", "bot-token")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1")
    [check] = slack_checks()
    assert check.status == "FAIL" and check.detail.startswith("SLACK_BOT_TOKEN: expected a bot token")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    [check] = slack_checks()
    assert check.status == "OK"


def test_doctor_checks_every_cluster_of_the_fleet_file_one_line_each(
    agent_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each cluster through the process that serves it: a down cluster fails alone, with its fix."""
    from frontends.doctor import fleet_assistant

    up, down = FakeKubeAPI().start(), FakeKubeAPI().start()
    kubeconfigs = [
        up.write_kubeconfig(tmp_path / "kc-up", context="ctx-staging", cluster_name="staging"),
        down.write_kubeconfig(tmp_path / "kc-down", context="ctx-prod", cluster_name="prod"),
    ]
    down.stop()
    (tmp_path / "clusters.yaml").write_text(
        "default: staging\nclusters:\n"
        "  staging: {kubeconfig_context: ctx-staging, writes: true, approvers: [U0123ABCD]}\n"
        "  prod: {kubeconfig_context: ctx-prod}\n"
    )
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join(str(k) for k in kubeconfigs))
    monkeypatch.setenv("CLUSTERS_FILE", str(tmp_path / "clusters.yaml"))
    monkeypatch.setenv("MCP_SERVERS", "eks")
    monkeypatch.setenv("EKS_MCP_ALLOW_WRITE", "true")
    monkeypatch.setenv("APPROVALS_DB_PATH", str(tmp_path / "approvals.sqlite3"))
    try:
        checks = diagnose(
            assistant_factory=lambda s: fleet_assistant(s, models=ScriptedModels(default_brains()))
        )
    finally:
        up.stop()
    [staging] = by_name(checks, "cluster staging")
    [prod] = by_name(checks, "cluster prod")
    assert staging.status == "OK", staging
    assert "kubeconfig context ctx-staging, writes with approval" in staging.detail
    assert "namespaces and pods listable (eks)" in staging.detail
    assert prod.status == "FAIL" and "read-only" in prod.detail
    assert "kubectl --context ctx-prod get pods" in (prod.fix or "")
    assert by_name(checks, "cluster") == []  # the fleet's lines replace the one-cluster check
    assert any(r["path"].endswith("/pods") for r in up.requests)  # RBAC: pods really listed


def test_doctor_reports_a_wrong_fleet_file_as_a_setting_to_fix(
    agent_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "clusters.yaml").write_text("default: x\nclusters:\n  x: {kubeconfig_context: nowhere}\n")
    monkeypatch.setenv("CLUSTERS_FILE", str(tmp_path / "clusters.yaml"))
    checks = diagnose(assistant_factory=not_started)
    failed = [c for c in checks if c.status == "FAIL"]
    assert any("CLUSTERS_FILE" in c.detail and "clusters.x.kubeconfig_context" in c.detail for c in failed)
    assert exit_code(checks) == 2
