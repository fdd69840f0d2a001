"""A real Prometheus for tests (Debian's `prometheus` binary), scraping a target whose values tests set.

`Target` serves /metrics in the text format with the values a test sets (and changes); `RealPrometheus`
runs the binary on a free loopback port with a config of its own (scrape_interval 1s) and waits for data
by polling, never by sleeping a fixed time. `AuthProxy` stands in front of it where a test needs a bearer
token checked (Prometheus checks only basic auth itself) or every request recorded.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NoReturn

import pytest

from evals.prometheus import text_server

PROMETHEUS_BINARY = "prometheus"
INSTALL_HINT = "install Debian's `prometheus` package (scripts/test does it when run as root)"


def require_real(component: str, missing: str) -> NoReturn:
    """Skip a test whose real component is missing, in one line saying what is missing; with CI=true the
    skip is a failure instead, so CI always runs the tests of its real components."""
    if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
        pytest.fail(f"{component} is missing and CI=true (CI must run these tests): {missing}", pytrace=False)
    pytest.skip(f"{component} is missing: {missing}")


def prometheus_binary() -> str:
    """The `prometheus` executable, or skip (fail under CI) saying how to get it."""
    found = shutil.which(PROMETHEUS_BINARY) or (
        "/usr/bin/prometheus" if os.access("/usr/bin/prometheus", os.X_OK) else None
    )
    if found is None:
        require_real("Prometheus", INSTALL_HINT)
    return found


def wait_ready(process: subprocess.Popen[bytes], probe: Callable[[], object], timeout: float) -> bool:
    """Poll `probe` until it answers (True), the process exits or `timeout` passes (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            probe()
            return True
        except (OSError, urllib.error.URLError):
            time.sleep(0.1)
    return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return "{" + inner + "}"


@dataclass
class _Metric:
    kind: str
    help: str
    samples: dict[tuple[tuple[str, str], ...], float] = field(default_factory=dict)


class Target:
    """An HTTP scrape target whose metric values the test sets; changes show in the next scrape."""

    def __init__(self) -> None:
        self._metrics: dict[str, _Metric] = {}
        self._lock = threading.Lock()
        self._server = text_server(self.exposition)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def address(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host!s}:{port}"

    def start(self) -> Target:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def set(self, name: str, value: float, *, kind: str = "gauge", help: str = "", **labels: str) -> None:
        with self._lock:
            metric = self._metrics.setdefault(name, _Metric(kind, help or f"{name} (a test's metric)"))
            metric.samples[tuple(sorted(labels.items()))] = value

    def exposition(self) -> str:
        lines: list[str] = []
        with self._lock:
            for name, metric in self._metrics.items():
                lines += [f"# HELP {name} {metric.help}", f"# TYPE {name} {metric.kind}"]
                lines += [f"{name}{_labels(dict(k))} {v!r}" for k, v in metric.samples.items()]
        return "\n".join(lines) + "\n"


class RealPrometheus:
    """The real binary on a loopback port, its config and data in `workdir`, stopped by `stop()`."""

    def __init__(
        self,
        binary: str,
        workdir: Path,
        jobs: dict[str, list[str]],
        *,
        web_config: Path | None = None,
        client_context: ssl.SSLContext | None = None,
        authorization: str | None = None,
        config: str | None = None,
    ) -> None:
        self.binary = binary
        self.workdir = workdir
        self.jobs = jobs
        self.web_config = web_config
        self.client_context = client_context
        self.authorization = authorization
        self.config = config  # a whole config file of the test's own, instead of `jobs`
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        scheme = "https" if self.client_context is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> RealPrometheus:
        config = self.workdir / "prometheus.yml"
        scrape = [
            {"job_name": job, "static_configs": [{"targets": targets}]} for job, targets in self.jobs.items()
        ]
        config.write_text(
            self.config
            or json.dumps(
                {"global": {"scrape_interval": "1s", "evaluation_interval": "1s"}, "scrape_configs": scrape}
            )
        )
        for _attempt in range(3):  # a free port can be taken between choosing it and binding it
            self.port = free_port()
            args = [
                self.binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={self.workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--log.level=warn",
            ]
            if self.web_config is not None:
                args.append(f"--web.config.file={self.web_config}")
            log = (self.workdir / "prometheus.log").open("ab")
            self.process = subprocess.Popen(args, stdout=log, stderr=log, cwd=self.workdir)
            log.close()
            if self._wait_ready(timeout):
                return self
            self.stop()
        raise RuntimeError(f"Prometheus did not start; see {self.workdir / 'prometheus.log'}")

    def _wait_ready(self, timeout: float) -> bool:
        assert self.process is not None
        return wait_ready(self.process, lambda: self.get("/-/ready"), timeout)

    def get(self, path: str, params: dict[str, str] | None = None) -> Any:
        url = self.url + path + ("?" + urllib.parse.urlencode(params) if params else "")
        request = urllib.request.Request(url)
        if self.authorization:
            request.add_header("Authorization", self.authorization)
        with urllib.request.urlopen(request, timeout=5, context=self.client_context) as response:
            body = response.read()
        return json.loads(body) if body[:1] == b"{" else body

    def query(self, promql: str, at: float | None = None) -> list[dict[str, Any]]:
        params = {"query": promql, **({"time": f"{at:.3f}"} if at is not None else {})}
        return list(self.get("/api/v1/query", params)["data"]["result"])

    def wait_for(
        self,
        promql: str,
        done: Callable[[list[dict[str, Any]]], bool],
        timeout: float = 30.0,
        *,
        whole_second: bool = False,
    ) -> list[dict[str, Any]]:
        """Poll an instant query until `done(result)`; the result it ended with. `whole_second`: asked at
        the last whole second, as a range ending "now" sees it (the server's "now" is a whole second)."""
        deadline = time.monotonic() + timeout
        result: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            result = self.query(promql, float(int(time.time())) if whole_second else None)
            if done(result):
                return result
            time.sleep(0.2)
        raise AssertionError(f"Prometheus never answered {promql} as expected; last: {result}")

    def wait_value(
        self, promql: str, value: float, timeout: float = 30.0, *, whole_second: bool = False
    ) -> float:
        """Poll until the query's one series has `value`; returns the sample's time."""
        result = self.wait_for(
            promql,
            lambda r: len(r) == 1 and float(r[0]["value"][1]) == value,
            timeout,
            whole_second=whole_second,
        )
        return float(result[0]["value"][0])

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class Seen:
    method: str
    path: str
    authorization: str | None


class AuthProxy:
    """A loopback HTTP front of `upstream` that lets through only requests with `authorization`, and
    records every request (method, path, Authorization); `redirect_to` answers 302 instead."""

    def __init__(self, upstream: str, authorization: str | None, redirect_to: str | None = None) -> None:
        self.upstream = upstream
        self.expected = authorization
        self.redirect_to = redirect_to
        self.seen: list[Seen] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                proxy.seen.append(Seen(self.command, self.path, self.headers.get("Authorization")))
                if proxy.redirect_to is not None:
                    self.send_response(302)
                    self.send_header("Location", proxy.redirect_to + self.path)
                    self.end_headers()
                    return
                if proxy.expected is not None and self.headers.get("Authorization") != proxy.expected:
                    self._send(401, b"Unauthorized\n", "text/plain")
                    return
                try:
                    with urllib.request.urlopen(proxy.upstream + self.path, timeout=30) as r:
                        self._send(r.status, r.read(), r.headers.get("Content-Type", "application/json"))
                except urllib.error.HTTPError as exc:
                    self._send(exc.code, exc.read(), exc.headers.get("Content-Type", "application/json"))

            def _send(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = _answer

            def log_message(self, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def running(prometheus: RealPrometheus) -> Iterator[RealPrometheus]:
    try:
        yield prometheus.start()
    finally:
        prometheus.stop()


@dataclass
class PrometheusWorld:
    """The session's Prometheus and the target it scrapes."""

    prometheus: RealPrometheus
    target: Target


def make_tls(directory: Path) -> tuple[Path, Path, Path]:
    """A throw-away CA and a certificate for 127.0.0.1 signed by it: (ca file, certificate, key). The
    certificate serves TLS and also authenticates a client (mutual TLS)."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sre-bot test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(
            x509.ExtendedKeyUsage(
                [x509.oid.ExtendedKeyUsageOID.SERVER_AUTH, x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = directory / "ca.crt", directory / "server.crt", directory / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return paths
