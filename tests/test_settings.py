"""Every bad setting ends in one line naming the variable and what is expected."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.compose import load_settings  # the settings as front ends load them (capabilities included)
from agents.settings import ConfigError, Settings
from slackbot.config import load_approver_settings, load_slack_settings


@pytest.fixture(autouse=True)
def empty_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A HOME without ~/.kube/config: a developer's own kubeconfig must not pick the mode here."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return home


def ok_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\ncurrent-context: k3s\n")
    monkeypatch.setenv("MODEL_PROVIDER", "openai")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:1/v1")
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    return kubeconfig


def test_defaults_follow_the_seed_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("DEFAULT_CLUSTER", "prod")
    settings = load_settings()
    assert settings.model_provider == "bedrock"
    assert settings.resolved_model_id == settings.bedrock_model_id
    assert settings.eks_mcp_allow_write is False
    assert settings.eks_mcp_allow_sensitive_data is False
    assert settings.resolved_auth_mode == "iam"  # no KUBECONFIG, no ~/.kube/config: EKS over IAM


def test_model_id_overrides_any_provider(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    ok_env(monkeypatch, tmp_path)
    monkeypatch.setenv("MODEL_ID", "qwen2.5-coder")
    settings = load_settings()
    assert settings.resolved_model_id == "qwen2.5-coder"
    assert settings.resolved_auth_mode == "kubeconfig"


def test_dotenv_is_read_and_empty_values_mean_unset(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kc"
    kubeconfig.write_text("{}")
    (tmp_path / ".env").write_text(
        f"MODEL_PROVIDER=ollama\nKUBECONFIG={kubeconfig}\nMODEL_ID=\nEKS_MCP_ALLOW_WRITE=yes\n"
    )
    settings = load_settings()
    assert settings.model_provider == "ollama"
    assert settings.model_id is None
    assert settings.eks_mcp_allow_write is True


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("MODEL_PROVIDER", "nonsense", "MODEL_PROVIDER: expected one of bedrock, anthropic, openai, ollama"),
        ("EKS_MCP_ALLOW_WRITE", "maybe", "EKS_MCP_ALLOW_WRITE: expected true or false (got 'maybe')"),
        ("EKS_MCP_ALLOW_SENSITIVE_DATA", "2", "EKS_MCP_ALLOW_SENSITIVE_DATA: expected true or false"),
        ("EKS_AUTH_MODE", "token", "EKS_AUTH_MODE: expected one of iam, kubeconfig"),
        (
            "FASTMCP_LOG_LEVEL",
            "loud",
            "FASTMCP_LOG_LEVEL: expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL",
        ),
        ("TOOL_RESULT_MAX_CHARS", "lots", "TOOL_RESULT_MAX_CHARS: expected a whole number"),
        ("TOOL_RESULT_MAX_CHARS", "10", "TOOL_RESULT_MAX_CHARS: expected a number >= 1000"),
        ("OPENAI_BASE_URL", "localhost:8000", "OPENAI_BASE_URL: expected an http(s) URL"),
        ("MCP_SERVERS", "eks,grafana", "MCP_SERVERS: expected a comma-separated subset of eks, billing"),
        ("MCP_SERVERS", "eks;billing", "MCP_SERVERS: expected a comma-separated list of MCP server names"),
        ("MCP_SERVERS", " , ", "MCP_SERVERS: expected a comma-separated list of MCP server names"),
        ("APPROVAL_TTL_SECONDS", "5", "APPROVAL_TTL_SECONDS: expected a number >= 30"),
        ("OLLAMA_HOST", "ollama:11434", "OLLAMA_HOST: expected an http(s) URL"),
        ("LOG_LEVEL", "chatty", "LOG_LEVEL: expected one of DEBUG, INFO, WARNING, ERROR"),
        ("MODEL_MAX_WAIT_SECONDS", "0", "MODEL_MAX_WAIT_SECONDS: expected a number >= 1"),
    ],
)
def test_bad_values_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variable: str, value: str, expected: str
) -> None:
    ok_env(monkeypatch, tmp_path)
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert str(err.value).startswith(expected)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        (
            "APPROVER_USER_IDS",
            "U012AB,@alice",
            "APPROVER_USER_IDS: expected Slack user ids such as U012ABCDEF, comma-separated; '@alice' is not one",
        ),
        (
            "APPROVER_USERGROUP",
            "@oncall",
            "APPROVER_USERGROUP: expected a Slack user group id such as S0123ABCD (not its @handle); "
            "'@oncall' is not one",
        ),
        ("REQUIRE_SEPARATE_APPROVER", "sometimes", "REQUIRE_SEPARATE_APPROVER: expected true or false"),
    ],
)
def test_bad_approver_settings_name_the_variable_wherever_they_are_read(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variable: str, value: str, expected: str
) -> None:
    """Who may approve is the Slack front end's setting: `sre-bot run` and `sre-bot ask` both stop on it."""
    ok_env(monkeypatch, tmp_path)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1")
    monkeypatch.setenv(variable, value)
    load_settings()  # the agents' settings do not read it
    for load in (load_slack_settings, load_approver_settings):
        with pytest.raises(ConfigError) as err:
            load()
        assert str(err.value).startswith(expected)
        assert "\n" not in str(err.value)


def test_approvers_are_ids_from_a_list_or_a_group(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APPROVER_USER_IDS", " U2, W3 ,,")
    assert (load_approver_settings().approvers, load_approver_settings().approvals_configured) == (
        ["U2", "W3"],
        True,
    )
    monkeypatch.setenv("APPROVER_USER_IDS", " ")
    monkeypatch.setenv("APPROVER_USERGROUP", " S0ONCALL ")
    approvers = load_approver_settings()
    assert (approvers.approvers, approvers.approver_usergroup, approvers.approvals_configured) == (
        [],
        "S0ONCALL",
        True,
    )
    monkeypatch.delenv("APPROVER_USERGROUP")
    assert load_approver_settings().approvals_configured is False


@pytest.mark.parametrize(
    ("provider", "missing"),
    [("anthropic", "ANTHROPIC_API_KEY"), ("openai", "OPENAI_API_KEY"), ("bedrock", "AWS_REGION")],
)
def test_missing_key_of_the_chosen_provider(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, provider: str, missing: str
) -> None:
    ok_env(monkeypatch, tmp_path)
    monkeypatch.delenv("OPENAI_BASE_URL")
    monkeypatch.setenv("MODEL_PROVIDER", provider)
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert err.value.variable == missing
    assert provider in str(err.value)


def test_kubeconfig_pointing_at_no_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    ok_env(monkeypatch, tmp_path)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing.yaml"))
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert str(err.value).startswith("KUBECONFIG: no file at ")


def test_iam_mode_needs_a_region(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    ok_env(monkeypatch, tmp_path)
    monkeypatch.delenv("KUBECONFIG")
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert err.value.variable == "AWS_REGION"


@pytest.mark.parametrize(
    "variable", ["SESSION_STORAGE_PATH", "APPROVALS_DB_PATH", "AUDIT_LOG_PATH", "MCP_LOG_DIR"]
)
def test_state_paths_that_cannot_be_written_are_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variable: str
) -> None:
    ok_env(monkeypatch, tmp_path)
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv(variable, str(blocker / "state" / "x"))
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert str(err.value).startswith(f"{variable}: cannot write to {blocker}")
    assert "writable directory" in str(err.value)


def test_an_aws_profile_that_does_not_exist_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    ok_env(monkeypatch, tmp_path)
    config = tmp_path / "aws-config"
    config.write_text("[profile dev]\nregion = eu-west-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_PROFILE", "prod")
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert str(err.value).startswith("AWS_PROFILE: no profile 'prod' in ~/.aws/config or ~/.aws/credentials")
    assert "dev" in str(err.value)
    monkeypatch.setenv("AWS_PROFILE", "dev")
    assert load_settings().aws_profile == "dev"


def test_kubeconfig_mode_without_any_kubeconfig(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    ok_env(monkeypatch, tmp_path)
    monkeypatch.delenv("KUBECONFIG")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("EKS_AUTH_MODE", "kubeconfig")
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert str(err.value).startswith("KUBECONFIG: EKS_AUTH_MODE=kubeconfig needs KUBECONFIG")


def test_the_default_cluster_is_a_kubeconfig_context_only_in_kubeconfig_mode(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, empty_home: Path
) -> None:
    from agents.coordinator import default_cluster

    ok_env(monkeypatch, tmp_path)  # a kubeconfig whose current-context is k3s
    assert default_cluster(load_settings()) == "k3s"
    (empty_home / ".kube").mkdir()
    (empty_home / ".kube" / "config").write_text("current-context: arn:aws:eks:eu-west-1:1:cluster/prod\n")
    monkeypatch.delenv("KUBECONFIG")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    # Like kubectl: ~/.kube/config is the kubeconfig, and its context is the cluster
    assert default_cluster(load_settings()) == "arn:aws:eks:eu-west-1:1:cluster/prod"
    monkeypatch.setenv("EKS_AUTH_MODE", "iam")  # IAM mode: an ARN context is not a cluster name
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert err.value.variable == "DEFAULT_CLUSTER" and "required in IAM mode" in str(err.value)
    monkeypatch.setenv("DEFAULT_CLUSTER", "prod")
    assert default_cluster(load_settings()) == "prod"


def test_without_kubeconfig_the_home_kubeconfig_is_used_like_kubectl(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, empty_home: Path
) -> None:
    monkeypatch.setenv("MODEL_PROVIDER", "ollama")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("DEFAULT_CLUSTER", "prod")
    settings = load_settings()
    assert settings.auth_mode_and_reason == (
        "iam",
        f"KUBECONFIG is unset and there is no {empty_home / '.kube' / 'config'}",
    )
    assert settings.kubeconfig_paths() == []
    home_config = empty_home / ".kube" / "config"
    home_config.parent.mkdir()
    home_config.write_text("current-context: k3s\n")
    settings = load_settings()
    assert settings.auth_mode_and_reason == (
        "kubeconfig",
        f"KUBECONFIG is unset and {home_config} exists (kubectl's default)",
    )
    assert settings.kubeconfig_paths() == [home_config]
    monkeypatch.setenv("EKS_AUTH_MODE", "iam")  # the override still wins, and then no kubeconfig is used
    settings = load_settings()
    assert settings.resolved_auth_mode == "iam" and settings.kubeconfig_paths() == []


def test_a_billing_only_bot_needs_no_kubernetes_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODEL_PROVIDER", "ollama")
    monkeypatch.setenv("MCP_SERVERS", "billing")
    assert load_settings().problems() == []


def test_every_problem_is_listed_not_only_the_first(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MODEL_PROVIDER", "anthropic")
    monkeypatch.setenv("OLLAMA_HOST", "ollama:11434")
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing.yaml"))
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("MCP_LOG_DIR", str(tmp_path / "a-file" / "log"))
    problems = Settings().problems()
    assert [p.variable for p in problems] == ["ANTHROPIC_API_KEY", "OLLAMA_HOST", "KUBECONFIG", "MCP_LOG_DIR"]
    with pytest.raises(ConfigError) as err:  # commands still stop at the first one
        load_settings()
    assert err.value.variable == "ANTHROPIC_API_KEY"


def forget_exported_aws_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """load_settings exports the AWS settings into os.environ: have monkeypatch remove them afterwards."""
    for name in (
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_ENDPOINT_URL",
    ):
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)


def test_aws_settings_from_dotenv_reach_boto3_and_are_never_shown(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import os

    import boto3

    forget_exported_aws_settings(monkeypatch)

    kubeconfig = tmp_path / "kc"
    kubeconfig.write_text("{}")
    (tmp_path / ".env").write_text(
        f"MODEL_PROVIDER=ollama\nKUBECONFIG={kubeconfig}\nAWS_REGION=eu-central-1\n"
        "AWS_ACCESS_KEY_ID=AKIAEXAMPLEKEY\nAWS_SECRET_ACCESS_KEY=s3cr3t-from-dotenv\n"
        "AWS_SESSION_TOKEN=t0ken-from-dotenv\nAWS_ENDPOINT_URL=http://127.0.0.1:9\n"
    )
    assert "AWS_ACCESS_KEY_ID" not in os.environ  # only .env has them
    settings = load_settings()
    credentials = boto3.Session().get_credentials()
    assert credentials is not None
    assert (credentials.access_key, credentials.secret_key, credentials.token) == (
        "AKIAEXAMPLEKEY",
        "s3cr3t-from-dotenv",
        "t0ken-from-dotenv",
    )
    assert boto3.Session().region_name == "eu-central-1"
    assert os.environ["AWS_ENDPOINT_URL"] == "http://127.0.0.1:9"
    shown = repr(settings) + str(settings)
    assert "s3cr3t" not in shown and "t0ken" not in shown and "AKIAEXAMPLEKEY" not in shown
