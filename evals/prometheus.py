"""A real Prometheus for the metrics cases: Debian's `prometheus` binary scraping, every second, a target
that exposes the case's gauges. A case's values are queryable once Prometheus has scraped them; `show`
waits for that by polling, never by a fixed sleep.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

from evals.cases import Series

WAIT_SECONDS = 30.0


class PrometheusMissing(RuntimeError):
    """No `prometheus` binary: the metrics cases cannot run offline here."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _exposition(series: Sequence[Series]) -> str:
    lines: list[str] = []
    for name in dict.fromkeys(s.name for s in series):
        lines.append(f"# TYPE {name} gauge")
        for s in series:
            if s.name == name:
                labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
                lines.append(f"{name}{{{labels}}} {s.value}" if labels else f"{name} {s.value}")
    return "\n".join(lines) + "\n"


def text_server(render: Callable[[], str]) -> ThreadingHTTPServer:
    """A scrape target bound to a loopback port (serve it with `serve_forever`): every GET answers
    `render()` in Prometheus' text format, read afresh, so a change shows in the next scrape."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = render().encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return None

    return ThreadingHTTPServer(("127.0.0.1", 0), Handler)


class PrometheusWorld:
    """The target (its series replaced per case) and the Prometheus scraping it."""

    def __init__(self, binary: str, directory: Path) -> None:
        self.series: list[Series] = []
        self.target = text_server(lambda: _exposition(self.series))
        threading.Thread(target=self.target.serve_forever, name="eval-target", daemon=True).start()
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        directory.mkdir(parents=True, exist_ok=True)
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "scrape_configs": [
                {
                    "job_name": "eval",
                    "static_configs": [{"targets": [f"127.0.0.1:{self.target.server_address[1]}"]}],
                }
            ],
        }
        (directory / "prometheus.yml").write_text(yaml.safe_dump(config))
        self.process = subprocess.Popen(
            [
                binary,
                f"--config.file={directory / 'prometheus.yml'}",
                f"--storage.tsdb.path={directory / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._wait(lambda: self.query("up") or None, "Prometheus did not start")

    def query(self, promql: str) -> list[dict[str, Any]]:
        url = f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                data = json.loads(response.read())
        except (OSError, urllib.error.URLError, ValueError):
            return []
        result = data.get("data", {}).get("result", [])
        return result if isinstance(result, list) else []

    def show(self, series: Sequence[Series]) -> None:
        """Expose the case's series and wait until Prometheus returns each one's value."""
        self.series = list(series)
        for s in series:
            selector = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
            promql = f"{s.name}{{{selector}}}"
            self._wait(
                lambda q=promql, v=s.value: any(float(r["value"][1]) == v for r in self.query(q)) or None,
                f"Prometheus did not scrape {promql} = {s.value} within {WAIT_SECONDS:.0f} s",
            )

    def _wait(self, probe: Any, failure: str) -> None:
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise PrometheusMissing(f"Prometheus exited with code {self.process.returncode}")
            if probe():
                return
            time.sleep(0.2)
        raise PrometheusMissing(failure)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.target.shutdown()


def start_prometheus(directory: Path) -> PrometheusWorld:
    """Debian's `prometheus` (apt-get install prometheus), or PrometheusMissing saying how to get it."""
    binary = shutil.which("prometheus") or (
        "/usr/bin/prometheus" if Path("/usr/bin/prometheus").exists() else None
    )
    if binary is None:
        raise PrometheusMissing(
            "the metrics cases need a `prometheus` binary (apt-get install prometheus), or leave them "
            "out with --tags"
        )
    return PrometheusWorld(binary, directory)
