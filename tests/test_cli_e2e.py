"""`sre-bot ask` as a user runs it: a separate process, the real OpenAI provider over HTTP (to a fake
OpenAI-compatible server), the real EKS MCP server against the fake cluster."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import threading
from pathlib import Path

from tests.conftest import PROJECT_ROOT
from tests.fakes.fake_cluster import FakeKubeAPI
from tests.fakes.openai_api import FakeOpenAI


def ask(question: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`sre-bot ask QUESTION` in its own process, with the test's environment plus `env`."""
    return subprocess.run(
        [sys.executable, "-m", "frontends.cli", "ask", question],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT), **env},
        cwd=cwd,
        timeout=120,
    )


def test_ask_lists_the_pods_streamed_with_tool_steps(agent_env: Path, tmp_path: Path) -> None:
    """The answer's first half is on the terminal while the model is still holding back the second."""
    halfway = threading.Event()
    with FakeOpenAI(chunk_size=8, hold={"coordinator": halfway}) as model:
        env = {**os.environ, "OPENAI_BASE_URL": model.base_url, "PYTHONPATH": str(PROJECT_ROOT)}
        env.pop("PYTHONUNBUFFERED", None)  # a pipe, buffered as for any user: the bot must flush itself
        proc = subprocess.Popen(
            [sys.executable, "-m", "frontends.cli", "ask", "list the pods in default"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=tmp_path,
        )
        assert proc.stdout is not None
        try:
            ready, _, _ = select.select([proc.stdout], [], [], 120)
            assert ready, "nothing on the terminal while the answer was being written: not streamed"
            first = os.read(proc.stdout.fileno(), 4096)
            # part of the answer, shown before the model finished writing it
            assert first.strip() and proc.poll() is None
        finally:
            halfway.set()
        rest, err = proc.communicate(timeout=120)
    out = (first + rest).decode()
    assert proc.returncode == 0, err.decode()
    for pod in ("web-6d4cf56db6-abcde", "crashy-7f9c", "imgpull-5b8d", "pending-0"):
        assert pod in out
    steps = err.decode()
    assert (
        "→ coordinator › eks_assistant: Asking the Kubernetes specialist: list the pods in default" in steps
    )
    assert "→ eks_assistant › list_k8s_resources: Listing pods in default" in steps
    assert "✓ eks_assistant › list_k8s_resources" in steps
    assert "Traceback" not in steps
    assert any("eks_assistant" in str(r.get("tools")) for r in model.requests)


def test_unreachable_model_is_a_short_error_not_a_traceback(agent_env: Path, tmp_path: Path) -> None:
    proc = ask("hello", tmp_path, OPENAI_BASE_URL="http://127.0.0.1:9/v1", MODEL_MAX_WAIT_SECONDS="2")
    assert proc.returncode == 1
    # the message names the endpoint it tried and the wait it allowed, not a fixed "30 seconds"
    assert (
        "error: The model service at http://127.0.0.1:9/v1 could not be reached or refused the request; "
        "I kept trying for up to about 2 seconds." in proc.stderr
    )
    assert "OPENAI_BASE_URL" in proc.stderr and "(correlation id " in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    # said once, by the renderer: no ERROR log line repeating it
    assert " ERROR " not in proc.stderr and "answer failed" not in proc.stderr


def test_unreachable_cluster_shows_the_note_and_exits_3(
    agent_env: Path, tmp_path: Path, kube: FakeKubeAPI
) -> None:
    kube.stop()
    with FakeOpenAI() as model:
        proc = ask("list the pods in default", tmp_path, OPENAI_BASE_URL=model.base_url)
    assert proc.returncode == 3, proc.stderr
    assert "✗ eks_assistant › list_k8s_resources" in proc.stderr
    # the bot's own note, in the operator's form, though the answer streamed
    assert "warning: The cluster's API server could not be reached.\n  Check KUBECONFIG" in proc.stderr
    assert "`sre-bot doctor` tests it." in proc.stderr
    assert "⚠️" not in proc.stdout and "Traceback" not in proc.stderr
    # the ✗ line and the note say it already
    assert " WARNING agents.runner" not in proc.stderr and " WARNING agents.turn" not in proc.stderr


def test_mcp_servers_not_installed_is_a_note_and_exit_3(agent_env: Path, tmp_path: Path) -> None:
    with FakeOpenAI() as model:
        proc = ask(
            "list the pods in default",
            tmp_path,
            OPENAI_BASE_URL=model.base_url,
            MCP_BIN_DIR=str(tmp_path / "nothing"),
            PATH=f"{Path(sys.executable).parent}:/usr/bin:/bin",
        )
    assert proc.returncode == 3, proc.stderr
    assert "warning: The EKS MCP server is not installed." in proc.stderr
    assert "scripts/setup" in proc.stderr
    assert "restarted" not in proc.stderr  # nothing restarts a server that is not there
