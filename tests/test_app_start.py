"""Starting the Slack app logs what matters and nothing misleading."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from agents.settings import load_settings
from slackbot.app import build_bot, slack_core
from slackbot.config import ApproverSettings, SlackSettings
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
    core = slack_core(
        settings, claims_path=tmp_path / "events.sqlite3", models=ScriptedModels(default_brains())
    )
    slack = SlackSettings(
        slack_bot_token=BOT_TOKEN,
        slack_app_token=APP_TOKEN,
        slack_api_url="http://127.0.0.1:9/api/",
        event_dedupe_path=tmp_path / "events.sqlite3",
    )
    try:
        with caplog.at_level(logging.DEBUG):
            bot = build_bot(settings, slack, core, bot_user_id=BOT_USER)
    finally:
        core.close()
    assert bot.approvals.approvers.fleet is core.assistant.fleet  # a cluster's own approvers reach the desk
    assert not [r for r in caplog.records if "token` will be unused" in r.getMessage()]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING and r.name.startswith("slack_bolt")]


@pytest.mark.parametrize(
    ("approvers", "configured"),
    [({"approver_user_ids": "U2"}, True), ({"approver_usergroup": "S0ONCALL"}, True), ({}, False)],
)
def test_slack_gets_approvals_where_approvers_are_set_and_refuses_in_its_own_words(
    agent_env: Path, tmp_path: Path, approvers: dict[str, str], configured: bool
) -> None:
    settings = load_settings()
    given = ApproverSettings(_env_file=None, **approvers)  # type: ignore[call-arg]
    assistant = slack_core(settings, given, models=ScriptedModels(default_brains())).assistant
    assistant.close()
    assert assistant.policy.approvals_configured is configured
    assert assistant.policy.read_only_message() == (
        "Read-only mode: this bot cannot change the cluster. An operator can enable changes with "
        "EKS_MCP_ALLOW_WRITE=true (each change then needs an approval in Slack)."
    )
    assert assistant.policy.no_approvers_message() == (
        "Changes are enabled but nobody is configured to approve them, so nothing was changed. Set "
        "APPROVER_USER_IDS (Slack user ids) or APPROVER_USERGROUP (a user group id) to enable approvals."
    )


def test_slack_reads_its_approvers_from_the_environment_unless_given(
    agent_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = load_settings()
    monkeypatch.setenv("APPROVER_USER_IDS", "U2")
    assistant = slack_core(settings, models=ScriptedModels(default_brains())).assistant
    assistant.close()
    assert assistant.policy.approvals_configured is True


def test_replica_count_gives_each_replica_its_share_of_slacks_tiers(
    agent_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """REPLICA_COUNT=3: each replica's chat.update budget is a third of Slack's Tier 3 (50/min)."""
    monkeypatch.setenv("REPLICA_COUNT", "3")
    settings = load_settings()
    core = slack_core(
        settings, claims_path=tmp_path / "events.sqlite3", models=ScriptedModels(default_brains())
    )
    slack = SlackSettings(
        slack_bot_token=BOT_TOKEN, slack_app_token=APP_TOKEN, event_dedupe_path=tmp_path / "e"
    )
    try:
        bot = build_bot(settings, slack, core, bot_user_id=BOT_USER)
    finally:
        core.close()
    bot.budget.reserve_fraction = 0.0
    assert sum(bot.budget.try_take("chat.update") for _ in range(60)) == 16
