"""How the MCP servers are started: explicit environment (and nothing secret of the bot's), flags, modes."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.coordinator import server_specs
from agents.settings import load_settings

BASE = {
    "PATH": "/usr/bin",
    "HOME": "/home/bot",
    "AWS_ROLE_ARN": "arn:aws:iam::1:role/bot",
    "AWS_WEB_IDENTITY_TOKEN_FILE": "/var/run/secrets/eks.amazonaws.com/serviceaccount/token",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://169.254.170.23/v1/credentials",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": "/var/run/secrets/pods.eks.amazonaws.com/token",
    "HTTPS_PROXY": "http://proxy:3128",
    "NO_PROXY": "169.254.170.23",
    "SSL_CERT_FILE": "/etc/ssl/corp.pem",
    "SLACK_BOT_TOKEN": "xoxb-secret",
    "SLACK_APP_TOKEN": "xapp-secret",
    "OPENAI_API_KEY": "sk-secret",
    "ANTHROPIC_API_KEY": "sk-ant-secret",
}


def specs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **env: str) -> dict[str, object]:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return {s.name: s for s in server_specs(load_settings(), environ=BASE)}


def test_children_get_credentials_proxies_and_cas_but_no_bot_secrets(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    found = specs(
        monkeypatch, tmp_path, MODEL_PROVIDER="ollama", AWS_REGION="eu-west-1", FASTMCP_LOG_LEVEL="WARNING"
    )
    for spec in found.values():
        env = spec.env  # type: ignore[attr-defined]
        for key in (
            "AWS_ROLE_ARN",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
            "HTTPS_PROXY",
            "NO_PROXY",
            "SSL_CERT_FILE",
            "PATH",
        ):
            assert env[key] == BASE[key]
        assert env["AWS_REGION"] == "eu-west-1" and env["FASTMCP_LOG_LEVEL"] == "WARNING"
        assert not {"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "OPENAI_API_KEY", "ANTHROPIC_API_KEY"} & set(env)
    assert found["eks"].env["TMPDIR"] != found["billing"].env.get("TMPDIR")  # type: ignore[attr-defined]
    assert found["billing"].env["FASTMCP_LOG_FILE"].endswith("billing-server.log")  # type: ignore[attr-defined]


def test_flags_and_auth_mode_follow_the_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kc"
    kubeconfig.write_text("{}")
    eks = specs(monkeypatch, tmp_path, MODEL_PROVIDER="ollama", AWS_REGION="us-east-1")["eks"]
    assert eks.args == ["--auth-mode", "iam"]  # type: ignore[attr-defined]
    eks = specs(
        monkeypatch,
        tmp_path,
        KUBECONFIG=str(kubeconfig),
        EKS_MCP_ALLOW_WRITE="true",
        EKS_MCP_ALLOW_SENSITIVE_DATA="true",
    )["eks"]
    assert eks.args == ["--auth-mode", "kubeconfig", "--allow-write", "--allow-sensitive-data-access"]  # type: ignore[attr-defined]
    assert eks.env["KUBECONFIG"] == str(kubeconfig.resolve())  # type: ignore[attr-defined]
    eks = specs(monkeypatch, tmp_path, EKS_AUTH_MODE="iam")["eks"]
    assert eks.args[:2] == ["--auth-mode", "iam"]  # type: ignore[attr-defined]


def test_only_the_enabled_servers_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert set(
        specs(monkeypatch, tmp_path, MODEL_PROVIDER="ollama", AWS_REGION="us-east-1", MCP_SERVERS="eks")
    ) == {"eks"}
