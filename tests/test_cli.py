"""The command line: bad settings exit 2 with one line, --help explains the commands."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def sre_bot(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items()}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "slackbot.cli", *args],
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
    assert "KUBECONFIG: no file at" in proc.stderr
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
