"""Settings-driven model factory, with retries bounded so a user hears back within ~30 s.

Strands' default retry strategy waits 4+8+16+32+64 s on throttling (about two minutes): far too long for
someone on call. Provider SDKs retry on their own too; those retries are turned down so the two layers do
not multiply.
"""

from __future__ import annotations

from collections.abc import Callable

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


def model_factory(settings: Settings) -> ModelFactory:
    return lambda role: build_model(settings, role)
