"""A real Alertmanager for tests (Debian's `prometheus-alertmanager`), delivering to a webhook of the test's.

The test pushes alerts to Alertmanager's own API (`POST /api/v2/alerts`); Alertmanager, not the test,
groups them, delivers them with the bearer token, repeats them and resolves them. Short group timings
(group_wait 1s, group_interval 2s, repeat_interval `repeat`) make a delivery arrive within seconds.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tests.real_prometheus import free_port, require_real, wait_ready

BINARY = "prometheus-alertmanager"
INSTALL_HINT = "install Debian's `prometheus-alertmanager` package (scripts/test does it when run as root)"


def alertmanager_binary() -> str:
    found = shutil.which(BINARY) or (
        f"/usr/bin/{BINARY}" if os.access(f"/usr/bin/{BINARY}", os.X_OK) else None
    )
    if found is None:
        require_real("Alertmanager", INSTALL_HINT)
    return found


class RealAlertmanager:
    """`start()`, `push(...)` alerts, `resolve(...)` them, `stop()`."""

    def __init__(self, workdir: Path, webhook: str, token: str, *, repeat: str = "6s") -> None:
        self.binary = alertmanager_binary()
        self.workdir = workdir
        self.webhook, self.token, self.repeat = webhook, token, repeat
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def config(self) -> dict[str, Any]:
        return {
            "route": {
                "receiver": "sre-bot",
                "group_by": ["alertname", "cluster"],
                "group_wait": "1s",
                "group_interval": "2s",
                "repeat_interval": self.repeat,
            },
            "receivers": [
                {
                    "name": "sre-bot",
                    "webhook_configs": [
                        {
                            "url": self.webhook,
                            "send_resolved": True,
                            "http_config": {"authorization": {"credentials": self.token}},
                        }
                    ],
                }
            ],
        }

    def start(self, timeout: float = 30.0) -> RealAlertmanager:
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "alertmanager.yml"
        config.write_text(json.dumps(self.config()))  # JSON is YAML
        for _attempt in range(3):
            self.port = free_port()
            log = (self.workdir / "alertmanager.log").open("ab")
            self.process = subprocess.Popen(
                [
                    self.binary,
                    f"--config.file={config}",
                    f"--storage.path={self.workdir / 'data'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--cluster.listen-address=",
                    "--log.level=warn",
                ],
                stdout=log,
                stderr=log,
                cwd=self.workdir,
            )
            log.close()
            if self._ready(timeout):
                return self
            self.stop()
        raise RuntimeError(f"Alertmanager did not start; see {self.workdir / 'alertmanager.log'}")

    def _ready(self, timeout: float) -> bool:
        assert self.process is not None

        def probe() -> None:
            with urllib.request.urlopen(self.url + "/-/ready", timeout=2):
                pass

        return wait_ready(self.process, probe, timeout)

    def push(self, alerts: list[dict[str, Any]]) -> None:
        """Alerts as Prometheus sends them: labels, annotations, startsAt/endsAt (RFC3339)."""
        request = urllib.request.Request(
            self.url + "/api/v2/alerts",
            data=json.dumps(alerts).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 200, response.read()

    def resolve(self, alerts: list[dict[str, Any]]) -> None:
        """The same labels with endsAt in the past: Alertmanager resolves them and (send_resolved) says so."""
        past = (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)).isoformat().replace("+00:00", "Z")
        self.push([{**alert, "endsAt": past} for alert in alerts])

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process = None
