"""The model factory: every provider is built with bounded waiting (no SDK retry storms, timeouts set)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.models import build_model, retry_strategy
from agents.settings import load_settings


@pytest.fixture
def base_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("MODEL_MAX_WAIT_SECONDS", "12")


@pytest.mark.parametrize(
    ("provider", "extra"),
    [
        ("bedrock", {}),
        ("anthropic", {"ANTHROPIC_API_KEY": "sk-ant-test"}),
        ("openai", {"OPENAI_BASE_URL": "http://127.0.0.1:1/v1"}),
        ("ollama", {"OLLAMA_HOST": "http://127.0.0.1:1"}),
    ],
)
def test_each_provider_is_built_with_bounded_waiting(
    base_env: None, monkeypatch: pytest.MonkeyPatch, provider: str, extra: dict[str, str]
) -> None:
    monkeypatch.setenv("MODEL_PROVIDER", provider)
    monkeypatch.setenv("MODEL_ID", "some-model")
    for key, value in extra.items():
        monkeypatch.setenv(key, value)
    model = build_model(load_settings())
    assert model.get_config()["model_id"] == "some-model"  # type: ignore[index]
    if provider == "bedrock":  # Strands' bounded retries are the only ones: botocore makes one attempt
        client_config = model.client.meta.config  # type: ignore[attr-defined]
        assert client_config.read_timeout == 12 and client_config.retries["total_max_attempts"] == 1
    elif provider == "anthropic":
        client = model.client  # type: ignore[attr-defined]
        assert client.max_retries == 0 and client.timeout == 12.0
    elif provider == "openai":
        args = model.client_args  # type: ignore[attr-defined]
        assert args["max_retries"] == 0 and args["timeout"] == 12.0
    else:
        assert model.client_args == {"timeout": 12.0}  # type: ignore[attr-defined]


@pytest.mark.parametrize("budget", [1, 12, 30, 120])
def test_the_retry_backoff_fits_in_the_wait_budget(budget: int) -> None:
    strategy = retry_strategy(budget)
    delays, delay = [], strategy._initial_delay
    for _ in range(strategy._max_attempts - 1):
        delays.append(min(delay, strategy._max_delay))
        delay *= 2
    assert sum(delays) <= max(budget * 0.75, 3)


@pytest.mark.parametrize(
    ("provider", "extra", "expected"),
    [
        ("bedrock", {}, "https://bedrock-runtime.eu-west-1.amazonaws.com (AWS_REGION)"),
        (
            "bedrock",
            {"AWS_ENDPOINT_URL": "http://127.0.0.1:5000"},
            "http://127.0.0.1:5000 (AWS_ENDPOINT_URL)",
        ),
        ("anthropic", {"ANTHROPIC_API_KEY": "sk-ant-test"}, "https://api.anthropic.com (ANTHROPIC_BASE_URL)"),
        ("openai", {"OPENAI_BASE_URL": "http://127.0.0.1:1/v1"}, "http://127.0.0.1:1/v1 (OPENAI_BASE_URL)"),
        ("openai", {"OPENAI_API_KEY": "sk-test"}, "https://api.openai.com/v1 (OPENAI_BASE_URL)"),
        ("ollama", {"OLLAMA_HOST": "http://ollama:11434"}, "http://ollama:11434 (OLLAMA_HOST)"),
    ],
)
def test_the_endpoint_a_failure_names_is_the_one_called(
    base_env: None, monkeypatch: pytest.MonkeyPatch, provider: str, extra: dict[str, str], expected: str
) -> None:
    from agents.models import describe_model_endpoint

    monkeypatch.setenv("MODEL_PROVIDER", provider)
    monkeypatch.setenv("MODEL_ID", "some-model")
    for key, value in extra.items():
        monkeypatch.setenv(key, value)
    assert describe_model_endpoint(load_settings()) == f"{provider}:some-model at {expected}"


def test_an_endpoint_is_shown_without_its_credentials(
    base_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agents.models import model_endpoint

    monkeypatch.setenv("MODEL_PROVIDER", "openai")
    monkeypatch.setenv("OPENAI_BASE_URL", "https://user:s3cret@proxy.example:8443/v1?key=s3cret")
    assert model_endpoint(load_settings()).url == "https://proxy.example:8443/v1"
