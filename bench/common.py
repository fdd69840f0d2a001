"""What every benchmark sets up: a scratch directory, the demo cluster, and settings pointing at fakes."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from tests.fakes.fake_cluster import FakeKubeAPI, seed_demo


def fake_world(name: str, **settings: str) -> tuple[Path, FakeKubeAPI]:
    """chdir into a new scratch dir, start the seeded fake cluster, set the environment; extra settings win."""
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
    os.chdir(workdir)
    kube = FakeKubeAPI().start()
    seed_demo(kube)
    kubeconfig = kube.write_kubeconfig(workdir / "kubeconfig")
    os.environ.update(
        {
            "MODEL_PROVIDER": "openai",  # never called: the benchmarks use scripted models
            "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
            "KUBECONFIG": str(kubeconfig),
            "AWS_REGION": "us-east-1",
            "SESSION_STORAGE_PATH": str(workdir / "sessions"),
            "APPROVALS_DB_PATH": str(workdir / "approvals.sqlite3"),
            "AUDIT_LOG_PATH": str(workdir / "audit.jsonl"),
            "EVENT_DEDUPE_PATH": str(workdir / "events.sqlite3"),
            "MCP_LOG_DIR": str(workdir / "log"),
            "TMPDIR": str(workdir),
            **settings,
        }
    )
    return workdir, kube
