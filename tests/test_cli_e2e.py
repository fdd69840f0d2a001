"""`sre-bot ask` as a user runs it: a separate process, the real OpenAI provider over HTTP (to a fake
OpenAI-compatible server), the real EKS MCP server against the fake cluster."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import PROJECT_ROOT
from tests.fakes.openai_api import FakeOpenAI


def test_ask_lists_the_pods_streamed_with_tool_steps(agent_env: Path, tmp_path: Path) -> None:
    with FakeOpenAI(chunk_size=8) as model:
        env = {**os.environ, "OPENAI_BASE_URL": model.base_url, "PYTHONPATH": str(PROJECT_ROOT)}
        proc = subprocess.Popen(
            [sys.executable, "-m", "slackbot.cli", "ask", "list the pods in default"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=tmp_path,
        )
        assert proc.stdout is not None
        reads: list[tuple[float, bytes]] = []
        while chunk := os.read(proc.stdout.fileno(), 64):
            reads.append((time.monotonic(), chunk))
        _, err = proc.communicate(timeout=120)
    out = b"".join(c for _, c in reads).decode()
    assert proc.returncode == 0, err.decode()
    for pod in ("web-6d4cf56db6-abcde", "crashy-7f9c", "imgpull-5b8d", "pending-0"):
        assert pod in out
    steps = err.decode()
    assert "→ coordinator › eks_assistant: list the pods in default" in steps
    assert "→ eks_assistant › list_k8s_resources: list Pod in default" in steps
    assert "✓ eks_assistant › list_k8s_resources" in steps
    assert "Traceback" not in steps
    assert any("eks_assistant" in str(r.get("tools")) for r in model.requests)


def test_unreachable_model_is_a_short_error_not_a_traceback(agent_env: Path, tmp_path: Path) -> None:
    env = {**os.environ, "OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "PYTHONPATH": str(PROJECT_ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "slackbot.cli", "ask", "hello"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 1
    assert "error: The model service could not be reached or refused the request." in proc.stderr
    assert "OPENAI_BASE_URL" in proc.stderr and "(correlation id " in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
