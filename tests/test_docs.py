"""Every setting is documented in .env.example and README, and the example file loads as it is."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from agents.settings import Settings, load_settings
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
    settings = load_settings()
    assert settings.model_provider == "bedrock"
    assert settings.resolved_auth_mode == "iam"
