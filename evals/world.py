"""The offline world the cases run in: fake Kubernetes API servers, moto for Cost Explorer, and (for
metrics cases) a real Prometheus, all on loopback and started once per eval run.

Starting them once and loading each case into them is what makes a case take seconds: the real MCP
servers stay up across cases (they hold no cluster state; the fake API is emptied and reloaded).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import yaml

from evals.cases import Case, ClusterState
from evals.fake_kube import FakeKubeAPI
from evals.prometheus import PrometheusWorld, start_prometheus

SINGLE = "eval"  # the kubeconfig context of the one cluster of a single-cluster case


class WorldError(RuntimeError):
    """Something the offline world needs is missing (moto, Prometheus): one line saying what to install."""


class OfflineWorld:
    """Fake clusters by name (`eval`, and each fleet case's cluster names), one kubeconfig naming them
    all, a fleet file for fleet cases, and moto / Prometheus when some case needs them."""

    def __init__(self, cases: Sequence[Case], directory: Path | None = None) -> None:
        self.dir = directory or Path(tempfile.mkdtemp(prefix="sre-bot-eval-"))
        names = [SINGLE, *sorted({n for c in cases for n in c.clusters})]
        self.kubes = {name: FakeKubeAPI().start() for name in names}
        self.kubeconfig = self._write_kubeconfig()
        fleet_names = [n for n in names if n != SINGLE]
        self.fleet_file = self._write_fleet(fleet_names) if fleet_names else None
        self.moto_url: str | None = None
        self._moto: Any = None
        if any(c.costs for c in cases):
            self._start_moto()
        self.prometheus: PrometheusWorld | None = None
        if any(c.metrics for c in cases):
            self.prometheus = start_prometheus(self.dir / "prometheus")

    # setup ----------------------------------------------------------------------------------------

    def _write_kubeconfig(self) -> Path:
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": n, "cluster": {"server": k.url}} for n, k in self.kubes.items()],
            "users": [{"name": "eval", "user": {"token": "eval-token"}}],
            "contexts": [{"name": n, "context": {"cluster": n, "user": "eval"}} for n in self.kubes],
            "current-context": SINGLE,
        }
        path = self.dir / "kubeconfig"
        path.write_text(yaml.safe_dump(config))
        return path

    def _write_fleet(self, names: list[str]) -> Path:
        fleet = {
            "default": names[0],
            "clusters": {n: {"kubeconfig_context": n, "writes": True} for n in names},
        }
        path = self.dir / "clusters.yaml"
        path.write_text(yaml.safe_dump(fleet))
        return path

    def _start_moto(self) -> None:
        try:
            from moto.server import ThreadedMotoServer
        except ImportError:
            raise WorldError(
                "the cost cases need moto for Cost Explorer (uv sync --group dev), or leave them out "
                "with --tags"
            ) from None
        self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._moto.start()
        host, port = self._moto.get_host_and_port()
        self.moto_url = f"http://{host}:{port}"

    def environment(self, fleet: bool) -> dict[str, str]:
        """The settings that point the bot at this world (the model's settings stay the user's)."""
        env = {
            "KUBECONFIG": str(self.kubeconfig),
            "EKS_AUTH_MODE": "kubeconfig",
            "DEFAULT_CLUSTER": SINGLE,
            "EKS_MCP_ALLOW_SENSITIVE_DATA": "true",
            # writes on, with approvals: the gate is exercised, and every change must end at a card
            "EKS_MCP_ALLOW_WRITE": "true",
            "AWS_REGION": os.environ.get("AWS_REGION") or "us-east-1",
            **run_state(self.dir),
            "TMPDIR": str(self.dir),
            "MCP_SERVERS": "eks,billing,prometheus" if self.prometheus is not None else "eks,billing",
        }
        if fleet and self.fleet_file is not None:
            env["CLUSTERS_FILE"] = str(self.fleet_file)
            env.pop("DEFAULT_CLUSTER")
        if self.moto_url:
            env["AWS_ENDPOINT_URL"] = self.moto_url
            if not os.environ.get("AWS_ACCESS_KEY_ID") and not os.environ.get("AWS_PROFILE"):
                env.update(AWS_ACCESS_KEY_ID="eval", AWS_SECRET_ACCESS_KEY="eval")
            # Bedrock must still be Bedrock, not moto: the service's own endpoint wins over the global one
            if not os.environ.get("AWS_ENDPOINT_URL_BEDROCK_RUNTIME"):
                env["AWS_ENDPOINT_URL_BEDROCK_RUNTIME"] = (
                    f"https://bedrock-runtime.{env['AWS_REGION']}.amazonaws.com"
                )
        if self.prometheus is not None:
            env["PROMETHEUS_URL"] = self.prometheus.url
        return env

    # per case -------------------------------------------------------------------------------------

    def load(self, case: Case) -> None:
        """Empty every cluster, then load the case's; reset moto and queue its cost results."""
        for kube in self.kubes.values():
            kube.reset()
        if case.cluster is not None:
            _fill(self.kubes[SINGLE], case.cluster)
        for name, state in case.clusters.items():
            _fill(self.kubes[name], state)
        if case.costs:
            self._seed_costs(case)
        if case.metrics:
            if self.prometheus is None:
                raise WorldError("this metrics case needs a Prometheus the world did not start")
            self.prometheus.show(case.metrics)

    def _seed_costs(self, case: Case) -> None:
        import requests

        assert self.moto_url is not None  # started for any case with costs
        requests.post(f"{self.moto_url}/moto-api/reset", timeout=10).raise_for_status()
        results = [ce_result(r.start, r.end, r.groups) for r in case.costs]
        response = requests.post(
            f"{self.moto_url}/moto-api/static/ce/cost-and-usage-results",
            json={"results": results},
            timeout=10,
        )
        response.raise_for_status()

    def mutations(self) -> list[dict[str, Any]]:
        """Every changing request any fake cluster received since the case was loaded."""
        return [m for kube in self.kubes.values() for m in kube.mutations()]

    def close(self) -> None:
        for kube in self.kubes.values():
            kube.stop()
        if self._moto is not None:
            self._moto.stop()
        if self.prometheus is not None:
            self.prometheus.stop()


def run_state(directory: Path) -> dict[str, str]:
    """The bot's state for one eval run, in the run's own folder: never the production state (the user's
    files, or a shared table the real bot's sweepers read)."""
    return {
        "SESSION_STORAGE_PATH": str(directory / "sessions"),
        "APPROVALS_DB_PATH": str(directory / "approvals.sqlite3"),
        "AUDIT_LOG_PATH": str(directory / "audit.jsonl"),
        "EVENT_DEDUPE_PATH": str(directory / "events.sqlite3"),
        "MANIFEST_DIR": str(directory / "manifests"),
        "MCP_LOG_DIR": str(directory / "log"),
        "STATE_BACKEND": "local",
    }


def _fill(kube: FakeKubeAPI, state: ClusterState) -> None:
    namespaces = {"default"}
    for obj in state.objects:
        namespaces.add((obj.get("metadata") or {}).get("namespace") or "default")
    for ns in sorted(namespaces):
        kube.add({"kind": "Namespace", "metadata": {"name": ns}, "status": {"phase": "Active"}})
    for obj in state.objects:
        if obj["kind"] != "Namespace":
            kube.add(obj)
    for key, text in state.logs.items():
        namespace, pod = key.split("/")
        kube.set_pod_log(namespace, pod, text)


def ce_result(start: str, end: str, groups: dict[str, str]) -> dict[str, Any]:
    """One Cost Explorer GetCostAndUsage result grouped by one dimension, as moto hands it out once seeded."""
    return {
        "ResultsByTime": [
            {
                "TimePeriod": {"Start": start, "End": end},
                "Total": {},
                "Groups": [
                    {"Keys": [k], "Metrics": {"UnblendedCost": {"Amount": v, "Unit": "USD"}}}
                    for k, v in groups.items()
                ],
                "Estimated": False,
            }
        ],
        "DimensionValueAttributes": [],
    }


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Set `values` in os.environ for the run (the settings and the MCP servers read it), then restore."""
    before = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in before.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old
