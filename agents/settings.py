"""Settings from the environment and `.env`, validated once at start-up.

Every bad value ends in a `ConfigError` naming the variable and what is expected, so the CLI can print
one line and exit 2 instead of a traceback deep inside a model client or an MCP server.

Why one module of ~450 lines: one pydantic-settings class, each setting beside its validator and its
start-up check, so a new setting is added, checked and documented in one place.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterable, MutableMapping
from pathlib import Path
from typing import Any, Literal, get_args, get_origin
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Provider = Literal["bedrock", "anthropic", "openai", "ollama"]
AuthMode = Literal["iam", "kubeconfig"]

DEFAULT_MODELS: dict[str, str] = {
    "bedrock": "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
    "anthropic": "claude-sonnet-4-5",
    "openai": "gpt-4.1",
    "ollama": "qwen3:8b",
}

# Where the project's own installer puts the pinned MCP servers (scripts/install-mcp-servers).
PROJECT_ROOT = Path(__file__).resolve().parent.parent
SERVER_NAME = re.compile(r"[a-z][a-z0-9_-]{0,39}")
TABLE_NAME = re.compile(r"[A-Za-z0-9_.-]{3,255}")
BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
DEFAULT_MCP_BIN_DIR = PROJECT_ROOT / ".tools" / "bin"


class ConfigError(Exception):
    """A setting is missing or wrong; `str()` is the one line a user needs to fix it."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable
        self.problem = problem


class Settings(BaseSettings):
    """All settings of the bot; names are the environment variables (see README and .env.example)."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True
    )

    # Model
    model_provider: Provider = "bedrock"
    model_id: str | None = None
    bedrock_model_id: str = DEFAULT_MODELS["bedrock"]
    openai_base_url: str | None = None
    openai_api_key: str | None = None
    anthropic_api_key: str | None = None
    ollama_host: str = "http://localhost:11434"
    model_max_wait_seconds: int = Field(default=30, ge=1, le=600)

    # AWS. Read from the environment or .env like every setting, then exported into this process's
    # environment (`export_aws_environment`) and the MCP servers' (`aws_environment`): boto3 and the
    # servers read only environment variables, so keys written in .env would otherwise reach nobody.
    aws_region: str | None = None
    aws_profile: str | None = None
    aws_access_key_id: SecretStr | None = None
    aws_secret_access_key: SecretStr | None = None
    aws_session_token: SecretStr | None = None
    aws_endpoint_url: str | None = None

    # Kubernetes / EKS MCP server
    kubeconfig: str | None = None
    default_cluster: str | None = None
    eks_auth_mode: AuthMode | None = None
    eks_mcp_allow_write: bool = False
    eks_mcp_allow_sensitive_data: bool = False
    # Many clusters (issue 13): the fleet file, read by the composition root (agents/compose.py) with the
    # front end's keys; unset, the settings above imply a fleet of one, exactly as before.
    clusters_file: Path | None = None

    # Prometheus (the metrics capability): offered only with a URL. The credential goes to the
    # Prometheus MCP server's process alone (agents/capabilities/metrics.py), never to the model or a log.
    prometheus_url: str | None = None
    prometheus_token: SecretStr | None = None
    prometheus_username: str | None = None
    prometheus_password: SecretStr | None = None
    prometheus_ca_file: Path | None = None
    prometheus_timeout_seconds: int = Field(default=20, ge=1, le=300)

    # MCP servers
    mcp_servers: str = "eks,billing,prometheus"
    mcp_bin_dir: Path = DEFAULT_MCP_BIN_DIR
    fastmcp_log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "ERROR"
    mcp_log_dir: Path = Path("var/log")
    # A server started on first use (another cluster's of CLUSTERS_FILE) stops after this long unused;
    # 0 keeps it. The servers started with the bot stay.
    mcp_idle_seconds: int = Field(default=600, ge=0)
    tool_result_max_chars: int = Field(default=16000, ge=1000, le=400_000)

    # State
    session_storage_path: Path = Path("var/sessions")
    approvals_db_path: Path = Path("var/approvals.sqlite3")
    approval_ttl_seconds: int = Field(default=900, ge=30, le=86_400)
    audit_log_path: Path = Path("var/audit.jsonl")
    manifest_dir: Path = Path("var/manifests")
    # Alerts (issue 15): the inbox of deliveries not yet handled and each alert group's thread and status.
    alert_state_path: Path = Path("var/alerts.sqlite3")
    # Several replicas (issue 16): `aws` keeps the state above (all but the audit log and manifests) in one
    # DynamoDB table and conversation memory in one S3 bucket, shared by every replica.
    state_backend: Literal["local", "aws"] = "local"
    state_table: str | None = None
    session_bucket: str | None = None
    session_prefix: str = ""

    # Who may approve a change is the front end's setting (it knows its people): slackbot/config.py.
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator(
        "model_provider", "eks_auth_mode", "fastmcp_log_level", "log_level", "state_backend", mode="before"
    )
    @classmethod
    def _lower_or_upper(cls, value: Any, info: Any) -> Any:
        if not isinstance(value, str):
            return value
        value = value.strip()
        if value == "" and info.field_name == "eks_auth_mode":
            return None
        return value.upper() if info.field_name in ("fastmcp_log_level", "log_level") else value.lower()

    @field_validator(
        "model_id",
        "openai_base_url",
        "openai_api_key",
        "anthropic_api_key",
        "aws_region",
        "aws_profile",
        "aws_access_key_id",
        "aws_secret_access_key",
        "aws_session_token",
        "aws_endpoint_url",
        "kubeconfig",
        "default_cluster",
        "prometheus_url",
        "prometheus_token",
        "prometheus_username",
        "prometheus_password",
        "prometheus_ca_file",
        "state_table",
        "session_bucket",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        """`FOO=` in .env means "not set", as users expect, not an empty string."""
        if isinstance(value, str) and value.strip() == "":
            return None
        return value.strip() if isinstance(value, str) else value

    @field_validator("state_table")
    @classmethod
    def _table_name(cls, value: str | None) -> str | None:
        if value is not None and not TABLE_NAME.fullmatch(value):
            raise ValueError(f"expected a DynamoDB table name: 3-255 of A-Z a-z 0-9 _ . - (got {value!r})")
        return value

    @field_validator("session_bucket")
    @classmethod
    def _bucket_name(cls, value: str | None) -> str | None:
        if value is not None and not BUCKET_NAME.fullmatch(value):
            raise ValueError(
                f"expected an S3 bucket name: 3-63 of a-z 0-9 . -, starting and ending with a letter or digit "
                f"(got {value!r})"
            )
        return value

    @field_validator("session_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        """A folder in the bucket, written without slashes at its ends (S3SessionManager adds its own)."""
        return value.strip().strip("/")

    @field_validator("mcp_bin_dir", mode="before")
    @classmethod
    def _empty_bin_dir_is_default(cls, value: Any) -> Any:
        return DEFAULT_MCP_BIN_DIR if isinstance(value, str) and not value.strip() else value

    @field_validator("mcp_servers")
    @classmethod
    def _server_list(cls, value: str) -> str:
        """Names only; which names exist is the capabilities' to say (agents/capabilities, `problems`)."""
        names = [n.strip() for n in value.split(",") if n.strip()]
        if not names or not all(SERVER_NAME.fullmatch(n) for n in names):
            raise ValueError(
                f"expected a comma-separated list of MCP server names such as eks,billing (got {value!r})"
            )
        return ",".join(names)

    @property
    def enabled_servers(self) -> list[str]:
        return self.mcp_servers.split(",")

    @property
    def approved_manifest_dir(self) -> Path:
        """Approved copies of manifests: private to the bot, beside its approvals, never in MANIFEST_DIR."""
        return self.approvals_db_path.parent / "approved-manifests"

    # Derived values -----------------------------------------------------------------------------

    @property
    def resolved_model_id(self) -> str:
        """MODEL_ID wins for any provider; BEDROCK_MODEL_ID is the seed's name for Bedrock's."""
        if self.model_id:
            return self.model_id
        if self.model_provider == "bedrock":
            return self.bedrock_model_id
        return DEFAULT_MODELS[self.model_provider]

    @property
    def resolved_auth_mode(self) -> AuthMode:
        """Kubeconfig mode when a kubeconfig is found the way kubectl finds one, IAM mode (EKS) otherwise."""
        return self.auth_mode_and_reason[0]

    @property
    def auth_mode_and_reason(self) -> tuple[AuthMode, str]:
        """The Kubernetes access mode and why it was chosen, in words `doctor` can show.

        Like kubectl: KUBECONFIG when set, else ~/.kube/config when it exists; EKS_AUTH_MODE overrides.
        """
        if self.eks_auth_mode:
            return self.eks_auth_mode, f"EKS_AUTH_MODE={self.eks_auth_mode}"
        if self.kubeconfig:
            return "kubeconfig", "KUBECONFIG is set"
        home_config = default_kubeconfig()
        if home_config is not None and home_config.is_file():
            return "kubeconfig", f"KUBECONFIG is unset and {home_config} exists (kubectl's default)"
        return "iam", f"KUBECONFIG is unset and there is no {home_config or '~/.kube/config'}"

    def kubeconfig_paths(self) -> list[Path]:
        """The kubeconfig file(s) in use: KUBECONFIG's list (as kubectl allows), else ~/.kube/config.

        ~/.kube/config counts only in kubeconfig mode (`EKS_AUTH_MODE=iam` ignores it, as IAM mode should).
        """
        if self.kubeconfig:
            return [Path(p).expanduser() for p in self.kubeconfig.split(os.pathsep) if p]
        home_config = default_kubeconfig()
        if self.resolved_auth_mode == "kubeconfig" and home_config is not None and home_config.is_file():
            return [home_config]
        return []

    def aws_environment(self) -> dict[str, str]:
        """The AWS settings that are set, as the SDK's variable names (values include secrets: never log)."""
        values = {
            "AWS_REGION": self.aws_region,
            "AWS_PROFILE": self.aws_profile,
            "AWS_ACCESS_KEY_ID": self.aws_access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.aws_secret_access_key,
            "AWS_SESSION_TOKEN": self.aws_session_token,
            "AWS_ENDPOINT_URL": self.aws_endpoint_url,
        }
        return {
            name: value.get_secret_value() if isinstance(value, SecretStr) else value
            for name, value in values.items()
            if value
        }

    def mcp_command(self, executable: str) -> str | None:
        """Path of a pinned MCP server: MCP_BIN_DIR first, then PATH."""
        candidate = self.mcp_bin_dir / executable
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
        return shutil.which(executable)

    def check(self) -> None:
        """Raise the first problem `problems()` finds (the CLI prints one line and exits 2)."""
        found = self.problems()
        if found:
            raise found[0]

    def problems(self) -> list[ConfigError]:
        """Every cross-field problem, in order: commands stop at the first, `doctor` lists them all.

        Rules about Kubernetes access apply only when the eks server runs: a billing-only bot needs none.
        """
        found = [
            *self._model_problems(),
            *self._kubernetes_problems(),
            *self._aws_profile_problems(),
            *self._state_problems(),
            *self.shared_state_problems(),
            *self._prometheus_problems(),
            *self._cluster_problems(),  # last: a more basic problem is the one a command reports first
        ]
        first: dict[str, ConfigError] = {}
        for problem in found:  # one line per variable (AWS_REGION can be needed twice over)
            first.setdefault(problem.variable, problem)
        return list(first.values())

    def _model_problems(self) -> list[ConfigError]:
        found: list[ConfigError] = []
        provider = self.model_provider
        if provider == "anthropic" and not self.anthropic_api_key:
            found.append(ConfigError("ANTHROPIC_API_KEY", "required when MODEL_PROVIDER=anthropic"))
        if provider == "openai" and not (self.openai_api_key or self.openai_base_url):
            found.append(
                ConfigError(
                    "OPENAI_API_KEY",
                    "required when MODEL_PROVIDER=openai (or set OPENAI_BASE_URL for a local endpoint)",
                )
            )
        if self.openai_base_url and not self.openai_base_url.startswith(("http://", "https://")):
            found.append(
                ConfigError("OPENAI_BASE_URL", f"expected an http(s) URL, got {self.openai_base_url!r}")
            )
        if not self.ollama_host.startswith(("http://", "https://")):
            found.append(ConfigError("OLLAMA_HOST", f"expected an http(s) URL, got {self.ollama_host!r}"))
        if provider == "bedrock" and not self.aws_region:
            found.append(ConfigError("AWS_REGION", "required when MODEL_PROVIDER=bedrock (e.g. us-east-1)"))
        return found

    def _kubernetes_problems(self) -> list[ConfigError]:
        found: list[ConfigError] = []
        for path in self.kubeconfig_paths() if self.kubeconfig else []:
            if not path.is_file():
                found.append(
                    ConfigError("KUBECONFIG", f"no file at {path}; point it at a kubeconfig file or unset it")
                )
        mode, why = self.auth_mode_and_reason
        uses_eks = "eks" in self.enabled_servers
        if uses_eks and mode == "kubeconfig" and not self.kubeconfig_paths():
            found.append(
                ConfigError("KUBECONFIG", "EKS_AUTH_MODE=kubeconfig needs KUBECONFIG or ~/.kube/config")
            )
        if uses_eks and mode == "iam" and not self.aws_region:
            found.append(
                ConfigError(
                    "AWS_REGION",
                    f"required for the EKS server in IAM mode ({why}); or set KUBECONFIG for kubeconfig mode",
                )
            )
        return found

    def _aws_profile_problems(self) -> list[ConfigError]:
        if not self.aws_profile:
            return []
        import botocore.session

        profiles = botocore.session.Session().available_profiles
        if self.aws_profile in profiles:
            return []
        have = ", ".join(sorted(profiles)) or "none"
        return [
            ConfigError(
                "AWS_PROFILE",
                f"no profile {self.aws_profile!r} in ~/.aws/config or ~/.aws/credentials (found: {have})",
            )
        ]

    def _state_problems(self) -> list[ConfigError]:
        """The state folders must be writable (and the approved manifests' one private) before a question."""
        found: list[ConfigError] = []
        for variable, directory in (
            ("SESSION_STORAGE_PATH", self.session_storage_path),
            ("APPROVALS_DB_PATH", self.approvals_db_path.parent),
            ("AUDIT_LOG_PATH", self.audit_log_path.parent),
            ("MANIFEST_DIR", self.manifest_dir),
            ("ALERT_STATE_PATH", self.alert_state_path.parent),
        ):
            try:
                check_writable(variable, directory)
            except ConfigError as exc:
                found.append(exc)
        if self.eks_mcp_allow_write and not any(p.variable == "APPROVALS_DB_PATH" for p in found):
            from agents.gate.manifests import ApprovedCopyError, private_dir

            try:  # found broken at start, not at the first approved apply
                private_dir(self.approved_manifest_dir, manifest_dir=self.manifest_dir)
            except ApprovedCopyError as exc:
                found.append(
                    ConfigError("APPROVALS_DB_PATH", f"its folder cannot hold approved manifests: {exc}")
                )
            except OSError as exc:
                found.append(ConfigError("APPROVALS_DB_PATH", f"cannot create approved manifests: {exc}"))
        try:
            check_writable("MCP_LOG_DIR", self.mcp_log_dir)
        except ConfigError as exc:
            found.append(exc)
        return found

    def shared_state_problems(self) -> list[ConfigError]:
        """STATE_BACKEND=aws names its table, bucket and region (whether they exist is checked at start)."""
        if self.state_backend != "aws":
            return []
        found = []
        for variable, value, what in (
            ("STATE_TABLE", self.state_table, "the DynamoDB table of the shared state"),
            ("SESSION_BUCKET", self.session_bucket, "the S3 bucket of conversation memory"),
            ("AWS_REGION", self.aws_region, "the region of STATE_TABLE and SESSION_BUCKET"),
        ):
            if not value:
                found.append(ConfigError(variable, f"required when STATE_BACKEND=aws: {what}"))
        return found

    def _prometheus_problems(self) -> list[ConfigError]:
        """A Prometheus URL the server can use, and one way to authenticate (its credentials never in it)."""
        found: list[ConfigError] = []
        problem = prometheus_url_problem(self.prometheus_url) if self.prometheus_url else None
        if problem is not None:
            found.append(ConfigError("PROMETHEUS_URL", problem))
        if self.prometheus_token and self.prometheus_username:
            found.append(
                ConfigError(
                    "PROMETHEUS_TOKEN", "set a bearer token or PROMETHEUS_USERNAME/PASSWORD, not both"
                )
            )
        if self.prometheus_password and not self.prometheus_username:
            found.append(ConfigError("PROMETHEUS_USERNAME", "required with PROMETHEUS_PASSWORD (basic auth)"))
        ca = self.prometheus_ca_file
        if ca is not None and not (ca.is_file() and os.access(ca, os.R_OK)):
            found.append(ConfigError("PROMETHEUS_CA_FILE", f"no readable file at {ca}: a PEM file of the CA"))
        return found

    def secret_values(self) -> list[str]:
        """Every configured credential's value, for exact-value redaction (agents.redact.remember_secrets)."""
        secrets = [
            self.aws_secret_access_key,
            self.aws_session_token,
            self.prometheus_token,
            self.prometheus_password,
        ]
        plain = [self.openai_api_key, self.anthropic_api_key]
        return [s.get_secret_value() for s in secrets if s] + [p for p in plain if p]

    def prometheus_environment(self) -> dict[str, str]:
        """What the Prometheus MCP server reads (values include the credential: for its process only)."""
        values = {
            "PROMETHEUS_URL": self.prometheus_url,
            "PROMETHEUS_TOKEN": self.prometheus_token,
            "PROMETHEUS_USERNAME": self.prometheus_username,
            "PROMETHEUS_PASSWORD": self.prometheus_password,
            "PROMETHEUS_CA_FILE": str(self.prometheus_ca_file.resolve()) if self.prometheus_ca_file else None,
            "PROMETHEUS_TIMEOUT_SECONDS": str(self.prometheus_timeout_seconds),
        }
        return {
            name: value.get_secret_value() if isinstance(value, SecretStr) else value
            for name, value in values.items()
            if value
        }

    def _cluster_problems(self) -> list[ConfigError]:
        """The EKS tools need a cluster *name* in IAM mode and the prompts pin one cluster: a placeholder
        there only gets sent as a name (a kubeconfig context, often an ARN, is not one either)."""
        mode, why = self.auth_mode_and_reason
        if "eks" not in self.enabled_servers or mode != "iam" or self.default_cluster:
            return []
        return [
            ConfigError(
                "DEFAULT_CLUSTER",
                f"required in IAM mode ({why}): the EKS cluster's name, as `aws eks list-clusters` "
                "shows it; or set KUBECONFIG for kubeconfig mode",
            )
        ]


def prometheus_url_problem(url: str) -> str | None:
    """What is wrong with a Prometheus base URL (None: nothing). One rule for PROMETHEUS_URL and the fleet
    file's per-cluster `prometheus_url`, so a URL one accepts the other never refuses. Credentials are
    refused in it: they would show wherever the URL does (doctor, logs), and they are settings of their own."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  # an out-of-range port raises here, not in urlsplit
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        return "expected the http(s) base URL of Prometheus, e.g. http://prometheus.monitoring:9090"
    if parts.username or parts.password:
        return "must not hold credentials: set PROMETHEUS_USERNAME and PROMETHEUS_PASSWORD instead"
    if parts.query or parts.fragment:
        return "expected a base URL without ?query or #fragment"
    return None


def default_kubeconfig() -> Path | None:
    """kubectl's default kubeconfig, ~/.kube/config; from `Path.home()` so tests can point HOME elsewhere."""
    try:
        return Path.home() / ".kube" / "config"
    except RuntimeError:  # no HOME and no passwd entry
        return None


def export_aws_environment(settings: Settings, environ: MutableMapping[str, str] | None = None) -> None:
    """Put the AWS settings into the environment, where boto3 (and so Bedrock and STS) looks for them.

    pydantic-settings reads .env into Settings only; without this, keys written in .env reach nobody.
    Environment variables already win over .env in Settings, so this only adds .env's values. boto3
    reads the region from AWS_DEFAULT_REGION, so that follows AWS_REGION unless it is set itself.
    """
    target = os.environ if environ is None else environ
    aws = settings.aws_environment()
    target.update(aws)
    if "AWS_REGION" in aws:
        target.setdefault("AWS_DEFAULT_REGION", aws["AWS_REGION"])


def check_writable(variable: str, directory: Path) -> None:
    """State must be writable before the first question, not discovered broken in the middle of one."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".write-check-"):
            pass
    except OSError as exc:
        raise ConfigError(
            variable, f"cannot write to {directory} ({exc.strerror or exc}); point it at a writable directory"
        ) from None


_EXPECTED = {
    "bool_parsing": "expected true or false",
    "bool_type": "expected true or false",
    "int_parsing": "expected a whole number",
    "literal_error": None,  # filled from the error's context
    "greater_than_equal": None,
    "less_than_equal": None,
}


def _choices(field: str, model: type[BaseSettings] | None = None) -> list[str]:
    """The allowed values of a Literal setting, in declaration order."""
    fields = (model or Settings).model_fields
    if field not in fields:
        return []
    annotation = fields[field].annotation
    if get_origin(annotation) is Literal:
        return [str(v) for v in get_args(annotation)]
    values: list[str] = []
    for arg in get_args(annotation):
        values.extend(str(v) for v in (get_args(arg) if get_origin(arg) is Literal else ()))
    return values


def describe_validation_error(error: dict[str, Any], model: type[BaseSettings]) -> ConfigError:
    """One line naming the variable and what is expected, for any settings class."""
    return _describe(error, model)


def _describe(error: dict[str, Any], model: type[BaseSettings] | None = None) -> ConfigError:
    field = str(error["loc"][0]) if error.get("loc") else "settings"
    variable = field.upper()
    got = error.get("input")
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind == "literal_error":
        problem = f"expected one of {', '.join(_choices(field, model))}"
    elif kind in ("greater_than_equal", "less_than_equal"):
        problem = f"expected a number {'>=' if kind == 'greater_than_equal' else '<='} {ctx.get('ge', ctx.get('le'))}"
    elif kind == "value_error":
        problem = str(ctx.get("error") or error.get("msg", "invalid value"))
        got = None
    else:
        problem = _EXPECTED.get(kind) or str(error.get("msg", "invalid value"))
    if got is not None and not isinstance(got, dict):
        problem += f" (got {str(got)!r})"
    return ConfigError(variable, problem)


def drop_empty_environment(names: Iterable[str]) -> list[str]:
    """Unset empty settings and AWS_* variables; returns the names dropped.

    `NAME=` in an env file (docker compose's env_file) sets NAME to "", which would hide an image's
    default and makes boto3 look for a profile named "" (AWS_PROFILE=). Empty means "not set" here, for
    the bot, boto3 and the MCP servers it starts alike.
    """
    wanted = {n.upper() for n in names}
    dropped = [
        key for key, value in os.environ.items() if value == "" and (key in wanted or key.startswith("AWS_"))
    ]
    for key in dropped:
        del os.environ[key]
    return dropped


def load_state_settings() -> Settings:
    """The settings `sre-bot state` needs: every value valid and the shared state's rules kept, but no
    model or cluster (creating a table needs neither). Exports the AWS settings as `load_settings` does."""
    try:
        settings = Settings()
    except ValidationError as exc:
        raise _describe(dict(exc.errors()[0])) from None
    export_aws_environment(settings)
    for problem in settings.shared_state_problems():
        raise problem
    return settings


def load_settings(**overrides: Any) -> Settings:
    """Read and validate settings; raises ConfigError with a one-line, user-facing reason.

    Also exports the AWS settings into this process's environment (see `export_aws_environment`).
    """
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        raise _describe(dict(exc.errors()[0])) from None
    export_aws_environment(settings)
    settings.check()
    return settings
