"""The fleet file (`CLUSTERS_FILE`): which clusters the bot knows, how it reaches each, and its write policy.

A typed model so a wrong file fails at start with one line naming the file, the key and what is expected
(`FleetError`, a `ConfigError`: the CLI prints it and exits 2) instead of a cluster silently missing or,
worse, silently writable. Without a file, `single_cluster_fleet` gives the fleet of one today's settings
imply, so nobody's `.env` breaks.

Why one module of ~400 lines: the file's model and its cross-key checks (a context in two clusters, an
unknown default) produce one error format and are read together when the format changes.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar, overload

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from agents.settings import ConfigError, prometheus_url_problem

ClusterMode = Literal["kubeconfig", "iam"]

# Kubernetes' DNS-1123 label: the names users type in questions and flags, safe in metrics labels too.
DNS_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
# `aws eks create-cluster`'s rule for cluster names.
EKS_NAME = r"^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$"
AWS_REGION = r"^[a-z]{2}(-[a-z]+)+-\d+$"
ROLE_ARN = r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$"


class KeyProblem(ValueError):
    """A problem found by a validator, with the key path it belongs to (pydantic's own loc is too coarse).

    Raised by the models' validators, and returned by `ClusterConfig.check_fleet` for whole-fleet checks.
    """

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


class FleetError(ConfigError):
    """The fleet file is wrong: one line naming the file, the key path and what is expected."""

    def __init__(self, path: Path | str, key: str, problem: str) -> None:
        super().__init__("CLUSTERS_FILE", f"{path}: {key}: {problem}")
        self.path = str(path)
        self.key = key


class EksTarget(BaseModel):
    """IAM mode: the EKS cluster's name and region, and a role the bot assumes for it (optional)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=EKS_NAME)
    region: str = Field(pattern=AWS_REGION)
    role_arn: str | None = Field(default=None, pattern=ROLE_ARN)


class ClusterConfig(BaseModel):
    """One cluster of the fleet: how to reach it (a kubeconfig context or EKS in IAM mode) and its policy.

    `writes` defaults to false so the policy fails closed: a cluster added to the file without thinking
    about writes is read-only (its server runs without --allow-write and no write tool is offered) until
    someone writes `writes: true` for it. A forgotten key must never make production writable.

    The file-format seam: a front end subclasses this model to add its own keys (who approves, where a
    cluster is the default) and passes the subclass to `load_fleet`; `extra="forbid"` is inherited, so a
    key neither the agents nor that front end know is still refused in one line.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kubeconfig_context: str | None = Field(default=None, min_length=1)
    eks: EksTarget | None = None
    writes: bool = False
    # This cluster's Prometheus (None: PROMETHEUS_URL's). Only the URL: the credentials are the global
    # PROMETHEUS_* settings, sent to every Prometheus of the fleet.
    prometheus_url: str | None = None

    @field_validator("prometheus_url")
    @classmethod
    def _usable_url(cls, url: str | None) -> str | None:
        problem = prometheus_url_problem(url) if url is not None else None
        if problem is not None:  # its text never quotes the URL: it may hold a password
            raise ValueError(problem)
        return url

    @model_validator(mode="after")
    def _one_way_in(self) -> ClusterConfig:
        if (self.kubeconfig_context is None) == (self.eks is None):
            raise ValueError("expected exactly one of kubeconfig_context (kubeconfig mode) or eks (IAM mode)")
        return self

    @classmethod
    def check_fleet(cls, clusters: Mapping[str, ClusterConfig]) -> list[KeyProblem]:
        """Checks across the clusters of one file for the keys a subclass adds; none for the agents' own.

        Fleet validation calls it once per cluster model in the file (the agents' own cross-cluster
        checks run regardless), so a subclass overrides it without calling super.
        """
        return []

    @property
    def mode(self) -> ClusterMode:
        return "kubeconfig" if self.kubeconfig_context is not None else "iam"

    @property
    def target(self) -> str:
        """The `cluster_name` the EKS MCP server understands: the context, or the EKS cluster's name."""
        if self.eks is not None:
            return self.eks.name
        assert self.kubeconfig_context is not None  # _one_way_in
        return self.kubeconfig_context


C = TypeVar("C", bound=ClusterConfig)


class Fleet(BaseModel, Generic[C]):
    """The clusters the bot knows; `default` is the one meant when nothing else says.

    Generic in the cluster model so a front end's `Fleet[ItsClusterConfig]` carries its keys, typed.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    default: str | None = None
    clusters: dict[str, C] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Fleet[C]:
        for name in self.clusters:
            if not DNS_LABEL.fullmatch(name):
                raise KeyProblem(
                    f"clusters.{name}",
                    "expected a DNS-1123 label as the cluster's name (lowercase letters, digits and '-', "
                    "at most 63, starting and ending with a letter or digit)",
                )
        _check_default(self)
        _check_unique_targets(self.clusters)
        for model in dict.fromkeys(type(c) for c in self.clusters.values()):
            problems = model.check_fleet(self.clusters)
            if problems:
                raise problems[0]
        return self

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.clusters)

    @property
    def default_cluster(self) -> str:
        """`default`, or the only cluster of a fleet of one (validated: never None after construction)."""
        return self.default or next(iter(self.clusters))

    def known(self) -> str:
        """The fleet's names as a user reads them in an error: "prod, staging (default)"."""
        return ", ".join(f"{n} (default)" if n == self.default_cluster else n for n in self.clusters)


def _check_default(fleet: Fleet[Any]) -> None:
    if fleet.default is None:
        if len(fleet.clusters) > 1:
            raise KeyProblem("default", f"required with several clusters: one of {', '.join(fleet.clusters)}")
        return
    if fleet.default not in fleet.clusters:
        raise KeyProblem(
            "default", f"expected the name of a cluster of the file ({', '.join(fleet.clusters)})"
        )


def _check_unique_targets(clusters: Mapping[str, ClusterConfig]) -> None:
    """A context or an EKS cluster belongs to one fleet cluster, or its policy would be ambiguous.

    Two fleet names for one real cluster would give it two write policies (the laxer one a name away),
    and a target named like another fleet cluster would make a tool call's `cluster_name` ambiguous.
    """
    target_owner: dict[str, str] = {}
    for name, cluster in clusters.items():
        key = f"clusters.{name}.{'kubeconfig_context' if cluster.mode == 'kubeconfig' else 'eks.name'}"
        target = cluster.target
        if target in target_owner:
            raise KeyProblem(
                key, f"{target!r} is already clusters.{target_owner[target]}: one name per cluster"
            )
        if target.lower() in clusters and target.lower() != name:
            raise KeyProblem(key, f"{target!r} is the name of another cluster of the file: expected its own")
        target_owner[target] = name


class _UniqueKeyLoader(yaml.SafeLoader):
    """yaml.safe_load keeps the last of two equal keys: a second `prod:` would silently replace the first."""


def _no_duplicate_keys(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}: expected each key once", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicate_keys)


KubeconfigPaths = Sequence[Path | str] | str | None


@overload
def load_fleet(path: Path | str, kubeconfig_paths: KubeconfigPaths = None) -> Fleet[ClusterConfig]: ...


@overload
def load_fleet(path: Path | str, kubeconfig_paths: KubeconfigPaths, cluster_model: type[C]) -> Fleet[C]: ...


@overload
def load_fleet(
    path: Path | str, kubeconfig_paths: KubeconfigPaths = None, *, cluster_model: type[C]
) -> Fleet[C]: ...


def load_fleet(
    path: Path | str,
    kubeconfig_paths: KubeconfigPaths = None,
    cluster_model: type[ClusterConfig] = ClusterConfig,
) -> Fleet[Any]:
    """Read and check CLUSTERS_FILE; raises `FleetError` (one line: file, key path, what is expected).

    `kubeconfig_paths` are the kubeconfig files in use (a list, or a KUBECONFIG string joined by
    os.pathsep): every `kubeconfig_context` must be a context of one of them, found now, not at the
    first question about that cluster. `cluster_model` validates each cluster: `ClusterConfig`, or a
    front end's subclass that adds its keys (see `ClusterConfig`).
    """
    try:
        raw = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)
    except OSError as exc:
        raise FleetError(path, "(file)", f"cannot read it ({exc.strerror or exc})") from None
    except yaml.YAMLError as exc:
        raise FleetError(path, "(file)", f"expected YAML: {_yaml_reason(exc)}") from None
    if not isinstance(raw, dict):
        raise FleetError(path, "(top level)", "expected a mapping with `default` and `clusters`")
    try:
        fleet: Fleet[Any] = Fleet[cluster_model].model_validate(raw)  # type: ignore[valid-type]
    except ValidationError as exc:
        raise _describe(path, exc) from None
    _check_contexts(path, fleet, _paths(kubeconfig_paths))
    return fleet


def _yaml_reason(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return f"{problem} at line {mark.line + 1}" if mark is not None else str(problem)


def _describe(path: Path | str, exc: ValidationError) -> FleetError:
    """pydantic's first error as one line: the dotted key path and what is expected there."""
    error = exc.errors()[0]
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, KeyProblem):
        return FleetError(path, cause.key, cause.problem)
    key = ".".join(str(part) for part in error["loc"]) or "(top level)"
    kind = error["type"]
    if kind == "extra_forbidden":
        return FleetError(path, key, "unknown key (expected one this version knows; see the README)")
    if kind == "missing":
        return FleetError(path, key, "required")
    if kind == "string_pattern_mismatch":
        return FleetError(path, key, _expected_shape(key, error.get("input")))
    if kind == "value_error":
        return FleetError(path, key, str(cause or error["msg"]).removeprefix("Value error, "))
    if kind.startswith("bool"):
        return FleetError(path, key, f"expected true or false (got {error.get('input')!r})")
    return FleetError(path, key, f"{error['msg']} (got {error.get('input')!r})")


def _expected_shape(key: str, got: Any) -> str:
    last = key.rsplit(".", 1)[-1]
    expected = {
        "name": "an EKS cluster name as `aws eks list-clusters` shows it",
        "region": "an AWS region such as eu-west-1",
        "role_arn": "an IAM role ARN such as arn:aws:iam::123456789012:role/sre-bot",
    }.get(last, "a different value")
    return f"expected {expected} (got {got!r})"


def _paths(kubeconfig_paths: KubeconfigPaths) -> list[Path]:
    if kubeconfig_paths is None:
        return []
    if isinstance(kubeconfig_paths, str):
        kubeconfig_paths = kubeconfig_paths.split(os.pathsep)
    return [Path(p).expanduser() for p in kubeconfig_paths if str(p)]


def kubeconfig_contexts(paths: Iterable[Path]) -> set[str]:
    """The context names of the kubeconfig files, merged as kubectl merges KUBECONFIG's list.

    Files that are missing or not kubeconfigs add nothing (kubectl skips missing files too); the
    caller names the files it read when a context is not among these.
    """
    names: set[str] = set()
    for path in paths:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue
        contexts = data.get("contexts") if isinstance(data, dict) else None
        for entry in contexts if isinstance(contexts, list) else []:
            if isinstance(entry, dict) and entry.get("name"):
                names.add(str(entry["name"]))
    return names


def _check_contexts(path: Path | str, fleet: Fleet[Any], kubeconfigs: list[Path]) -> None:
    wanted = {n: c.kubeconfig_context for n, c in fleet.clusters.items() if c.kubeconfig_context}
    if not wanted:
        return
    have = kubeconfig_contexts(kubeconfigs)
    files = ", ".join(str(p) for p in kubeconfigs) or "no kubeconfig (KUBECONFIG unset, no ~/.kube/config)"
    for name, context in wanted.items():
        if context not in have:
            listed = ", ".join(sorted(have)) or "none"
            raise FleetError(
                path,
                f"clusters.{name}.kubeconfig_context",
                f"expected a context of the kubeconfig; {context!r} is not in {files} (contexts: {listed})",
            )


def fleet_name(cluster: str) -> str:
    """A DNS-1123 label for a name that may not be one (an ARN context, `gke_project_zone_name`)."""
    tail = cluster.rsplit("/", 1)[-1].lower()
    label = re.sub(r"[^a-z0-9-]+", "-", tail).strip("-")[:63].strip("-")
    return label or "default"


def single_cluster_fleet(
    default_cluster_name: str | None,
    writes: bool,
    *,
    mode: ClusterMode = "kubeconfig",
    region: str | None = None,
) -> Fleet[ClusterConfig] | None:
    """The fleet of one that today's settings imply (no CLUSTERS_FILE): DEFAULT_CLUSTER and EKS_MCP_ALLOW_WRITE.

    The name is sent to the server unchanged, as today (in kubeconfig mode the server matches it
    against context names and cluster suffixes, so it is not checked against the kubeconfig here).
    None when today's settings name no cluster (a billing-only bot, a kubeconfig without a
    current-context): there is nothing to bind a call to, and the model asks the user, as today.
    A front end's own keys are absent here, so its settings-wide fallbacks apply (e.g. its approvers).
    """
    if not default_cluster_name:
        return None
    if mode == "iam":
        if not region:
            raise ValueError("IAM mode needs a region for the fleet of one (AWS_REGION)")
        # Unvalidated on purpose: today's settings accept any DEFAULT_CLUSTER, and the server judges it.
        target = EksTarget.model_construct(name=default_cluster_name, region=region, role_arn=None)
        cluster = ClusterConfig(eks=target, writes=writes)
    else:
        cluster = ClusterConfig(kubeconfig_context=default_cluster_name, writes=writes)
    return Fleet[ClusterConfig](
        default=fleet_name(default_cluster_name), clusters={fleet_name(default_cluster_name): cluster}
    )
