"""Starting the Slack app logs what matters and nothing misleading."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from agents.settings import load_settings
from agents.state.approvals import SqliteApprovalStore
from agents.state.claims import SqliteDedupe
from slackbot.app import build_bot, slack_assistant
from slackbot.config import SlackSettings
from tests.fakes.brains import default_brains
from tests.fakes.scripted_model import ScriptedModels
from tests.fakes.slack_api import APP_TOKEN, BOT_TOKEN, BOT_USER


def test_no_token_skipped_warning_when_the_token_is_in_the_environment(
    agent_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Under compose SLACK_BOT_TOKEN is in the environment; Bolt warned at every start that our client
    (which carries that very token) wins over it."""
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    settings = load_settings()
    approvals = SqliteApprovalStore(settings.approvals_db_path)
    assistant = slack_assistant(settings, approvals, models=ScriptedModels(default_brains()))
    slack = SlackSettings(
        slack_bot_token=BOT_TOKEN,
        slack_app_token=APP_TOKEN,
        slack_api_url="http://127.0.0.1:9/api/",
        event_dedupe_path=tmp_path / "events.sqlite3",
    )
    try:
        with caplog.at_level(logging.DEBUG):
            build_bot(
                settings,
                slack,
                assistant,
                bot_user_id=BOT_USER,
                dedupe=SqliteDedupe(tmp_path / "events.sqlite3"),
                approvals=approvals,
            )
    finally:
        assistant.close()
    assert not [r for r in caplog.records if "token` will be unused" in r.getMessage()]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING and r.name.startswith("slack_bolt")]
