"""The command line: bad settings exit 2 with one line, --help explains the commands."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes.openai_api import FakeOpenAI

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def sre_bot(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items()}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "frontends.cli", *args],
        capture_output=True,
        text=True,
        env={**full_env, "PYTHONPATH": str(PROJECT_ROOT)},
        cwd=cwd,
        timeout=120,
    )


def test_unknown_provider_is_one_line_and_exit_2(tmp_path: Path) -> None:
    proc = sre_bot("ask", "hi", env={"MODEL_PROVIDER": "nonsense"}, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert lines == [
        "sre-bot: configuration error: MODEL_PROVIDER: expected one of bedrock, anthropic, openai, ollama "
        "(got 'nonsense')"
    ]


def test_an_unwritable_state_path_is_one_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    env = {"AWS_REGION": "us-east-1", "SESSION_STORAGE_PATH": str(tmp_path / "a-file" / "sessions")}
    proc = sre_bot("ask", "hi", env=env, cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith("sre-bot: configuration error: SESSION_STORAGE_PATH: cannot write to ")


def test_missing_kubeconfig_file_is_named(tmp_path: Path) -> None:
    proc = sre_bot(
        "doctor", env={"MODEL_PROVIDER": "ollama", "KUBECONFIG": str(tmp_path / "nope")}, cwd=tmp_path
    )
    assert proc.returncode == 2
    assert "KUBECONFIG: no file at" in proc.stdout  # doctor's table lists every bad setting with its fix
    assert "Traceback" not in proc.stderr


def test_help_explains_the_commands(tmp_path: Path) -> None:
    proc = sre_bot("--help", cwd=tmp_path)
    assert proc.returncode == 0
    for command in ("ask QUESTION", "doctor", "run"):
        assert command in proc.stdout


def test_empty_question_says_what_to_type(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kc"
    kubeconfig.write_text("{}")
    proc = sre_bot("ask", "  ", env={"MODEL_PROVIDER": "ollama", "KUBECONFIG": str(kubeconfig)}, cwd=tmp_path)
    assert proc.returncode == 2
    assert 'sre-bot ask "list the pods in default"' in proc.stderr


def test_help_says_what_each_exit_code_means(tmp_path: Path) -> None:
    from frontends import terminal

    for argv in (("--help",), ("ask", "--help")):
        proc = sre_bot(*argv, cwd=tmp_path)
        assert proc.returncode == 0
        codes = {
            line.split()[0]
            for line in proc.stdout.splitlines()
            if line[:2] == "  " and line.split()[0].isdigit()
        }
        assert {"0", "1", "2", "3", "130"} <= codes, proc.stdout
    # the help and the terminal agree on the numbers
    assert (terminal.EXIT_ANSWERED, terminal.EXIT_FAILED, terminal.EXIT_INCOMPLETE) == (0, 1, 3)
    assert terminal.EXIT_USAGE == 2  # an unknown --cluster, said under 2 with the configuration errors
    assert "3    ask: answered, but a tool failed" in proc.stdout


def test_an_empty_question_is_said_before_any_settings_error(tmp_path: Path) -> None:
    proc = sre_bot("ask", "", env={"MODEL_PROVIDER": "nonsense"}, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        'sre-bot: the question is empty; try: sre-bot ask "list the pods in default"'
    ]


# --- ask --cluster: an unknown cluster is one line and exit 2, before any model or server runs -------


def test_ask_help_explains_the_cluster_option(tmp_path: Path) -> None:
    proc = sre_bot("ask", "--help", cwd=tmp_path)
    assert proc.returncode == 0
    assert "--cluster NAME" in proc.stdout and "CLUSTERS_FILE" in proc.stdout
    assert "repeat it to compare clusters" in " ".join(proc.stdout.split())
    assert (
        "2    configuration error (a setting missing or wrong), an empty question, or an unknown --cluster"
        in (proc.stdout)
    )


def test_ask_cluster_other_than_the_one_of_todays_settings_is_one_line_and_exit_2(
    agent_env: Path, tmp_path: Path
) -> None:
    """No CLUSTERS_FILE: the fleet of one is the kubeconfig's current context; another name is refused,
    listing it, and no model is asked (the option may come after the question too)."""
    with FakeOpenAI() as model:
        proc = sre_bot(
            "ask",
            "list the pods in default",
            "--cluster",
            "prod",
            env={"OPENAI_BASE_URL": model.base_url},
            cwd=tmp_path,
        )
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [
        "sre-bot: There is no cluster 'prod' in this bot's fleet. Known clusters: fake-k3s (default)."
    ]
    assert model.requests == []
    assert not list((tmp_path / "log").glob("*")), "no MCP server was started"


def test_ask_cluster_without_any_cluster_configured_says_none_is(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n")  # no current-context, no DEFAULT_CLUSTER
    env = {
        "MODEL_PROVIDER": "openai",
        "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
        "KUBECONFIG": str(kubeconfig),
    }
    proc = sre_bot("ask", "--cluster", "prod", "list the pods", env=env, cwd=tmp_path)
    assert proc.returncode == 2
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith("sre-bot: There is no cluster 'prod' in this bot's fleet. Known clusters: none (")
    assert "CLUSTERS_FILE" in line and "Traceback" not in proc.stderr


# --- scripts/setup: checked without installing anything --------------------------------------------

SETUP = PROJECT_ROOT / "scripts" / "setup"


def setup(*args: str, path: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SETUP), *args],
        capture_output=True,
        text=True,
        env={"PATH": path, "HOME": str(home)},
        timeout=60,
    )


def test_setup_script_parses_and_explains_itself(tmp_path: Path) -> None:
    assert subprocess.run(["bash", "-n", str(SETUP)]).returncode == 0
    proc = setup("--help", path="/usr/bin:/bin", home=tmp_path)
    assert proc.returncode == 0 and "--dry-run" in proc.stdout
    assert setup("--bogus", path="/usr/bin:/bin", home=tmp_path).returncode == 2


def test_setup_dry_run_without_uv_says_the_path_line_and_the_next_command(tmp_path: Path) -> None:
    proc = setup("--dry-run", path="/usr/bin:/bin", home=tmp_path)  # no uv under this HOME nor on PATH
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "would run: python3 -m pip install --user uv==" in out or "bootstrap_uv.py" in out
    assert "would run: uv sync --locked" in out and "would run: scripts/install-mcp-servers" in out
    assert "uv is not on your PATH" in out and 'export PATH="' in out
    assert out.rstrip().endswith('uv run sre-bot ask "list the pods in default"')


def test_setup_dry_run_with_uv_on_path_needs_no_path_line(tmp_path: Path) -> None:
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    (fake_bin / "uv").write_text("#!/bin/sh\nexit 0\n")
    (fake_bin / "uv").chmod(0o755)
    proc = setup("--dry-run", path=f"{fake_bin}:/usr/bin:/bin", home=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "installing uv" not in proc.stdout and "not on your PATH" not in proc.stdout
    assert "uv run sre-bot doctor" in proc.stdout


# --- Slack unreachable: the network is named, not a setting ------------------------------------------


class _NoNetwork:
    """An AsyncWebClient whose every call fails as a machine without DNS fails."""

    def __init__(self, **_: object) -> None:
        pass

    async def auth_test(self) -> None:
        raise OSError(
            "Cannot connect to host slack.com:443 ssl:default [Temporary failure in name resolution]"
        )


def test_slack_unreachable_on_its_default_url_is_a_network_problem(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from frontends import cli
    from slackbot import config

    monkeypatch.setattr(config, "AsyncWebClient", _NoNetwork)
    monkeypatch.setattr(config, "CONNECT_RETRY_DELAYS", ())
    monkeypatch.setattr(cli, "setup_logging", lambda *a, **k: None)  # keep pytest's log capture
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
    for key, value in {
        "MODEL_PROVIDER": "ollama",
        "KUBECONFIG": str(kubeconfig),
        "SLACK_BOT_TOKEN": "xoxb-1-2-abc",
        "SLACK_APP_TOKEN": "xapp-1-A1-2-abc",
    }.items():
        monkeypatch.setenv(key, value)
    assert cli.main(["run"]) == cli.EXIT_UNREACHABLE == 1
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("sre-bot: cannot reach slack.com: DNS failed (OSError: ")
    assert "configuration error" not in line and "SLACK_API_URL" not in line


def test_slack_unreachable_on_a_url_someone_set_still_names_the_setting() -> None:
    from agents.settings import ConfigError
    from slackbot.config import SlackSettings, unreachable_error

    slack = SlackSettings(slack_api_url="https://slack-gov.example/api/")
    error = unreachable_error(slack, OSError("Connection refused"))
    assert isinstance(error, ConfigError)
    assert str(error).startswith(
        "SLACK_API_URL: cannot reach Slack at https://slack-gov.example/api/ (connection refused"
    )


def test_ask_refuses_the_audit_log_on_standard_output(agent_env: Path, tmp_path: Path) -> None:
    """`ask` streams its answer (model text that pod logs can shape) to stdout: audit records there could
    be split by it, or forged by it. AUDIT_LOG_PATH=- is for `sre-bot run`."""
    proc = sre_bot("ask", "hello", env={"AUDIT_LOG_PATH": "-"}, cwd=tmp_path)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip().splitlines()[-1] == (
        "sre-bot: configuration error: AUDIT_LOG_PATH: `-` (standard output) is for `sre-bot run`; "
        "`ask` writes its answer there: give a file"
    )
