"""Live mode (`sre-bot eval --live CONTEXT`): the cases run against a real cluster, such as the Compose K3s.

For each case with a `live:` block the harness creates the case's namespace (labelled with this run's id,
Pod Security `baseline` enforced, a quota and a network policy in it), applies the case's manifests (only
fields evals/live_rules.py allows), waits until the cluster shows the state the question is about, lets
the bot answer, and deletes the namespace. It never touches a namespace it did not create: one without
its label stops the case before anything is applied, one another run made recently is left alone, and it
deletes only the namespace whose UID it created.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import shutil
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

from evals import patterns
from evals.cases import Case, Live, Wait
from evals.live_kube import Kube, LiveError, one_context
from evals.live_rules import POD_SECURITY, SCRATCH_LABEL, guards, privileged_probe, sealed
from evals.world import run_state

logger = logging.getLogger(__name__)

GONE_TIMEOUT = 180.0  # how long a namespace of the previous case may take to terminate
# a scratch namespace of another run this old was left by one that was stopped: longer than any case can
# take (its wait of up to 900 s, clearing the namespace before it, the model's answer), and than clock skew
STALE_SECONDS = 3600.0
POLL = 2.0

__all__ = ["Kube", "LiveError", "LiveWorld"]


class LiveWorld:
    """One real cluster, named by its kubeconfig context; the bot's other settings stay the user's."""

    def __init__(self, context: str, directory: Path | None = None) -> None:
        self.context = context
        self.dir = directory or Path(tempfile.mkdtemp(prefix="sre-bot-eval-live-"))
        self.run = uuid.uuid4().hex[:12]  # the label value of this run's namespaces
        self.poll = POLL
        self.gone_timeout = GONE_TIMEOUT
        self.kubeconfig: Path | None = None
        self._made: dict[str, str] = {}  # namespace -> the UID this run created

    def check(self, kubeconfigs: list[Path]) -> None:
        """The context must be in the kubeconfig the bot reads; the run then uses a copy naming only it."""
        self.kubeconfig = one_context(kubeconfigs, self.context, self.dir / "kubeconfig")

    def environment(self, fleet: bool) -> dict[str, str]:
        """Settings pointing the bot at the context alone: writes on with approvals (every change must stop
        at a card), its own state files."""
        del fleet  # live cases are single-cluster (evals.cases.Case)
        env = {
            "EKS_AUTH_MODE": "kubeconfig",
            "DEFAULT_CLUSTER": self.context,
            "EKS_MCP_ALLOW_SENSITIVE_DATA": "true",
            "EKS_MCP_ALLOW_WRITE": "true",
            "MCP_SERVERS": "eks",
            **run_state(self.dir),
        }
        if self.kubeconfig is not None:
            env["KUBECONFIG"] = str(self.kubeconfig)
        return env

    async def prepare(self, case: Case, kube: Kube) -> str | None:
        """Make the case's namespace and wait for its state; the reason when the cluster did not get there
        (the case then fails without asking the model). LiveError when it may not or cannot."""
        live = _live(case)
        namespace = live.namespace
        await self._clear(namespace, kube)
        labels = {SCRATCH_LABEL: self.run, **POD_SECURITY}
        await kube.write(
            "create",
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace, "labels": labels}},
        )
        made = await kube.read("Namespace", namespace)
        uid = ((made or {}).get("metadata") or {}).get("uid")
        if (
            made is None
            or not uid
            or ((made.get("metadata") or {}).get("labels") or {}).get(SCRATCH_LABEL) != self.run
        ):
            raise LiveError(f"namespace {namespace}: not the one this run created")
        self._made[namespace] = str(uid)
        for guard in guards(namespace):
            await kube.write("create", guard)
        await self._pod_security(namespace, kube)
        deadline = time.monotonic() + live.timeout
        applied: set[tuple[str, str]] = set()
        for obj in live.manifests:
            key = (obj["kind"], obj["metadata"]["name"])
            # a rollout: the new version only once the first one is out
            if key in applied and not await self._until(partial(_rolled_out, obj, namespace, kube), deadline):
                return (
                    f"the cluster did not reach the case's state in {live.timeout:.0f} s: {obj['kind']} "
                    f"{key[1]}'s first version never rolled out"
                )
            await kube.write("replace" if key in applied else "create", sealed(obj, self.run))
            applied.add(key)
        return await self._wait(live, kube, deadline)

    async def finish(self, case: Case, kube: Kube) -> None:
        """Delete the case's namespace if it is still the one this run created (same UID); its end is
        awaited by the next case that needs the name, so a run does not wait for each to terminate."""
        namespace = _live(case).namespace
        uid = self._made.pop(namespace, None)
        if uid is None:
            return
        current = await kube.read("Namespace", namespace)
        if current is not None and (current.get("metadata") or {}).get("uid") == uid:
            await kube.write("delete", _namespace(namespace))

    async def _pod_security(self, namespace: str, kube: Kube) -> None:
        """Pod Security must be enforced: a privileged pod has to be refused in the new namespace."""
        probe = privileged_probe(namespace)
        try:
            await kube.write("create", probe)
        except LiveError as exc:
            if "PodSecurity" in exc.detail:
                return  # refused by Pod Security, as wanted
            raise LiveError(f"could not check that Pod Security is enforced: {exc}") from None
        await kube.write("delete", probe)
        raise LiveError(
            f"context {self.context} admitted a privileged pod in a namespace enforcing Pod Security baseline: "
            "live cases need a cluster that enforces it (Kubernetes 1.25 or newer, PodSecurity admission on)"
        )

    async def _clear(self, namespace: str, kube: Kube) -> None:
        """Wait until no namespace of that name exists: one of this run's ends, one a stopped run left long
        ago is deleted; any other stops the case."""
        deadline = time.monotonic() + self.gone_timeout
        deleted = False
        while (current := await kube.read("Namespace", namespace)) is not None:
            meta = current.get("metadata") or {}
            owner = (meta.get("labels") or {}).get(SCRATCH_LABEL)
            if owner is None:
                raise LiveError(
                    f"namespace {namespace} exists in context {self.context} and was not made by sre-bot eval "
                    f"(no {SCRATCH_LABEL} label): live cases only run in a namespace they create; delete it or "
                    "use another cluster"
                )
            age = _age(meta.get("creationTimestamp"))
            if owner != self.run and (age is None or age < STALE_SECONDS):
                raise LiveError(
                    f"namespace {namespace} belongs to another sre-bot eval run (made "
                    f"{'recently' if age is None else f'{age:.0f} s ago'}): wait for it to finish"
                )
            terminating = (current.get("status") or {}).get("phase") == "Terminating"
            if not deleted and not terminating:
                await kube.write("delete", _namespace(namespace))
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
            f"the cluster did not reach the case's state in {live.timeout:.0f} s: no {w.kind} "
            f"{w.name or w.labels} showed {w.shows!r}"
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
        """Remove the run's folder: it holds a copy of the context's credentials."""
        shutil.rmtree(self.dir, ignore_errors=True)


def _namespace(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def _age(timestamp: Any) -> float | None:
    try:
        made = dt.datetime.fromisoformat(str(timestamp).replace("Z", "+00:00"))
    except ValueError:
        return None
    if made.tzinfo is None:
        made = made.replace(tzinfo=dt.UTC)
    return (dt.datetime.now(dt.UTC) - made).total_seconds()


async def _rolled_out(obj: dict[str, Any], namespace: str, kube: Kube) -> bool:
    """Has the workload's current version rolled out (the controller saw it, its replicas are up)? Kinds
    without a rollout are there once they exist."""
    current = await kube.read(obj["kind"], obj["metadata"]["name"], namespace)
    if current is None:
        return False
    status, spec = current.get("status") or {}, current.get("spec") or {}
    generation = (current.get("metadata") or {}).get("generation")
    seen = generation is None or (status.get("observedGeneration") or 0) >= generation
    if obj["kind"] == "Deployment":
        return seen and (status.get("availableReplicas") or 0) >= spec.get("replicas", 1)
    return True


async def _holds(wait: Wait, namespace: str, kube: Kube) -> bool:
    names = [wait.name] if wait.name else await kube.names(wait.kind, namespace, wait.labels or "")
    for name in names:
        obj = await kube.read(wait.kind, name, namespace)
        if obj is not None and shows(wait.shows, json.dumps(obj)):
            return True
    return False


def shows(pattern: str, text: str) -> bool:
    """`pattern` found in `text` within a time limit (a pattern that backtracks for ever is no match)."""
    return patterns.search(pattern, text) is not None


def _live(case: Case) -> Live:
    if case.live is None:
        raise LiveError(f"{case.id} has no live block")
    return case.live
