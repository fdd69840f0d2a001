"""`sre-bot doctor` against the fakes: every check OK; a broken part shows FAIL with its fix."""

from __future__ import annotations

import os
from pathlib import Path

from tests.fakes.openai_api import FakeOpenAI
from tests.test_cli import sre_bot


def test_doctor_all_ok_against_the_fakes(agent_env: Path, tmp_path: Path) -> None:
    with FakeOpenAI() as model:
        proc = sre_bot("doctor", env={**os.environ, "OPENAI_BASE_URL": model.base_url}, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["CHECK", "STATUS", "DETAIL"]
    status = {line[:20].strip(): line[20:].split()[0] for line in lines[1:] if not line.startswith(" ")}
    assert status == {
        "settings": "OK",
        "approvals": "OK",
        "mcp server eks": "OK",
        "mcp server billing": "OK",
        "cluster": "OK",
        "aws credentials": "OK",
        "model": "OK",
    }
    assert "list_k8s_resources" in proc.stdout and "cost-explorer" in proc.stdout


def test_doctor_names_what_fails_and_how_to_fix_it(agent_env: Path, tmp_path: Path) -> None:
    proc = sre_bot(
        "doctor",
        env={
            **os.environ,
            "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
            "DEFAULT_CLUSTER": "no-such-context",
            "EKS_MCP_ALLOW_WRITE": "true",
        },
        cwd=tmp_path,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stdout + proc.stderr
    cluster = next(line for line in proc.stdout.splitlines() if line.startswith("cluster"))
    assert "FAIL" in cluster and "no-such-context" in cluster
    model = next(line for line in proc.stdout.splitlines() if line.startswith("model"))
    assert "FAIL" in model
    approvals = next(line for line in proc.stdout.splitlines() if line.startswith("approvals"))
    assert "WARN" in approvals and "every change will be refused" in approvals
    assert "APPROVER_USER_IDS" in proc.stdout
    assert proc.stdout.count("fix:") >= 3
