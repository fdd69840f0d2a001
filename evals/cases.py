"""An eval case: one YAML file under bench/evals/ (README: Evaluating a model).

A case is a question (or an Alertmanager payload), the world it needs (Kubernetes objects, logs, seeded
Cost Explorer results), what a right answer contains, what must never happen, a token budget, tags, and
the expected tool path that CI's scripted model follows. Every model is strict (`extra="forbid"`): a
typo in a case is an error naming the file and the field, not a check that silently never runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from evals import patterns
from evals.live_rules import LIVE_KINDS, NAME, problem

SPECIALISTS = ("eks_assistant", "finops_assistant", "metrics_assistant")


class CaseError(ValueError):
    """A case file that cannot be used: one line naming the file, the field and what is wrong."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ClusterState(Strict):
    """A cluster as the offline world serves it: objects (events are objects of kind Event) and pod logs
    keyed `namespace/pod`. Live mode applies the case's `live.manifests` instead (status comes from the
    cluster)."""

    objects: list[dict[str, Any]] = []
    logs: dict[str, str] = {}

    @field_validator("logs")
    @classmethod
    def _log_keys(cls, logs: dict[str, str]) -> dict[str, str]:
        for key in logs:
            if key.count("/") != 1:
                raise ValueError(f"log key {key!r} is not namespace/pod")
        return logs

    @field_validator("objects")
    @classmethod
    def _objects(cls, objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for obj in objects:
            if not obj.get("kind") or not (obj.get("metadata") or {}).get("name"):
                raise ValueError(f"an object needs kind and metadata.name: {str(obj)[:80]}")
        return objects


class CostResult(Strict):
    """One Cost Explorer answer moto hands out (one per distinct request, in order): amounts by key."""

    start: str
    end: str
    groups: dict[str, str]


class Series(Strict):
    """One gauge a case's Prometheus target exposes (metrics cases; a real Prometheus scrapes it)."""

    name: str
    value: float
    labels: dict[str, str] = {}


class Call(Strict):
    """One tool call of the expected path; EKS calls get `cluster_name` filled in when absent."""

    tool: str
    args: dict[str, Any] = {}


class Step(Strict):
    """The coordinator asks one specialist (with `cluster`, in a fleet), which makes `calls` and then
    answers with what its tool results matched `quote` (regexes): never text of the script's own."""

    agent: Literal["eks_assistant", "finops_assistant", "metrics_assistant"] = "eks_assistant"
    cluster: str | None = None
    calls: list[Call]
    quote: list[str]

    _quote = field_validator("quote")(lambda cls, v: [patterns.check(x) for x in v])


class Expect(Strict):
    """What a right answer shows: every regex in `findings` (case-insensitive) appears in the answer."""

    findings: list[str] = Field(min_length=1)
    card: Literal["forbidden", "allowed", "required"] = "forbidden"

    _findings = field_validator("findings")(lambda cls, v: [patterns.check(x) for x in v])


class Forbid(Strict):
    """What must never happen: a change reaching the cluster without an approval (always checked), a
    secret value in the answer, or text matching `patterns`."""

    secrets: list[str] = []
    patterns: list[str] = []

    _patterns = field_validator("patterns")(lambda cls, v: [patterns.check(x) for x in v])


class Tags(Strict):
    difficulty: Literal["easy", "medium", "hard"]
    area: list[str] = Field(min_length=1)


class Budget(Strict):
    """Tokens in + out over every model call of the answer (coordinator and specialists); tool calls."""

    tokens: int = Field(gt=0)
    tool_calls: int | None = Field(default=None, gt=0)


class Wait(Strict):
    """Live mode waits until some object of `kind` (with `name`, or matching the `labels` selector) in the
    scratch namespace shows `shows` (a regex over its JSON, status included): the cluster has reached the
    state the question is about, e.g. a Pod whose JSON shows CrashLoopBackOff."""

    kind: str
    name: str | None = None
    labels: str | None = None
    shows: str

    _shows = field_validator("shows")(lambda cls, v: patterns.check(v))

    @model_validator(mode="after")
    def _which(self) -> Wait:
        if self.kind not in LIVE_KINDS:
            raise ValueError(f"ready: kind {self.kind!r} is not one of {', '.join(LIVE_KINDS)}")
        if (self.name is None) == (self.labels is None):
            raise ValueError("ready: give exactly one of name and labels")
        if self.name is not None and not NAME.fullmatch(self.name):  # it goes into an API path
            raise ValueError(f"ready: name {self.name!r} is not a DNS label")
        return self


class Live(Strict):
    """How the case runs against a real cluster (`sre-bot eval --live CONTEXT`): `manifests` are applied in
    order (an object given twice is replaced: a rollout) into one namespace the harness creates, labels
    and deletes afterwards; `ready` is what to wait for (up to `timeout` seconds); `findings` replace
    `expect.findings` where the cluster names things itself (a Deployment's pods)."""

    manifests: list[dict[str, Any]] = Field(min_length=1)
    ready: list[Wait] = Field(min_length=1)
    timeout: float = Field(default=180, gt=0, le=900)
    findings: list[str] | None = None

    _findings = field_validator("findings")(lambda cls, v: v if v is None else [patterns.check(x) for x in v])

    @field_validator("manifests")
    @classmethod
    def _manifests(cls, manifests: list[dict[str, Any]]) -> list[dict[str, Any]]:
        spaces = set()
        for obj in manifests:
            kind, meta = str(obj.get("kind") or "?"), obj.get("metadata") or {}
            what = f"{kind} {meta.get('name') or '?'}"
            if (why := problem(obj)) is not None:
                raise ValueError(f"manifest {what}: {why}")
            if obj.get("apiVersion") != LIVE_KINDS[kind]:
                raise ValueError(f"manifest {what}: apiVersion must be {LIVE_KINDS[kind]}")
            if not isinstance(meta.get("name"), str) or not NAME.fullmatch(meta["name"]):
                raise ValueError(f"manifest {what}: metadata.name must be a DNS label")
            if not isinstance(meta.get("namespace"), str) or not NAME.fullmatch(meta["namespace"]):
                raise ValueError(f"manifest {what}: metadata.namespace must be given (the scratch namespace)")
            spaces.add(meta["namespace"])
        if len(spaces) > 1:
            raise ValueError(f"manifests: one namespace per case, not {', '.join(sorted(spaces))}")
        return manifests

    @property
    def namespace(self) -> str:
        return str(self.manifests[0]["metadata"]["namespace"])


class Case(Strict):
    id: str
    question: str | None = None
    alert: dict[str, Any] | None = None
    tags: Tags
    cluster: ClusterState | None = None
    clusters: dict[str, ClusterState] = {}  # a fleet: several clusters (CLUSTERS_FILE), by name
    costs: list[CostResult] = []
    metrics: list[Series] = []
    expect: Expect
    forbid: Forbid = Forbid()
    budget: Budget
    script: list[Step] = Field(min_length=1)
    judge: str | None = None  # a rubric for the optional LLM judge, for what regexes cannot judge
    live: Live | None = None  # how to run it against a real cluster (`--live`); offline only without

    @model_validator(mode="after")
    def _consistent(self) -> Case:
        if (self.question is None) == (self.alert is None):
            raise ValueError("give exactly one of question and alert")
        if self.cluster is not None and self.clusters:
            raise ValueError("give cluster (one) or clusters (a fleet), not both")
        if len(self.clusters) == 1:
            raise ValueError("clusters is a fleet of two or more; one cluster goes under cluster")
        if self.live is not None and (self.clusters or self.costs or self.metrics):
            raise ValueError(
                "live: only single-cluster Kubernetes cases run live (no clusters, costs, metrics)"
            )
        for step in self.script:
            if self.clusters and step.agent == "eks_assistant" and step.cluster not in self.clusters:
                raise ValueError(f"script: a fleet case's eks step names one of {sorted(self.clusters)}")
            if step.agent == "finops_assistant" and not self.costs:
                raise ValueError("script: a finops step needs costs to read")
            if step.agent == "metrics_assistant" and not self.metrics:
                raise ValueError("script: a metrics step needs metrics to read")
        return self

    def findings(self, live: bool = False) -> list[str]:
        """The regexes a right answer contains: `live.findings` in a live run when the case gives them."""
        if live and self.live is not None and self.live.findings is not None:
            return self.live.findings
        return self.expect.findings

    @property
    def fleet(self) -> bool:
        return bool(self.clusters)

    @property
    def tag_names(self) -> list[str]:
        """`difficulty:easy`, `area:pods`…: what reports group by and `--tags` selects."""
        return [f"difficulty:{self.tags.difficulty}", *(f"area:{a}" for a in self.tags.area)]


def _where(error: Any) -> str:
    return ".".join(str(p) for p in error["loc"]) or "(top)"


def load_case(path: Path) -> Case:
    """One case file; a CaseError (one line: file, field, problem) when it cannot be used."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise CaseError(f"{path}: cannot read: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        raise CaseError(f"{path}:{line} not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise CaseError(f"{path}: a case is a mapping of fields (question, expect, script, ...)")
    data = {"id": path.stem, **data}
    try:
        return Case.model_validate(data)
    except ValidationError as exc:
        # an unknown key first: a misspelt field also makes the intended one look missing
        first = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")[0]
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        message = str(first["msg"]).removeprefix("Value error, ")
        raise CaseError(f"{path}: {_where(first)}: {message}{more}") from None


def load_cases(where: Path, tags: Iterable[str] = ()) -> list[Case]:
    """Every `*.yaml` case under `where` (or the one file), sorted by id; `tags` keeps the cases having
    any of them (`area:pods`, or a bare `pods` / `hard`)."""
    if where.is_file():
        files = [where]
    elif where.is_dir():
        files = sorted([*where.rglob("*.yaml"), *where.rglob("*.yml")])
    else:
        raise CaseError(f"{where}: no such file or folder of cases")
    if not files:
        raise CaseError(f"{where}: no case files (*.yaml) found")
    cases = [load_case(f) for f in files]
    seen: dict[str, int] = {}
    for case in cases:
        seen[case.id] = seen.get(case.id, 0) + 1
    twice = sorted(k for k, n in seen.items() if n > 1)
    if twice:
        raise CaseError(f"{where}: two case files share the id {twice[0]!r} (the file name)")
    wanted = set(tags)
    if wanted:
        cases = [c for c in cases if wanted & {*c.tag_names, *(t.split(":", 1)[1] for t in c.tag_names)}]
    return sorted(cases, key=lambda c: c.id)
