"""Live mode (`sre-bot eval --live CONTEXT`): the cases run against a real cluster, such as the Compose K3s.

For each case with a `live:` block the harness creates the case's namespace (labelled as this harness's
scratch namespace), applies the case's manifests, waits until the cluster shows the state the question is
about, lets the bot answer, and deletes the namespace. It never touches a namespace it did not create: one
that exists without its label stops the case before anything is applied.

The harness reaches the cluster through the bot's own EKS MCP server (the same kubeconfig and auth the
answers use), calling it directly: these are the harness's calls, not the model's, so they pass no write
gate and are not in the audit log, which keeps the model's writes (none may run: nobody approves a card
during an eval) apart from the harness's set-up.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any, Protocol

import yaml

from evals.cases import LIVE_KINDS, Case, Live, Wait
from evals.world import run_state

logger = logging.getLogger(__name__)

SCRATCH_LABEL = "sre-bot.eval/scratch"
"""On every namespace the harness creates (value: the case id); only such a namespace is ever deleted."""

POD_SECURITY = {"pod-security.kubernetes.io/enforce": "baseline"}
"""Also on it: the API server refuses what a case has no need of and a hostile case file would use on a
cluster someone lends it (privileged containers, host paths, the host's network or processes)."""

GONE_TIMEOUT = 180.0  # how long a namespace of the previous case may take to terminate
POLL = 2.0


class LiveError(RuntimeError):
    """Live mode cannot go on (no such context, a namespace it does not own): one line saying what."""


class ToolCaller(Protocol):
    """What the harness needs of an MCP server (agents.mcp.servers.McpServer)."""

    async def call(self, tool_use_id: str, name: str, arguments: dict[str, Any]) -> Any: ...


class Kube:
    """The harness's Kubernetes calls, made as EKS MCP tool calls on one cluster (a kubeconfig context)."""

    def __init__(self, server: ToolCaller, cluster: str) -> None:
        self.server = server
        self.cluster = cluster

    async def _call(self, tool: str, **arguments: Any) -> tuple[bool, str, dict[str, Any] | None]:
        result = await self.server.call(
            f"eval-{uuid.uuid4().hex[:8]}", tool, {"cluster_name": self.cluster, **arguments}
        )
        texts = [str(c.get("text", "")) for c in result.get("content", []) if isinstance(c, dict)]
        data = None
        for text in texts:
            try:
                loaded = json.loads(text)
            except ValueError:
                continue
            if isinstance(loaded, dict):
                data = loaded
        return result.get("status") != "error", " ".join(texts), data

    async def read(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        """The object as the API returns it (status included), or None when there is none."""
        ok, text, data = await self._call(
            "manage_k8s_resource",
            operation="read",
            kind=kind,
            api_version=LIVE_KINDS.get(kind, "v1"),
            name=name,
            **({"namespace": namespace} if namespace else {}),
        )
        if not ok:
            if _not_found(text):
                return None
            raise LiveError(f"cannot read {kind} {name}: {_short(text)}")
        resource = (data or {}).get("resource")
        return resource if isinstance(resource, dict) else {}

    async def write(self, operation: str, obj: dict[str, Any]) -> None:
        meta = obj.get("metadata") or {}
        ok, text, _ = await self._call(
            "manage_k8s_resource",
            operation=operation,
            kind=obj["kind"],
            api_version=obj.get("apiVersion", "v1"),
            name=meta.get("name"),
            **({"namespace": meta["namespace"]} if meta.get("namespace") else {}),
            **({"body": obj} if operation != "delete" else {}),
        )
        if not ok:
            raise LiveError(f"cannot {operation} {obj['kind']} {meta.get('name')}: {_short(text)}")

    async def names(self, kind: str, namespace: str, labels: str) -> list[str]:
        ok, text, data = await self._call(
            "list_k8s_resources",
            kind=kind,
            api_version=LIVE_KINDS[kind],
            namespace=namespace,
            label_selector=labels,
        )
        if not ok:
            raise LiveError(f"cannot list {kind} ({labels}): {_short(text)}")
        return [str(i.get("name")) for i in (data or {}).get("items", []) if i.get("name")]


def _not_found(text: str) -> bool:
    return "(404)" in text or "NotFound" in text or "not found" in text.lower()


def _short(text: str) -> str:
    return " ".join(text.split())[:300]


class LiveWorld:
    """One real cluster, named by its kubeconfig context; the bot's other settings stay the user's."""

    def __init__(self, context: str, directory: Path | None = None) -> None:
        self.context = context
        self.dir = directory or Path(tempfile.mkdtemp(prefix="sre-bot-eval-live-"))
        self.poll = POLL
        self.gone_timeout = GONE_TIMEOUT

    def check(self, kubeconfigs: list[Path]) -> None:
        """The context must be in the kubeconfig the bot reads (its settings' KUBECONFIG)."""
        contexts = _contexts(kubeconfigs)
        if self.context not in contexts:
            where = ", ".join(str(p) for p in kubeconfigs) or "no kubeconfig"
            known = ", ".join(sorted(contexts)) or "none"
            raise LiveError(f"--live {self.context}: no such context in {where} (contexts: {known})")

    def environment(self, fleet: bool) -> dict[str, str]:
        """Settings pointing the bot at the context: writes on with approvals (every change must stop at a
        card), its own state files, KUBECONFIG as the user has it."""
        del fleet  # live cases are single-cluster (evals.cases.Case)
        return {
            "EKS_AUTH_MODE": "kubeconfig",
            "DEFAULT_CLUSTER": self.context,
            "EKS_MCP_ALLOW_SENSITIVE_DATA": "true",
            "EKS_MCP_ALLOW_WRITE": "true",
            "MCP_SERVERS": "eks",
            **run_state(self.dir),
        }

    async def prepare(self, case: Case, kube: Kube) -> str | None:
        """Make the case's namespace and wait for its state; the reason when the cluster did not get there
        (the case then fails without asking the model). A namespace it does not own raises LiveError."""
        live = _live(case)
        namespace = live.namespace
        await self._clear(namespace, kube)
        await kube.write(
            "create",
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": namespace, "labels": {SCRATCH_LABEL: case.id, **POD_SECURITY}},
            },
        )
        deadline = time.monotonic() + live.timeout
        made: set[tuple[str, str]] = set()
        for obj in live.manifests:
            key = (obj["kind"], obj["metadata"]["name"])
            # a rollout: the new version only once the first one is out
            if key in made and not await self._until(partial(_rolled_out, obj, namespace, kube), deadline):
                return (
                    f"the cluster did not reach the case's state in {live.timeout:.0f} s: {obj['kind']} "
                    f"{key[1]}'s first version never rolled out"
                )
            await kube.write("replace" if key in made else "create", obj)
            made.add(key)
        return await self._wait(live, kube, deadline)

    async def finish(self, case: Case, kube: Kube) -> None:
        """Delete the case's namespace (only ever one this harness labelled); its end is awaited by the
        next case that needs the name, so a run does not wait for each namespace to terminate."""
        namespace = _live(case).namespace
        current = await kube.read("Namespace", namespace)
        if current is not None and _owned(current):
            await kube.write(
                "delete", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
            )

    async def _clear(self, namespace: str, kube: Kube) -> None:
        """Wait until no namespace of that name exists, deleting one an earlier (interrupted) run left."""
        deadline = time.monotonic() + self.gone_timeout
        deleted = False
        while (current := await kube.read("Namespace", namespace)) is not None:
            if not _owned(current):
                raise LiveError(
                    f"namespace {namespace} exists in context {self.context} and was not made by sre-bot eval "
                    f"(no {SCRATCH_LABEL} label): live cases only run in a namespace they create; delete it or "
                    "use another cluster"
                )
            if not deleted and (current.get("status") or {}).get("phase") != "Terminating":
                await kube.write(
                    "delete", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
                )
            deleted = True
            if time.monotonic() > deadline:
                raise LiveError(
                    f"namespace {namespace} from an earlier case is still terminating after "
                    f"{self.gone_timeout:.0f} s"
                )
            await asyncio.sleep(self.poll)

    async def _wait(self, live: Live, kube: Kube, deadline: float) -> str | None:
        pending: list[Wait] = []

        async def ready() -> bool:
            pending[:] = [w for w in live.ready if not await _holds(w, live.namespace, kube)]
            return not pending

        if await self._until(ready, deadline):
            return None
        w = pending[0]
        return (
            f"the cluster did not reach the case's state in {live.timeout:.0f} s: no {w.kind} {w.name or w.labels} "
            f"showed {w.shows!r}"
        )

    async def _until(self, check: Callable[[], Awaitable[bool]], deadline: float) -> bool:
        """Poll `check` until it holds (True) or the deadline passes (False)."""
        while not await check():
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(self.poll)
        return True

    def mutations(self) -> list[dict[str, Any]]:
        """A real cluster keeps no request log: the model's writes are judged by the audit log alone."""
        return []

    def close(self) -> None:
        pass


async def _rolled_out(obj: dict[str, Any], namespace: str, kube: Kube) -> bool:
    """Has the workload's current version rolled out (the controller saw it, its replicas are up)? Kinds
    without a rollout are there once they exist."""
    current = await kube.read(obj["kind"], obj["metadata"]["name"], namespace)
    if current is None:
        return False
    status, spec = current.get("status") or {}, current.get("spec") or {}
    generation = (current.get("metadata") or {}).get("generation")
    seen = generation is None or (status.get("observedGeneration") or 0) >= generation
    wanted = spec.get("replicas", 1)
    if obj["kind"] == "Deployment":
        return seen and (status.get("availableReplicas") or 0) >= wanted
    if obj["kind"] == "StatefulSet":
        return seen and (status.get("readyReplicas") or 0) >= wanted
    if obj["kind"] == "DaemonSet":
        return seen and (status.get("numberAvailable") or 0) >= (status.get("desiredNumberScheduled") or 1)
    return True


async def _holds(wait: Wait, namespace: str, kube: Kube) -> bool:
    names = [wait.name] if wait.name else await kube.names(wait.kind, namespace, wait.labels or "")
    for name in names:
        obj = await kube.read(wait.kind, name, namespace)
        if obj is not None and re.search(wait.shows, json.dumps(obj)):
            return True
    return False


def _owned(namespace: dict[str, Any]) -> bool:
    return SCRATCH_LABEL in ((namespace.get("metadata") or {}).get("labels") or {})


def _live(case: Case) -> Live:
    if case.live is None:
        raise LiveError(f"{case.id} has no live block")
    return case.live


def _contexts(kubeconfigs: list[Path]) -> set[str]:
    names: set[str] = set()
    for path in kubeconfigs:
        try:
            config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            continue
        for context in config.get("contexts") or [] if isinstance(config, dict) else []:
            if isinstance(context, dict) and context.get("name"):
                names.add(str(context["name"]))
    return names
