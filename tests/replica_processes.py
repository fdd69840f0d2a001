"""Several `sre-bot run` processes on one fake Slack, as a Deployment of N replicas runs them: each in a
directory of its own (no disk in common), stopped with SIGTERM (then SIGKILL) at the end. Shared by
tests/test_replicas_e2e.py and bench/replicas.py."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from tests.fakes.slack_api import FakeSlack


@contextlib.contextmanager
def replica_processes(
    env: dict[str, str], root: Path, count: int, slack: FakeSlack, within: float = 120
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """`count` bots started with `env`, once each has its Socket Mode connection; RuntimeError with the
    end of its stderr when one exits at start instead."""
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for i in range(count):
            workdir = root / f"replica-{i}"
            workdir.mkdir()
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "frontends.cli", "run"],
                    env={
                        **env,
                        "AUDIT_LOG_PATH": str(workdir / "audit.jsonl"),
                        "MCP_LOG_DIR": str(workdir / "log"),
                        "SESSION_STORAGE_PATH": str(workdir / "sessions"),
                        "TMPDIR": str(workdir),
                    },
                    cwd=workdir,
                    stdout=subprocess.DEVNULL,
                    stderr=open(workdir / "stderr.log", "wb"),  # noqa: SIM115 - closed with the process
                )
            )
        deadline = time.monotonic() + within
        while slack.connections < count and all(p.poll() is None for p in procs):
            if time.monotonic() > deadline:
                raise TimeoutError(f"not within {within:g}s: {count} connections")
            time.sleep(0.05)
        dead = [
            (root / f"replica-{i}" / "stderr.log").read_text()[-2000:]
            for i, p in enumerate(procs)
            if p.poll() is not None
        ]
        if dead:
            raise RuntimeError(f"a replica exited at start: {dead}")
        yield procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
