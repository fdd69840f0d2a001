"""The only way out of this process: GETs to PROMETHEUS_URL's `/api/v1/…` endpoints, nothing else.

The settings come from this process's environment, which the bot builds for this server alone (the token
is in no other process). No redirect is followed (it could lead elsewhere with the credentials), a CA
file replaces the system's trust store when set, and an error answer hands on Prometheus' own
`errorType` and `error`, because "400 Bad Request" tells a model nothing it can fix a query with.
"""

from __future__ import annotations

import base64
import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mcp.server.mcpserver.exceptions import ToolError

from mcpservers.prometheus.limits import Limits

# What this server may ask Prometheus: reading endpoints of its HTTP API, by name.
ENDPOINTS = frozenset({"query", "query_range", "label/__name__/values", "metadata", "targets"})


class ConfigError(Exception):
    """The environment does not describe a Prometheus this server can use (it does not start)."""


@dataclass(frozen=True)
class Config:
    """Where Prometheus is and how to authenticate; the credential never appears in a repr or message."""

    url: str  # scheme://host[:port][/path], no trailing slash, no credentials
    authorization: str | None = field(default=None, repr=False)
    auth_words: str = "without credentials"  # how it authenticates, in words an error can show
    ca_file: str | None = None
    timeout: float = 20.0
    limits: Limits = field(default_factory=Limits)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Config:
        url = _base_url(env.get("PROMETHEUS_URL", ""))
        token = env.get("PROMETHEUS_TOKEN", "").strip()
        user = env.get("PROMETHEUS_USERNAME", "").strip()
        authorization, words = None, "without credentials"
        if token and user:
            raise ConfigError("set PROMETHEUS_TOKEN or PROMETHEUS_USERNAME/PASSWORD, not both")
        if token:
            authorization, words = f"Bearer {token}", "with the bearer token of PROMETHEUS_TOKEN"
        elif user:
            pair = f"{user}:{env.get('PROMETHEUS_PASSWORD', '')}".encode()
            authorization = "Basic " + base64.b64encode(pair).decode()
            words = f"as PROMETHEUS_USERNAME {user}"
        limits = Limits()
        if env.get("PROMETHEUS_MAX_RESULT_CHARS"):
            limits = Limits(max_result_chars=max(2000, int(env["PROMETHEUS_MAX_RESULT_CHARS"])))
        return cls(
            url=url,
            authorization=authorization,
            auth_words=words,
            ca_file=env.get("PROMETHEUS_CA_FILE") or None,
            timeout=float(env.get("PROMETHEUS_TIMEOUT_SECONDS") or 20),
            limits=limits,
        )


def _base_url(raw: str) -> str:
    url = raw.strip().rstrip("/")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"PROMETHEUS_URL must be an http(s) URL such as http://prometheus:9090 (got {raw!r})"
        )
    if parts.username or parts.password:
        raise ConfigError("PROMETHEUS_URL must not hold credentials: use PROMETHEUS_USERNAME/PASSWORD")
    if parts.query or parts.fragment:
        raise ConfigError("PROMETHEUS_URL must not have a query or a fragment")
    return url


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect becomes an error answer: it is never followed (to another host, with the credentials)."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Prometheus:
    """A client of one Prometheus' HTTP API that can only read."""

    def __init__(self, config: Config) -> None:
        self.config = config
        context = ssl.create_default_context(cafile=config.ca_file)
        self._opener = urllib.request.build_opener(
            urllib.request.HTTPSHandler(context=context), _NoRedirects()
        )
        self._headers = {"Accept": "application/json", "User-Agent": "sre-bot-prometheus-mcp"}
        if config.authorization:
            self._headers["Authorization"] = config.authorization

    def get(self, endpoint: str, params: Mapping[str, str] | None = None) -> tuple[Any, list[str]]:
        """`data` and `warnings` of a successful answer; a ToolError with Prometheus' words otherwise."""
        if endpoint not in ENDPOINTS:
            raise ValueError(f"not an endpoint this server reads: {endpoint}")
        url = f"{self.config.url}/api/v1/{endpoint}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        request = urllib.request.Request(url, headers=self._headers, method="GET")
        try:
            with self._opener.open(request, timeout=self.config.timeout) as response:
                status, body = response.status, self._read(response)
        except urllib.error.HTTPError as exc:
            status, body = exc.code, self._read(exc)
            self._refuse_status(status, exc.reason, body, exc.headers.get("Location"))
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            raise ToolError(self._unreachable(exc)) from None
        return self._data(status, body)

    def _read(self, response: Any) -> bytes:
        limit = self.config.limits.max_response_bytes
        body: bytes = response.read(limit + 1)
        if len(body) > limit:
            raise ToolError(
                f"Prometheus answered with more than {limit // (1024 * 1024)} MiB: aggregate (sum by (...)), "
                "narrow the selector or use a larger step"
            )
        return body

    def _refuse_status(self, status: int, reason: str, body: bytes, location: str | None) -> None:
        """Errors that carry no Prometheus answer: redirects and refused credentials."""
        if 300 <= status < 400:
            raise ToolError(
                f"Prometheus at {self.config.url} answered with a redirect (HTTP {status}) to {location or '?'}; "
                "it is not followed: set PROMETHEUS_URL to the address it redirects to"
            )
        if status in (401, 403):
            raise ToolError(
                f"Prometheus at {self.config.url} refused the request {self.config.auth_words}: "
                f"Unauthorized (HTTP {status} {reason}); check PROMETHEUS_TOKEN or PROMETHEUS_USERNAME/PASSWORD"
            )

    def _unreachable(self, exc: BaseException) -> str:
        reason = getattr(exc, "reason", exc)
        text = str(reason) or type(reason).__name__
        if isinstance(reason, TimeoutError):
            text = f"timed out after {self.config.timeout:g}s"
        hint = ""
        if isinstance(reason, ssl.SSLCertVerificationError):
            hint = "; set PROMETHEUS_CA_FILE to the CA that signed its certificate"
        return f"Prometheus at {self.config.url} could not be reached: {text}{hint}"

    def _data(self, status: int, body: bytes) -> tuple[Any, list[str]]:
        """Prometheus' answer: its data, or its own error type and message as the tool's error."""
        try:
            answer = json.loads(body)
        except ValueError:
            snippet = body[:200].decode("utf-8", "replace").strip()
            raise ToolError(
                f"Prometheus at {self.config.url} answered HTTP {status} with no API answer: {snippet!r}"
            ) from None
        if not isinstance(answer, dict) or answer.get("status") != "success":
            error_type = answer.get("errorType", "error") if isinstance(answer, dict) else "error"
            error = answer.get("error", "no message") if isinstance(answer, dict) else str(answer)[:200]
            raise ToolError(f"Prometheus error ({error_type}, HTTP {status}): {error}")
        warnings = [str(w) for w in answer.get("warnings") or []]
        return answer.get("data"), warnings
