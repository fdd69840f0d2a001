"""`sre-bot eval --live CONTEXT`: a case's manifests applied to a real cluster in a namespace the harness
creates, labels and deletes, never one it did not create.

The cluster is the fake Kubernetes API (no cluster can run here), reached through the real EKS MCP server
as a real one would be; a callback plays the kubelet, turning the created Pod into a crash loop a moment
later, so the harness really has to wait for the state the question is about.
"""

from __future__ import annotations

import datetime as dt
import json
import re
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
        "POST /api/v1/namespaces/shop/resourcequotas",
        "POST /apis/networking.k8s.io/v1/namespaces/shop/networkpolicies",
        "POST /api/v1/namespaces/shop/pods",  # the privileged probe, refused by Pod Security
        "POST /api/v1/namespaces/shop/configmaps",
        "POST /api/v1/namespaces/shop/pods",
        "PUT /api/v1/namespaces/shop/configmaps/checkout-config",
        "DELETE /api/v1/namespaces/shop",
    ]
    bodies = [json.loads(r["body"]) for r in cluster.mutations() if r["method"] == "POST"]
    labels = bodies[0]["metadata"]["labels"]
    assert set(labels) == {
        SCRATCH_LABEL,
        "pod-security.kubernetes.io/enforce",
        "pod-security.kubernetes.io/enforce-version",
    }
    assert (
        labels["pod-security.kubernetes.io/enforce"] == "baseline"
    )  # no privileged pod, host path or network
    assert re.fullmatch(r"[0-9a-f]{12}", labels[SCRATCH_LABEL])  # this run's id
    quota, policy = bodies[1]["spec"]["hard"], bodies[2]["spec"]
    assert quota["services.loadbalancers"] == quota["services.nodeports"] == "0"
    assert policy["policyTypes"] == ["Ingress", "Egress"] and policy["podSelector"] == {}
    public = policy["egress"][-1]["to"][0]["ipBlock"]
    assert public["cidr"] == "0.0.0.0/0" and {"169.254.0.0/16", "10.0.0.0/8", "172.16.0.0/12"} <= set(
        public["except"]
    )
    assert bodies[5]["spec"]["automountServiceAccountToken"] is False  # the case's pod: no API token
    assert cluster.objects == {}  # the namespace and all in it are gone


def test_a_namespace_the_harness_did_not_make_is_never_touched(tmp_path: Path, cluster: FakeKubeAPI) -> None:
    cluster.add({"kind": "Namespace", "metadata": {"name": "shop"}})
    cluster.add({"kind": "Pod", "metadata": {"name": "real-workload", "namespace": "shop"}})
    report = tmp_path / "report.json"
    code, _, _ = run_eval(
        "--cases", str(write_case(tmp_path)), "--scripted", "--live", CONTEXT, "--out", str(report)
    )
    assert code == 1
    outcome = json.loads(report.read_text())["results"][0]["runs"][0]["outcome"]
    assert outcome["error"] == (
        f"live: namespace shop exists in context {CONTEXT} and was not made by sre-bot eval (no "
        f"{SCRATCH_LABEL} label): live cases only run in a namespace they create; delete it or use another cluster"
    )
    assert outcome["model_calls"] == 0 and requests(cluster) == []
    assert cluster.get("pods", "shop", "real-workload") is not None


def test_a_case_the_cluster_refuses_fails_and_the_run_goes_on(tmp_path: Path, cluster: FakeKubeAPI) -> None:
    cluster.add({"kind": "Namespace", "metadata": {"name": "shop"}})  # not ours: the first case cannot run
    kubelet(cluster)
    first = write_case(tmp_path)
    other = yaml.safe_load(first.read_text().replace("shop", "store"))
    (first.parent / "other-namespace.yaml").write_text(yaml.safe_dump(other))
    report = tmp_path / "report.json"
    code, _, err = run_eval(
        "--cases", str(first.parent), "--scripted", "--live", CONTEXT, "--out", str(report)
    )
    passed = {r["case"]: r["pass_rate"] for r in json.loads(report.read_text())["results"]}
    assert (code, passed) == (1, {"live-crashloop": 0, "other-namespace": 1}), err
    assert "✗ live-crashloop (run 1" in err and "live: namespace shop exists" in err


def old_scratch(cluster: FakeKubeAPI, run: str, age_seconds: float, **extra: Any) -> None:
    made = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=age_seconds)
    namespace = {
        "kind": "Namespace",
        "metadata": {
            "name": "shop",
            "labels": {SCRATCH_LABEL: run},
            "creationTimestamp": made.strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        **extra,
    }
    cluster.add(namespace)


def test_a_recent_scratch_namespace_of_another_run_is_left_alone(
    tmp_path: Path, cluster: FakeKubeAPI
) -> None:
    old_scratch(cluster, "0123456789ab", age_seconds=60)
    report = tmp_path / "report.json"
    code, _, _ = run_eval(
        "--cases", str(write_case(tmp_path)), "--scripted", "--live", CONTEXT, "--out", str(report)
    )
    outcome = json.loads(report.read_text())["results"][0]["runs"][0]["outcome"]
    assert code == 1 and outcome["error"].startswith(
        "live: namespace shop belongs to another sre-bot eval run (made "
    )
    assert requests(cluster) == []


def test_a_scratch_namespace_an_interrupted_run_left_is_deleted_and_awaited_first(
    tmp_path: Path, cluster: FakeKubeAPI
) -> None:
    old_scratch(cluster, "0123456789ab", age_seconds=3600)  # a stopped run's, an hour old
    cluster.add({"kind": "Pod", "metadata": {"name": POD, "namespace": "shop"}})
    kubelet(cluster)
    code, _, err = run_eval("--cases", str(write_case(tmp_path)), "--scripted", "--live", CONTEXT)
    assert code == 0, err
    assert requests(cluster)[:2] == ["DELETE /api/v1/namespaces/shop", "POST /api/v1/namespaces"]


def test_a_terminating_scratch_namespace_is_waited_for_not_deleted_again(
    tmp_path: Path, cluster: FakeKubeAPI
) -> None:
    old_scratch(cluster, "0123456789ab", age_seconds=3600, status={"phase": "Terminating"})

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
        "metadata": {"name": "inventory", "namespace": "shop"},
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
            obj["metadata"]["generation"] = 1
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


# --- what a case file cannot do to a lent cluster --------------------------------------------------------


def test_a_cluster_that_does_not_enforce_pod_security_runs_no_case(
    tmp_path: Path, cluster: FakeKubeAPI
) -> None:
    cluster.enforce_pod_security = False
    report = tmp_path / "report.json"
    code, _, _ = run_eval(
        "--cases", str(write_case(tmp_path)), "--scripted", "--live", CONTEXT, "--out", str(report)
    )
    outcome = json.loads(report.read_text())["results"][0]["runs"][0]["outcome"]
    assert code == 1 and outcome["error"].startswith(
        f"live: context {CONTEXT} admitted a privileged pod in a namespace enforcing Pod Security baseline"
    )
    assert requests(cluster)[-2:] == [
        "DELETE /api/v1/namespaces/shop/pods/sre-bot-eval-pod-security-probe",
        "DELETE /api/v1/namespaces/shop",
    ]
    assert not any("configmaps" in r for r in requests(cluster))  # nothing of the case applied
    assert cluster.objects == {}


def test_the_bot_sees_only_the_context_it_was_given(tmp_path: Path, cluster: FakeKubeAPI) -> None:
    """The user's kubeconfig may name production too: the run hands the bot (and the model) a copy with the
    one context, so a case (or an injected instruction) naming another cluster reaches nothing."""
    prod = FakeKubeAPI().start()
    try:
        prod.add({"kind": "Namespace", "metadata": {"name": "payments"}})
        prod.add({"kind": "Pod", "metadata": {"name": "api-0", "namespace": "payments"}})
        prod.set_pod_log("payments", "api-0", "customer card 4111-1111-1111-1111\n")
        config = yaml.safe_load((tmp_path / "kubeconfig").read_text())
        config["clusters"].append({"name": "prod", "cluster": {"server": prod.url}})
        config["contexts"].append({"name": "prod", "context": {"cluster": "prod", "user": "tester"}})
        (tmp_path / "kubeconfig").write_text(yaml.safe_dump(config))
        kubelet(cluster)
        path = write_case(tmp_path)
        case = yaml.safe_load(path.read_text())
        case["script"][0]["calls"].append(
            {
                "tool": "get_pod_logs",
                "args": {"cluster_name": "prod", "namespace": "payments", "pod_name": "api-0"},
            }
        )
        case["script"][0]["quote"].append("card [0-9-]+")
        path.write_text(yaml.safe_dump(case))
        report = tmp_path / "report.json"
        run_eval("--cases", str(path), "--scripted", "--live", CONTEXT, "--out", str(report))
        outcome = json.loads(report.read_text())["results"][0]["runs"][0]["outcome"]
        assert "4111" not in outcome["answer"] and "PAYMENTS_API_URL" in outcome["answer"]
        assert prod.requests == []
    finally:
        prod.stop()
    assert not list(tmp_path.glob("sre-bot-eval-live-*"))  # the copy of the credentials is gone with the run


def test_the_run_folder_with_the_credentials_copy_is_removed(tmp_path: Path, cluster: FakeKubeAPI) -> None:
    from evals.live import LiveWorld

    world = LiveWorld(CONTEXT, tmp_path / "run")
    world.check([tmp_path / "kubeconfig"])
    assert world.kubeconfig is not None and world.kubeconfig.stat().st_mode & 0o777 == 0o600
    assert world.environment(False)["KUBECONFIG"] == str(world.kubeconfig)
    assert [c["name"] for c in yaml.safe_load(world.kubeconfig.read_text())["contexts"]] == [CONTEXT]
    world.close()
    assert not (tmp_path / "run").exists()


class RecordingKube:
    """Kube as the harness sees it, over a dict: to put a namespace back under the harness's feet."""

    def __init__(self) -> None:
        self.namespaces: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, str, str]] = []
        self.uids = iter(f"uid-{n}" for n in range(100))

    async def read(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        return self.namespaces.get(name) if kind == "Namespace" else {}

    async def write(self, operation: str, obj: dict[str, Any]) -> None:
        self.calls.append((operation, obj["kind"], obj["metadata"]["name"]))
        if obj["kind"] == "Namespace" and operation == "create":
            self.namespaces[obj["metadata"]["name"]] = {
                **obj,
                "metadata": {**obj["metadata"], "uid": next(self.uids)},
            }
        elif obj["kind"] == "Pod" and obj["metadata"]["name"].endswith("probe") and operation == "create":
            error = evals.live.LiveError("cannot create Pod: forbidden")
            error.detail = 'pods "probe" is forbidden: violates PodSecurity "baseline:latest": privileged'
            raise error

    async def names(self, kind: str, namespace: str, labels: str) -> list[str]:
        return []


async def test_only_the_namespace_this_run_created_is_deleted(tmp_path: Path) -> None:
    """Between the run's create and its clean-up the namespace may be deleted and made again by someone
    else (another run, a person): the clean-up deletes by the UID it created, never by name alone."""
    from evals.cases import load_case
    from evals.live import LiveWorld

    case = load_case(
        write_case(tmp_path, ready=[{"kind": "ConfigMap", "name": "checkout-config", "shows": "."}])
    )
    world, kube = LiveWorld(CONTEXT, tmp_path / "run"), RecordingKube()
    assert await world.prepare(case, kube) is None  # type: ignore[arg-type]
    replaced = {
        **kube.namespaces["shop"],
        "metadata": {**kube.namespaces["shop"]["metadata"], "uid": "theirs"},
    }
    kube.namespaces["shop"] = replaced
    await world.finish(case, kube)  # type: ignore[arg-type]
    assert ("delete", "Namespace", "shop") not in kube.calls
    await world.finish(case, kube)  # type: ignore[arg-type]  # and never on a second call either
    assert ("delete", "Namespace", "shop") not in kube.calls
    kube.namespaces.clear()
    assert await world.prepare(case, kube) is None  # type: ignore[arg-type]
    await world.finish(case, kube)  # type: ignore[arg-type]
    assert kube.calls[-1] == ("delete", "Namespace", "shop")


def test_a_ready_regex_that_backtracks_for_ever_is_no_match(monkeypatch: pytest.MonkeyPatch) -> None:
    import evals.patterns

    monkeypatch.setattr(evals.patterns, "SECONDS", 0.2)
    started = time.monotonic()
    assert evals.live.shows(r"(x+x+)+y", json.dumps({"metadata": {"annotations": {"a": "x" * 40}}})) is False
    assert time.monotonic() - started < 5
    assert evals.live.shows("CrashLoop", '{"reason": "CrashLoopBackOff"}') is True


def test_a_wait_names_an_object_never_a_path(tmp_path: Path) -> None:
    path = write_case(
        tmp_path, ready=[{"kind": "Secret", "name": "../../kube-system/secrets/admin", "shows": "."}]
    )
    with pytest.raises(CaseError, match="is not a DNS label"):
        load_case(path)


BARE_POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "shop"}}


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        (
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "s", "namespace": "shop"},
                "spec": {"externalIPs": ["169.254.169.254"]},
            },
            "spec.externalIPs is not allowed",
        ),
        (
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "s", "namespace": "shop"},
                "spec": {"type": "LoadBalancer"},
            },
            "spec.type must be ClusterIP",
        ),
        (
            {**BARE_POD, "spec": {"nodeName": "control-plane", "containers": []}},
            "spec.nodeName is not allowed",
        ),
        ({**BARE_POD, "spec": {"tolerations": [{"operator": "Exists"}]}}, "spec.tolerations is not allowed"),
        (
            {**BARE_POD, "spec": {"priorityClassName": "system-node-critical"}},
            "spec.priorityClassName is not allowed",
        ),
        ({**BARE_POD, "spec": {"serviceAccountName": "admin"}}, "spec.serviceAccountName is not allowed"),
        (
            {**BARE_POD, "spec": {"volumes": [{"name": "h", "hostPath": {"path": "/"}}]}},
            r"spec.volumes.hostPath is not allowed",
        ),
        (
            {**BARE_POD, "spec": {"volumes": [{"name": "n", "nfs": {"server": "10.0.0.1", "path": "/"}}]}},
            "spec.volumes.nfs",
        ),
        (
            {
                **BARE_POD,
                "spec": {
                    "containers": [
                        {"name": "c", "livenessProbe": {"httpGet": {"host": "169.254.169.254", "port": 80}}}
                    ]
                },
            },
            "spec.containers.livenessProbe.httpGet.host is not allowed",
        ),
        (
            {**BARE_POD, "spec": {"containers": [{"name": "c", "securityContext": {"privileged": True}}]}},
            "securityContext",
        ),
        (
            {
                **BARE_POD,
                "metadata": {
                    **BARE_POD["metadata"],
                    "annotations": {"external-dns.alpha.kubernetes.io/hostname": "x"},
                },
            },
            "metadata.annotations",
        ),
        ({**BARE_POD, "metadata": {**BARE_POD["metadata"], "finalizers": ["x/y"]}}, "metadata.finalizers"),
        (
            {**BARE_POD, "metadata": {**BARE_POD["metadata"], "ownerReferences": []}},
            "metadata.ownerReferences",
        ),
        (
            {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": {"name": "c", "namespace": "shop"},
                "spec": {"volumeName": "someone-elses"},
            },
            "spec.volumeName is not allowed",
        ),
        (
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "t", "namespace": "shop"},
                "type": "kubernetes.io/service-account-token",
            },
            "type must be Opaque",
        ),
        (
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "sa", "namespace": "shop"}},
            "kind must be one of",
        ),
        (
            {
                **BARE_POD,
                "spec": {
                    "containers": [
                        {"name": "c", "image": "111122223333.dkr.ecr.us-east-1.amazonaws.com/internal:1"}
                    ]
                },
            },
            "a live case runs only public images",
        ),
        (
            {
                **BARE_POD,
                "spec": {
                    "containers": [
                        {
                            "name": "c",
                            "image": "busybox:1.36",
                            "resources": {"limits": {"nvidia.com/gpu": 1}},
                        }
                    ]
                },
            },
            r"resources.limits.nvidia.com/gpu",
        ),
        (
            {**BARE_POD, "spec": {"volumes": [{"name": "m", "emptyDir": {"medium": "Memory"}}]}},
            "emptyDir.medium",
        ),
        (
            {
                **BARE_POD,
                "metadata": {**BARE_POD["metadata"], "labels": {"azure.workload.identity/use": "true"}},
            },
            "only unprefixed label keys",
        ),
        ({**BARE_POD, "spec": [{"containers": []}]}, r"spec \(not a mapping\)"),
        ({**BARE_POD, "spec": {"containers": {"name": "c"}}}, r"spec.containers \(not a list\)"),
        (
            {**BARE_POD, "metadata": {**BARE_POD["metadata"], "labels": {"made": dt.date(2024, 1, 1)}}},
            "not JSON",
        ),
        (
            {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": {"name": "c", "namespace": "shop"},
                "spec": {"storageClassName": ""},
            },
            "would bind an existing volume",
        ),
        (
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "d", "namespace": "shop"},
                "spec": {"template": {"spec": {"hostNetwork": True}}},
            },
            "spec.template.spec.hostNetwork is not allowed",
        ),
    ],
)
def test_a_manifest_field_that_reaches_beyond_the_namespace_is_refused(
    tmp_path: Path, manifest: dict[str, Any], message: str
) -> None:
    path = write_case(tmp_path)
    data = yaml.safe_load(path.read_text())
    data["live"]["manifests"].append(manifest)
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(CaseError, match=message):
        load_case(path)


def test_what_the_harness_adds_to_every_manifest() -> None:
    from evals.live_rules import sealed

    pod = sealed(
        {
            **BARE_POD,
            "spec": {"containers": [{"name": "c", "image": "busybox:1.36", "imagePullPolicy": "Never"}]},
        },
        "run1",
    )
    assert pod["spec"]["automountServiceAccountToken"] is False
    assert (
        pod["spec"]["containers"][0]["imagePullPolicy"] == "Always"
    )  # never a private image left on the node
    claim = sealed(
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "c"}, "spec": {}}, "run1"
    )
    assert claim["spec"]["selector"] == {"matchLabels": {SCRATCH_LABEL: "run1"}}  # no existing volume matches


def test_a_pod_security_check_that_fails_for_another_reason_is_not_taken_as_enforcement(
    tmp_path: Path, cluster: FakeKubeAPI
) -> None:
    def refuse_everything(obj: dict[str, Any]) -> None:
        pass

    cluster.on_create = refuse_everything
    cluster.add({"kind": "Namespace", "metadata": {"name": "placeholder"}})
    original = cluster._pod_security
    cluster._pod_security = lambda pod: "pods is forbidden: exceeded quota: sre-bot-eval"  # type: ignore[method-assign]
    try:
        report = tmp_path / "report.json"
        run_eval("--cases", str(write_case(tmp_path)), "--scripted", "--live", CONTEXT, "--out", str(report))
    finally:
        cluster._pod_security = original  # type: ignore[method-assign]
    outcome = json.loads(report.read_text())["results"][0]["runs"][0]["outcome"]
    assert outcome["error"].startswith(
        "live: could not check that Pod Security is enforced: cannot create Pod"
    )
    assert "exceeded quota" in outcome["error"] and outcome["model_calls"] == 0


def test_a_case_regex_that_backtracks_for_ever_does_not_hang_the_scoring(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import evals.patterns
    from evals.score import score

    monkeypatch.setattr(evals.patterns, "SECONDS", 0.2)
    path_case = dict(CASE, expect={"findings": [r"^(\w+\s?)*$"]}, forbid={"patterns": [r"^(\w+\s?)*$"]})
    from evals.cases import Case

    case = Case.model_validate({"id": "slow", **path_case})
    started = time.monotonic()
    checks = {
        c.name: c
        for c in score(case, Outcome("slow", 1, answer="a b c d e f g h i j k l m n o p q r s t!")).checks
    }
    assert time.monotonic() - started < 10
    assert not checks["findings"].ok and checks["no_forbidden_text"].ok
