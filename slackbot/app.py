"""Slack front end (Socket Mode). Built in issue 4."""

from __future__ import annotations

from agents.settings import ConfigError, Settings


def run(settings: Settings) -> int:
    raise ConfigError("SLACK_BOT_TOKEN", "the Slack front end is not part of this build yet")
