"""Shared fixtures: a clean environment per test, so a developer's .env or AWS profile never leaks in."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agents.redact import forget_secrets
from agents.settings import Settings
from slackbot.alerts.settings import AlertSettings
from slackbot.config import SlackSettings

SETTING_VARS = [
    name.upper()
    for name in (*Settings.model_fields, *SlackSettings.model_fields, *AlertSettings.model_fields)
] + [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ENDPOINT_URL",
    "AWS_DEFAULT_REGION",
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_API_URL",
]
PROJECT_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """Each test runs in its own empty directory with no sre-bot or AWS settings in the environment."""
    for name in SETTING_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MCP_BIN_DIR", str(PROJECT_ROOT / ".tools" / "bin"))
    # A developer's own ~/.kube/config would switch tests to kubeconfig mode (the bot follows kubectl).
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.chdir(tmp_path)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield tmp_path
    os.chdir(PROJECT_ROOT)
    forget_secrets()  # the configured secrets a test's build_core remembered are not the next test's
    # a test that ran the CLI in-process set up logging to its captured stderr: not the next test's
    root.handlers[:] = handlers
    root.setLevel(level)


# --- agents against the fake cluster and moto -------------------------------------------------------

import requests  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402

from tests.fakes.fake_cluster import FakeKubeAPI, seed_demo  # noqa: E402


@pytest.fixture
def kube() -> Iterator[FakeKubeAPI]:
    """The demo cluster, fresh per test (the real EKS server talks to it over HTTP)."""
    api = FakeKubeAPI().start()
    seed_demo(api)
    yield api
    api.stop()


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


class SerialDynamoDB:
    """moto checks a write's condition and writes without a lock, so two requests at once can both pass
    it; DynamoDB serialises the writes of an item. Here DynamoDB requests take turns (the racers still
    send at once), so a race test decides between the bot's conditions, not moto's interleavings."""

    def __init__(self, app: Any) -> None:
        self.app, self.lock = app, threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if not str(environ.get("HTTP_X_AMZ_TARGET", "")).startswith("DynamoDB_"):
            return self.app(environ, start_response)
        with self.lock:
            return list(self.app(environ, start_response))


class SerialMotoServer(ThreadedMotoServer):
    def _server_entry(self) -> None:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        app = SerialDynamoDB(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(
            self._ip_address, self._port, app, True, request_handler=MotoRequestHandler
        )
        self._server_ready_event.set()
        self._server.serve_forever()


@pytest.fixture(scope="session")
def state_moto_url() -> Iterator[str]:
    """moto for the shared state (DynamoDB, S3), its DynamoDB as atomic per request as the real one.
    Its request log is off: werkzeug would bind it to the stderr of whichever test first made a request."""
    werkzeug = logging.getLogger("werkzeug")
    werkzeug.addHandler(logging.NullHandler())
    werkzeug.setLevel(logging.WARNING)
    server = SerialMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(params=["local", "aws"])
def backend(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Each state backend in turn (tests/state_backends.py): SQLite files, then DynamoDB on moto."""
    from tests.state_backends import make_backend

    return make_backend(request, tmp_path, monkeypatch)


def seed_costs(
    moto_url: str, groups: dict[str, str], start: str = "2026-10-01", end: str = "2026-11-01"
) -> None:
    """Queue one Cost Explorer result (moto hands queued results out once per distinct request)."""
    from evals.world import ce_result

    result = ce_result(start, end, groups)
    response = requests.post(
        f"{moto_url}/moto-api/static/ce/cost-and-usage-results", json={"results": [result]}
    )
    assert response.status_code == 201


@pytest.fixture
def agent_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, kube: FakeKubeAPI, moto_url: str) -> Path:
    """Settings as a user would set them, pointing at the fakes; returns the kubeconfig."""
    kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig")
    env = {
        "MODEL_PROVIDER": "openai",
        "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",  # replaced by a scripted model or FakeOpenAI per test
        "KUBECONFIG": str(kubeconfig),
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL": moto_url,
        "EKS_MCP_ALLOW_SENSITIVE_DATA": "true",
        "MCP_LOG_DIR": str(tmp_path / "log"),
        "SESSION_STORAGE_PATH": str(tmp_path / "sessions"),
        "TMPDIR": str(tmp_path),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return kubeconfig


# --- a real Prometheus (Debian's package) ----------------------------------------------------------------

from tests.real_prometheus import PrometheusWorld, RealPrometheus, Target, free_port, prometheus_binary  # noqa: E402


@pytest.fixture(scope="session")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusWorld]:
    """One real Prometheus for the session, scraping every second a target whose values tests set (each
    test its own metric names) and a job whose target is down. Skipped, or failed under CI=true, without
    the binary."""
    binary = prometheus_binary()
    target = Target().start()
    real = RealPrometheus(
        binary,
        tmp_path_factory.mktemp("prometheus"),
        {"demo": [target.address], "gone": [f"127.0.0.1:{free_port()}"]},
    )
    try:
        real.start()
        yield PrometheusWorld(real, target)
    finally:
        real.stop()
        target.stop()
