"""Every bad setting ends in one line naming the variable and what is expected."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.settings import ConfigError, load_settings


def ok_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\ncurrent-context: k3s\n")
    monkeypatch.setenv("MODEL_PROVIDER", "openai")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:1/v1")
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    return kubeconfig


def test_defaults_follow_the_seed_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    settings = load_settings()
    assert settings.model_provider == "bedrock"
    assert settings.resolved_model_id == settings.bedrock_model_id
    assert settings.eks_mcp_allow_write is False
    assert settings.eks_mcp_allow_sensitive_data is False
    assert settings.resolved_auth_mode == "iam"  # no KUBECONFIG: EKS over IAM


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
        (
            "APPROVER_USER_IDS",
            "U012AB,@alice",
            "APPROVER_USER_IDS: expected Slack user ids such as U012ABCDEF",
        ),
        ("APPROVAL_TTL_SECONDS", "5", "APPROVAL_TTL_SECONDS: expected a number >= 30"),
        (
            "APPROVER_USERGROUP",
            "@oncall",
            "APPROVER_USERGROUP: expected a Slack user group id such as S0123ABCD",
        ),
        ("REQUIRE_SEPARATE_APPROVER", "sometimes", "REQUIRE_SEPARATE_APPROVER: expected true or false"),
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
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from agents.coordinator import default_cluster

    ok_env(monkeypatch, tmp_path)  # a kubeconfig whose current-context is k3s
    assert default_cluster(load_settings()) == "k3s"
    (tmp_path / ".kube").mkdir()
    (tmp_path / ".kube" / "config").write_text("current-context: arn:aws:eks:eu-west-1:1:cluster/prod\n")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KUBECONFIG")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")  # IAM mode: an ARN context is not a cluster name
    assert default_cluster(load_settings()).startswith("(none set")
    monkeypatch.setenv("DEFAULT_CLUSTER", "prod")
    assert default_cluster(load_settings()) == "prod"


@pytest.mark.parametrize(
    ("word", "question"),
    [("pods", True), ("nodes?", True), ("crashy-7f9c", True), ("frobnicate", False), ("web?", True)],
)
def test_one_word_slash_commands(word: str, question: bool) -> None:
    from slackbot.handlers import _one_word_question

    assert _one_word_question(word) is question
