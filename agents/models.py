"""Settings-driven model factory, with retries bounded so a user hears back within MODEL_MAX_WAIT_SECONDS.

Strands' default retry strategy waits 4+8+16+32+64 s on throttling (about two minutes): far too long for
someone on call. Provider SDKs retry on their own too; those retries are turned down so the two layers do
not multiply.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import NamedTuple
from urllib.parse import urlsplit, urlunsplit

from strands import ModelRetryStrategy
from strands.models import Model

from agents.settings import Settings

ModelFactory = Callable[[str], Model]
"""Builds the model for one agent role ("coordinator", "eks_assistant", "finops_assistant")."""

MAX_TOKENS = 4096


def retry_strategy(max_wait_seconds: int) -> ModelRetryStrategy:
    """Backoff delays that add up to about half of the wait budget, leaving the rest for the calls."""
    initial = max(1, max_wait_seconds // 15)
    return ModelRetryStrategy(
        max_attempts=4, initial_delay=initial, max_delay=max(initial, max_wait_seconds // 4)
    )


def build_model(settings: Settings, role: str = "coordinator") -> Model:
    """The model for `role` as the settings choose it; import the provider only when it is used."""
    provider = settings.model_provider
    model_id = settings.resolved_model_id
    timeout = float(settings.model_max_wait_seconds)
    if provider == "bedrock":
        from botocore.config import Config
        from strands.models.bedrock import BedrockModel

        config = Config(
            retries={"total_max_attempts": 1, "mode": "standard"},  # Strands retries, bounded
            connect_timeout=5,
            read_timeout=timeout,
            user_agent_extra="sre-bot",
        )
        if settings.aws_profile:
            import boto3

            session = boto3.Session(profile_name=settings.aws_profile, region_name=settings.aws_region)
            return BedrockModel(
                model_id=model_id, boto_session=session, boto_client_config=config, streaming=True
            )
        return BedrockModel(
            model_id=model_id, region_name=settings.aws_region, boto_client_config=config, streaming=True
        )
    if provider == "anthropic":
        from strands.models.anthropic import AnthropicModel

        return AnthropicModel(
            client_args={"api_key": settings.anthropic_api_key, "max_retries": 0, "timeout": timeout},
            model_id=model_id,
            max_tokens=MAX_TOKENS,
        )
    if provider == "openai":
        from strands.models.openai import OpenAIModel

        client_args: dict[str, object] = {
            "api_key": settings.openai_api_key or "not-needed",
            "max_retries": 0,
            "timeout": timeout,
        }
        if settings.openai_base_url:
            client_args["base_url"] = settings.openai_base_url
        return OpenAIModel(client_args=client_args, model_id=model_id)
    from strands.models.ollama import OllamaModel

    # Bounded like the others (a cold local model may need MODEL_MAX_WAIT_SECONDS raised).
    return OllamaModel(
        settings.ollama_host,
        ollama_client_args={"timeout": timeout},
        model_id=model_id,
        max_tokens=MAX_TOKENS,
    )


class ModelEndpoint(NamedTuple):
    """Where the model calls go, and the variable that moves them: what a failure message must name."""

    url: str
    setting: str


def _without_credentials(url: str) -> str:
    """A URL safe to show: no user:password, query or fragment (they may hold keys)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", "")) if parts.scheme else url


def model_endpoint(settings: Settings) -> ModelEndpoint:
    """The URL the provider's SDK calls as the settings choose it (the SDKs' own defaults included)."""
    provider = settings.model_provider
    if provider == "bedrock":
        override = (
            os.environ.get("AWS_ENDPOINT_URL_BEDROCK_RUNTIME")
            or getattr(settings, "aws_endpoint_url", None)  # a setting in .env, or the SDK's variable
            or os.environ.get("AWS_ENDPOINT_URL")
        )
        if override:
            return ModelEndpoint(_without_credentials(override), "AWS_ENDPOINT_URL")
        region = settings.aws_region or os.environ.get("AWS_DEFAULT_REGION") or "?"
        return ModelEndpoint(f"https://bedrock-runtime.{region}.amazonaws.com", "AWS_REGION")
    if provider == "anthropic":
        url = os.environ.get("ANTHROPIC_BASE_URL") or "https://api.anthropic.com"
        return ModelEndpoint(_without_credentials(url), "ANTHROPIC_BASE_URL")
    if provider == "openai":
        url = settings.openai_base_url or "https://api.openai.com/v1"
        return ModelEndpoint(_without_credentials(url), "OPENAI_BASE_URL")
    return ModelEndpoint(_without_credentials(settings.ollama_host), "OLLAMA_HOST")


def describe_model_endpoint(settings: Settings) -> str:
    """One phrase naming the model and where it was called, e.g. for doctor's connection errors.

    "openai:gpt-4o at http://127.0.0.1:9/v1 (OPENAI_BASE_URL)": a bare "Connection error." says neither.
    """
    endpoint = model_endpoint(settings)
    return f"{settings.model_provider}:{settings.resolved_model_id} at {endpoint.url} ({endpoint.setting})"


def model_factory(settings: Settings) -> ModelFactory:
    return lambda role: build_model(settings, role)
