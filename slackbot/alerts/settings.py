"""The alert listener's settings: off unless ALERTS_PORT is set, and then complete or refused in one line.

A class of its own (not SlackSettings) so the listener's checks read together; loaded by `sre-bot run`
and `doctor` like the others, from the environment and .env.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from agents.settings import ConfigError, describe_validation_error
from slackbot.fleet import CHANNEL_ID

MIN_TOKEN = 16  # a bearer token anyone could guess is no authentication
TOPIC_ARN = re.compile(r"arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}")


class AlertSettings(BaseSettings):
    """Where alerts come in (ALERTS_PORT), who may send them, where they go, and how many run at once."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True
    )

    alerts_port: int = Field(default=0, ge=0, le=65535)  # 0: no listener
    alerts_host: str = "0.0.0.0"  # in a pod or container the listener serves the network
    alerts_token: SecretStr | None = None  # Alertmanager's `Authorization: Bearer …`
    alert_channel: str = ""  # the default channel of alert threads (a fleet cluster may set its own)
    alert_max_concurrent: int = Field(default=2, ge=1, le=20)
    alerts_max_body_bytes: int = Field(default=1_048_576, ge=4096, le=16 * 1024 * 1024)
    # SNS: only these topics (anyone can sign an SNS message from a topic of their own account)
    alerts_sns_topic_arns: str = ""
    alerts_sns_ca_file: Path | None = None  # tests: trust a CA of their own for SNS signing certificates

    @field_validator("alert_channel")
    @classmethod
    def _channel(cls, value: str) -> str:
        value = value.strip()
        if value and not CHANNEL_ID.fullmatch(value):
            raise ValueError(f"expected a channel id such as C0123ABCD (not a #name); {value!r} is not one")
        return value

    @field_validator("alerts_sns_topic_arns")
    @classmethod
    def _topics(cls, value: str) -> str:
        for arn in filter(None, (a.strip() for a in value.split(","))):
            if not TOPIC_ARN.fullmatch(arn):
                raise ValueError(
                    f"expected SNS topic ARNs (arn:aws:sns:REGION:ACCOUNT:NAME), comma-separated; {arn!r} is not one"
                )
        return value

    @property
    def enabled(self) -> bool:
        return self.alerts_port > 0

    @property
    def topics(self) -> frozenset[str]:
        return frozenset(a.strip() for a in self.alerts_sns_topic_arns.split(",") if a.strip())

    @property
    def token(self) -> str:
        return self.alerts_token.get_secret_value() if self.alerts_token else ""

    def problems(self) -> list[ConfigError]:
        """What an enabled listener lacks; nothing when ALERTS_PORT is 0 (the rest is then unused)."""
        if not self.enabled:
            return []
        found = []
        if not self.token and not self.topics:
            found.append(
                ConfigError(
                    "ALERTS_TOKEN",
                    "set it (Alertmanager's bearer token) or ALERTS_SNS_TOPIC_ARNS (CloudWatch via SNS): "
                    "with neither, no alert could be accepted",
                )
            )
        if self.token and len(self.token) < MIN_TOKEN:
            found.append(
                ConfigError("ALERTS_TOKEN", f"at least {MIN_TOKEN} characters (e.g. `openssl rand -hex 24`)")
            )
        if not self.alert_channel:
            found.append(
                ConfigError("ALERT_CHANNEL", "the channel id alert threads are posted in, such as C0123ABCD")
            )
        ca = self.alerts_sns_ca_file
        if ca is not None and not ca.is_file():
            found.append(ConfigError("ALERTS_SNS_CA_FILE", f"no readable file at {ca}: a PEM file of the CA"))
        return found


def load_alert_settings(**overrides: Any) -> AlertSettings:
    """Read and check the alert settings; raises ConfigError naming the variable."""
    try:
        settings = AlertSettings(**overrides)
    except ValidationError as exc:
        raise describe_validation_error(dict(exc.errors()[0]), AlertSettings) from None
    problems = settings.problems()
    if problems:
        raise problems[0]
    return settings
