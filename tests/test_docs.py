"""Every setting is documented in .env.example and README, and the example file loads as it is."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from agents.settings import Settings, drop_empty_environment, load_settings
from slackbot.config import SlackSettings

ROOT = Path(__file__).resolve().parent.parent
EXTRA_SETTINGS: list[str] = []  # settings read outside the Settings class (none yet)


def documented(path: Path) -> set[str]:
    return set(re.findall(r"\b([A-Z][A-Z0-9_]{2,})\b", path.read_text()))


@pytest.mark.parametrize("doc", [".env.example", "README.md"])
def test_every_setting_is_documented(doc: str) -> None:
    fields = [*Settings.model_fields, *SlackSettings.model_fields]
    names = {name.upper() for name in fields} | set(EXTRA_SETTINGS)
    missing = sorted(names - documented(ROOT / doc))
    assert missing == [], f"{doc} does not document {missing}"


def test_env_example_loads_with_only_a_kubeconfig_added(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(ROOT / ".env.example", tmp_path / ".env")
    monkeypatch.setenv("DEFAULT_CLUSTER", "my-cluster")  # IAM mode needs the EKS cluster's name
    settings = load_settings()
    assert settings.model_provider == "bedrock"
    assert settings.resolved_auth_mode == "iam"


def test_env_example_as_an_env_file_keeps_the_images_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """docker compose's env_file turns `NAME=` into NAME="" and it beats the image's ENV."""
    image_env = dict(
        re.findall(r"^\s+(?:ENV\s+)?([A-Z_]+)=(\S+?)\s*\\?$", (ROOT / "Dockerfile").read_text(), re.M)
    )
    assert "MCP_BIN_DIR" in image_env and "SESSION_STORAGE_PATH" in image_env
    assigned = dict(re.findall(r"^([A-Z][A-Z0-9_]+)=(.*)$", (ROOT / ".env.example").read_text(), re.M))
    assert set(assigned) == {"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "MODEL_PROVIDER", "AWS_REGION"}
    assert not set(assigned) & set(image_env)


def test_empty_values_mean_not_set_for_the_bot_boto3_and_the_mcp_servers(
    agent_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_PROFILE", "MCP_BIN_DIR", "MODEL_ID", "AWS_SESSION_TOKEN", "HEALTH_PORT"):
        monkeypatch.setenv(name, "")
    monkeypatch.setenv("UNRELATED", "")
    settings = load_settings()
    assert settings.aws_profile is None and settings.model_id is None
    assert SlackSettings().health_port == 8080
    dropped = drop_empty_environment([*Settings.model_fields, *SlackSettings.model_fields])
    assert {"AWS_PROFILE", "MCP_BIN_DIR", "MODEL_ID", "AWS_SESSION_TOKEN"} <= set(dropped)
    assert "AWS_PROFILE" not in os.environ and os.environ["UNRELATED"] == ""
