"""How the MCP servers are started: explicit environment (and nothing secret of the bot's), flags, modes."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.capabilities import INSTALL_HINT
from agents.server_specs import server_specs
from agents.settings import load_settings
from tests.test_settings import forget_exported_aws_settings

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


@pytest.fixture(autouse=True)
def empty_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A HOME without ~/.kube/config, so a developer's own kubeconfig cannot change the mode here."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    forget_exported_aws_settings(monkeypatch)
    return home


def specs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **env: str) -> dict[str, object]:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return {s.name: s for s in server_specs(load_settings(), environ=BASE)}


def test_children_get_credentials_proxies_and_cas_but_no_bot_secrets(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    found = specs(
        monkeypatch,
        tmp_path,
        MODEL_PROVIDER="ollama",
        AWS_REGION="eu-west-1",
        DEFAULT_CLUSTER="prod",
        FASTMCP_LOG_LEVEL="WARNING",
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
    eks = specs(monkeypatch, tmp_path, MODEL_PROVIDER="ollama", AWS_REGION="us-east-1", DEFAULT_CLUSTER="x")[
        "eks"
    ]
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
        specs(
            monkeypatch,
            tmp_path,
            MODEL_PROVIDER="ollama",
            AWS_REGION="us-east-1",
            DEFAULT_CLUSTER="prod",
            MCP_SERVERS="eks",
        )
    ) == {"eks"}


def test_aws_settings_from_dotenv_reach_both_servers(tmp_path: Path) -> None:
    """boto3 in the servers reads only their environment: .env's keys must be put there explicitly."""
    kubeconfig = tmp_path / "kc"
    kubeconfig.write_text("{}")
    (tmp_path / ".env").write_text(
        f"MODEL_PROVIDER=ollama\nKUBECONFIG={kubeconfig}\nAWS_REGION=eu-central-1\n"
        "AWS_ACCESS_KEY_ID=AKIAEXAMPLEKEY\nAWS_SECRET_ACCESS_KEY=s3cr3t\nAWS_SESSION_TOKEN=t0ken\n"
        "AWS_ENDPOINT_URL=http://127.0.0.1:9\n"
    )
    found = server_specs(load_settings(), environ={"PATH": "/usr/bin"})  # nothing from the environment
    assert {s.name for s in found} == {"eks", "billing"}
    for spec in found:
        assert {k: spec.env[k] for k in spec.env if k.startswith("AWS_")} == {
            "AWS_REGION": "eu-central-1",
            "AWS_DEFAULT_REGION": "eu-central-1",
            "AWS_ACCESS_KEY_ID": "AKIAEXAMPLEKEY",
            "AWS_SECRET_ACCESS_KEY": "s3cr3t",
            "AWS_SESSION_TOKEN": "t0ken",
            "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        }


def test_the_home_kubeconfig_is_handed_to_the_eks_server(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, empty_home: Path
) -> None:
    home_config = empty_home / ".kube" / "config"
    home_config.parent.mkdir()
    home_config.write_text("current-context: k3s\n")
    eks = specs(monkeypatch, tmp_path, MODEL_PROVIDER="ollama")["eks"]
    assert eks.args[:2] == ["--auth-mode", "kubeconfig"]  # type: ignore[attr-defined]
    assert eks.env["KUBECONFIG"] == str(home_config.resolve())  # type: ignore[attr-defined]


def test_a_missing_server_points_at_the_setup_script() -> None:
    assert "scripts/setup" in INSTALL_HINT
