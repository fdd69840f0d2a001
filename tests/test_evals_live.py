"""`sre-bot eval --live CONTEXT`: a case's manifests applied to a real cluster in a namespace the harness
creates, labels and deletes, never one it did not create.

The cluster is the fake Kubernetes API (no cluster can run here), reached through the real EKS MCP server
as a real one would be; a callback plays the kubelet, turning the created Pod into a crash loop a moment
later, so the harness really has to wait for the state the question is about.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

import evals.live
from evals.cases import CaseError, load_case
from evals.fake_kube import FakeKubeAPI
from evals.live import SCRATCH_LABEL
from evals.run import Outcome
from evals.score import score
from tests.test_evals import run_eval

CONTEXT = "k3s-live"
POD = "checkout-6f7d9-x2k4p"

CASE: dict[str, Any] = {
    "question": "why is the checkout pod in the shop namespace crashing?",
    "tags": {"difficulty": "easy", "area": ["pods", "crashloop"]},
    "cluster": {"objects": [{"kind": "Pod", "metadata": {"name": POD, "namespace": "shop"}}]},
    "expect": {"findings": [POD, "PAYMENTS_API_URL"]},
    "budget": {"tokens": 60000, "tool_calls": 4},
    "script": [
        {
            "calls": [
                {
                    "tool": "list_k8s_resources",
                    "args": {"kind": "Pod", "api_version": "v1", "namespace": "shop"},
                },
                {"tool": "get_pod_logs", "args": {"namespace": "shop", "pod_name": POD, "tail_lines": 50}},
            ],
            "quote": ["checkout-[a-z0-9]+-[a-z0-9]+", r"variable \w+ is not set"],
        }
    ],
    "live": {
        "manifests": [
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "checkout-config", "namespace": "shop"},
                "data": {"LOG_LEVEL": "info"},
            },
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": POD, "namespace": "shop", "labels": {"app": "checkout"}},
                "spec": {
                    "containers": [
                        {"name": "app", "image": "busybox:1.36", "command": ["sh", "-c", "exit 1"]}
                    ]
                },
            },
            {  # given twice: replaced, as a rollout would be
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "checkout-config", "namespace": "shop"},
                "data": {"LOG_LEVEL": "debug"},
            },
        ],
        "ready": [{"kind": "Pod", "labels": "app=checkout", "shows": "CrashLoopBackOff"}],
        "timeout": 20,
    },
}


def kubelet(kube: FakeKubeAPI, delay: float = 0.5) -> None:
    """After `delay`, a created Pod crash-loops and logs why (what a real kubelet would show)."""

    def crash(pod: dict[str, Any]) -> None:
        meta = pod["metadata"]
        kube.set_pod_log(
            meta["namespace"],
            meta["name"],
            "FATAL: required environment variable PAYMENTS_API_URL is not set\n",
        )
        pod["status"] = {
            "phase": "Running",
            "containerStatuses": [
                {
                    "name": "app",
                    "ready": False,
                    "restartCount": 3,
                    "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                }
            ],
        }
        kube.add(pod)

    def created(obj: dict[str, Any]) -> None:
        if obj["kind"] == "Pod":
            threading.Timer(delay, crash, args=(obj,)).start()

    kube.on_create = created


@pytest.fixture
def cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    kube = FakeKubeAPI().start()
    monkeypatch.setenv("KUBECONFIG", str(kube.write_kubeconfig(tmp_path / "kubeconfig", context=CONTEXT)))
    monkeypatch.delenv("CLUSTERS_FILE", raising=False)
    monkeypatch.setattr(evals.live, "POLL", 0.1)
    yield kube
    kube.stop()


def write_case(tmp_path: Path, **changes: Any) -> Path:
    data = json.loads(json.dumps(CASE))
    for key, value in changes.items():
        data["live"][key] = value
    path = tmp_path / "cases" / "live-crashloop.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump(data))
    return path


def requests(kube: FakeKubeAPI) -> list[str]:
    return [f"{r['method']} {r['path']}" for r in kube.mutations()]


def test_a_live_case_is_applied_in_a_labelled_namespace_waited_for_answered_and_cleaned_up(
    tmp_path: Path, cluster: FakeKubeAPI
) -> None:
    kubelet(cluster)
    report = tmp_path / "report.json"
    code, out, err = run_eval(
        "--cases", str(write_case(tmp_path)), "--scripted", "--live", CONTEXT, "--out", str(report)
    )
    assert code == 0, err
    assert json.loads(report.read_text())["world"] == f"live:{CONTEXT}"
    assert "1 cases × 1 run(s), " in out and out.splitlines()[2].endswith(
        f", against the cluster of context {CONTEXT}"
    )
    run = json.loads(report.read_text())["results"][0]["runs"][0]
    assert run["passed"] and run["outcome"]["live"] is True
    assert "PAYMENTS_API_URL" in run["outcome"]["answer"]
    # the model's calls alone are audited: the harness's set-up is not a write of the model
    assert [c["tool"] for c in run["outcome"]["tool_calls"]] == [
        "eks_assistant",
        "list_k8s_resources",
        "get_pod_logs",
    ]
    assert requests(cluster) == [
        "POST /api/v1/namespaces",
        "POST /api/v1/namespaces/shop/configmaps",
        "POST /api/v1/namespaces/shop/pods",
        "PUT /api/v1/namespaces/shop/configmaps/checkout-config",
        "DELETE /api/v1/namespaces/shop",
    ]
    created = json.loads(next(r for r in cluster.mutations() if r["path"] == "/api/v1/namespaces")["body"])
    assert created["metadata"]["labels"] == {
        SCRATCH_LABEL: "live-crashloop",
        "pod-security.kubernetes.io/enforce": "baseline",  # no privileged pod, host path or host network
    }
    assert cluster.objects == {}  # the namespace and all in it are gone


def test_a_namespace_the_harness_did_not_make_is_never_touched(tmp_path: Path, cluster: FakeKubeAPI) -> None:
    cluster.add({"kind": "Namespace", "metadata": {"name": "shop"}})
    cluster.add({"kind": "Pod", "metadata": {"name": "real-workload", "namespace": "shop"}})
    code, _, err = run_eval("--cases", str(write_case(tmp_path)), "--scripted", "--live", CONTEXT)
    assert code == 2
    assert err.strip().splitlines()[-1] == (
        f"sre-bot eval: namespace shop exists in context {CONTEXT} and was not made by sre-bot eval (no "
        f"{SCRATCH_LABEL} label): live cases only run in a namespace they create; delete it or use another cluster"
    )
    assert requests(cluster) == []
    assert cluster.get("pods", "shop", "real-workload") is not None


def test_a_scratch_namespace_an_interrupted_run_left_is_deleted_and_awaited_first(
    tmp_path: Path, cluster: FakeKubeAPI
) -> None:
    cluster.add({"kind": "Namespace", "metadata": {"name": "shop", "labels": {SCRATCH_LABEL: "old"}}})
    cluster.add({"kind": "Pod", "metadata": {"name": POD, "namespace": "shop"}})
    kubelet(cluster)
    code, _, err = run_eval("--cases", str(write_case(tmp_path)), "--scripted", "--live", CONTEXT)
    assert code == 0, err
    assert requests(cluster)[:2] == ["DELETE /api/v1/namespaces/shop", "POST /api/v1/namespaces"]


def test_a_terminating_scratch_namespace_is_waited_for_not_deleted_again(
    tmp_path: Path, cluster: FakeKubeAPI
) -> None:
    cluster.add(
        {
            "kind": "Namespace",
            "metadata": {"name": "shop", "labels": {SCRATCH_LABEL: "previous-case"}},
            "status": {"phase": "Terminating"},
        }
    )

    def end_once_seen() -> None:  # the namespace controller finishes after the harness has seen it twice
        while sum(r["path"] == "/api/v1/namespaces/shop" for r in list(cluster.requests)) < 2:
            threading.Event().wait(0.05)
        cluster.objects.pop(("v1", "namespaces", "", "shop"), None)

    threading.Thread(target=end_once_seen, daemon=True).start()
    kubelet(cluster)
    code, _, err = run_eval("--cases", str(write_case(tmp_path)), "--scripted", "--live", CONTEXT)
    assert code == 0, err
    assert requests(cluster)[0] == "POST /api/v1/namespaces"


def test_a_cluster_that_never_reaches_the_state_fails_the_case_without_asking_the_model(
    tmp_path: Path, cluster: FakeKubeAPI
) -> None:
    report = tmp_path / "report.json"  # no kubelet: the Pod never crash-loops
    code, _, _err = run_eval(
        "--cases",
        str(write_case(tmp_path, timeout=0.5)),
        "--scripted",
        "--live",
        CONTEXT,
        "--out",
        str(report),
    )
    assert code == 1
    run = json.loads(report.read_text())["results"][0]["runs"][0]
    assert run["outcome"]["error"] == (
        "the cluster did not reach the case's state in 0 s: no Pod app=checkout showed 'CrashLoopBackOff'"
    )
    assert run["outcome"]["model_calls"] == 0
    assert requests(cluster)[-1] == "DELETE /api/v1/namespaces/shop" and cluster.objects == {}


def test_an_unknown_context_is_one_line_naming_the_ones_there(tmp_path: Path, cluster: FakeKubeAPI) -> None:
    code, _, err = run_eval("--cases", str(write_case(tmp_path)), "--scripted", "--live", "prod")
    assert code == 2
    assert err.strip().splitlines()[-1] == (
        f"sre-bot eval: --live prod: no such context in {tmp_path / 'kubeconfig'} (contexts: {CONTEXT})"
    )
    assert requests(cluster) == []


def test_cases_without_a_live_block_are_left_out_in_one_line(tmp_path: Path, cluster: FakeKubeAPI) -> None:
    kubelet(cluster)
    path = write_case(tmp_path)
    offline = yaml.safe_load(path.read_text())
    del offline["live"]
    (path.parent / "offline-only.yaml").write_text(yaml.safe_dump(offline))
    code, _, err = run_eval("--cases", str(path.parent), "--scripted", "--live", CONTEXT)
    assert code == 0, err
    assert "- 1 case(s) without a live block left out: offline-only" in err.splitlines()
    path.unlink()
    code, _, err = run_eval("--cases", str(path.parent), "--scripted", "--live", CONTEXT)
    assert (code, err.strip()) == (2, f"sre-bot eval: --live: no case in {path.parent} has a live block")


def test_live_findings_replace_the_offline_ones_in_a_live_run_only(tmp_path: Path) -> None:
    case = load_case(write_case(tmp_path, findings=["checkout-[a-z0-9]+-[a-z0-9]+", "PAYMENTS_API_URL"]))
    answer = "checkout-7c9f-abcde crashes: PAYMENTS_API_URL is not set"  # a Deployment's own pod name
    live = score(case, Outcome(case.id, 1, live=True, answer=answer))
    offline = score(case, Outcome(case.id, 1, live=False, answer=answer))
    assert [c.ok for c in live.checks if c.name == "findings"] == [True]
    assert [c.detail for c in offline.checks if c.name == "findings"] == [f"not in the answer: {POD}"]


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        ({"kind": "Namespace", "metadata": {"name": "shop"}}, "kind must be one of"),
        ({"kind": "ClusterRole", "metadata": {"name": "x"}}, "kind must be one of"),
        ({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}, "metadata.namespace must be given"),
        (
            {"apiVersion": "apps/v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "shop"}},
            "apiVersion must be v1",
        ),
        (
            {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "other"}},
            "one namespace per case",
        ),
        (
            {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "P_x", "namespace": "shop"}},
            "must be a DNS label",
        ),
    ],
)
def test_a_live_block_that_would_leave_something_behind_is_refused(
    tmp_path: Path, manifest: dict[str, Any], message: str
) -> None:
    path = write_case(tmp_path)
    data = yaml.safe_load(path.read_text())
    data["live"]["manifests"].append({"apiVersion": "v1", **manifest})
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(CaseError, match=message):
        load_case(path)


def test_every_live_block_is_valid_kubernetes_and_keeps_its_case_true() -> None:
    """Each case's manifests pass the Kubernetes schemas (the version scripts/check-deploy uses), live in
    the namespace its question is about, wait for an object they make, and make every object an offline
    finding names (or the case gives live findings)."""
    import re

    import kubernetes_validate

    from evals.cases import load_cases
    from tests.test_evals import CASES

    version = re.search(
        r"K8S_SCHEMA_VERSION:-([\d.]+)", (CASES.parents[1] / "scripts/check-deploy").read_text()
    )
    assert version is not None
    live = [c for c in load_cases(CASES) if c.live is not None]
    assert live, "no case has a live block"
    for case in live:
        assert case.live is not None
        for manifest in case.live.manifests:
            kubernetes_validate.validate(manifest, version.group(1), strict=True)
        offline = [o for o in (case.cluster.objects if case.cluster else []) if o["kind"] != "Event"]
        spaces = {o["metadata"].get("namespace") for o in offline} - {None}
        assert case.live.namespace in spaces, case.id
        made = {(m["kind"], m["metadata"]["name"]) for m in case.live.manifests}
        for wait in case.live.ready:
            if wait.name is not None:  # by name: something the case makes (or a pod its workload makes)
                assert (wait.kind, wait.name) in made or wait.kind == "Pod", (case.id, wait.name)
        if case.live.findings is None:
            names = {m["metadata"]["name"] for m in case.live.manifests}
            for finding in case.expect.findings:
                named = [
                    o["metadata"]["name"] for o in offline if re.search(finding, o["metadata"]["name"], re.I)
                ]
                if named:
                    assert any(re.search(finding, n, re.I) for n in names), (case.id, finding, named)


def deployment(version: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "inventory", "namespace": "shop", "generation": 1},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "inventory"}},
            "template": {
                "metadata": {"labels": {"app": "inventory"}},
                "spec": {"containers": [{"name": "app", "image": f"busybox:{version}"}]},
            },
        },
    }


def test_a_workload_listed_twice_is_replaced_only_once_its_first_version_rolled_out(
    tmp_path: Path, cluster: FakeKubeAPI
) -> None:
    """A stuck rollout needs an old ReplicaSet that was up: the second version waits for the first."""
    rolled_out: list[float] = []

    def controller(obj: dict[str, Any]) -> None:
        if obj["kind"] != "Deployment":
            return

        def up() -> None:  # the first version's two replicas become available a moment later
            obj["status"] = {"observedGeneration": 1, "availableReplicas": 2, "replicas": 2}
            cluster.add(obj)
            rolled_out.append(time.monotonic())

        threading.Timer(0.6, up).start()

    cluster.on_create = controller
    path = write_case(
        tmp_path,
        manifests=[deployment("1.36"), deployment("1.37")],
        ready=[{"kind": "Deployment", "name": "inventory", "shows": "busybox:1.37"}],
    )
    _, _, err = run_eval("--cases", str(path), "--live", CONTEXT, "--scripted")
    replaced = [r["time"] for r in cluster.requests if r["method"] == "PUT"]
    assert len(rolled_out) == 1 and len(replaced) == 1, err
    assert replaced[0] >= rolled_out[0]


def test_a_first_version_that_never_rolls_out_is_the_reason_the_case_failed(
    tmp_path: Path, cluster: FakeKubeAPI
) -> None:
    report = tmp_path / "report.json"
    path = write_case(
        tmp_path,
        manifests=[deployment("1.36"), deployment("1.37")],
        ready=[{"kind": "Deployment", "name": "inventory", "shows": "busybox:1.37"}],
        timeout=0.5,
    )
    code, _, _ = run_eval("--cases", str(path), "--live", CONTEXT, "--scripted", "--out", str(report))
    outcome = json.loads(report.read_text())["results"][0]["runs"][0]["outcome"]
    assert code == 1 and outcome["error"] == (
        "the cluster did not reach the case's state in 0 s: Deployment inventory's first version never rolled out"
    )
    assert not [r for r in cluster.requests if r["method"] == "PUT"]
