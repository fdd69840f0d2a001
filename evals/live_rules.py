"""What a live case's manifests may say: an allow-list of fields, so a case file (perhaps someone else's)
cannot reach beyond the scratch namespace of the cluster it is run against.

Only the kinds and fields a failure scenario needs are allowed: no external IPs, load balancers or node
ports, no chosen node, toleration or priority class, no volume but ConfigMaps, Secrets, emptyDir and
claims (no claim of an existing volume), no probe aimed at another host, no annotations (controllers act
on them: DNS records, load balancers), no finalizers or owner references. The API server's own checks
(Pod Security `baseline`, which the harness enforces on the namespace) come on top.
"""

from __future__ import annotations

import json
import re
from typing import Any

# kind -> apiVersion: namespaced only, so deleting the scratch namespace removes all of it
LIVE_KINDS = {
    "Pod": "v1",
    "Service": "v1",
    "ConfigMap": "v1",
    "Secret": "v1",
    "PersistentVolumeClaim": "v1",
    "Deployment": "apps/v1",
    "Job": "batch/v1",
}

NAME = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
"""A Kubernetes name as a case may give it (a DNS label): it goes into API paths."""

Rule = dict[str, Any]  # field -> None (any value) or the rule of its value (of each item of a list)
ANY = None

METADATA: Rule = {"name": ANY, "namespace": ANY, "labels": ANY}
TEMPLATE_METADATA: Rule = {"labels": ANY}
PROBE: Rule = {
    "exec": {"command": ANY},
    "httpGet": {"path": ANY, "port": ANY, "scheme": ANY},  # no `host`: the kubelet would call it
    "tcpSocket": {"port": ANY},
    "initialDelaySeconds": ANY,
    "periodSeconds": ANY,
    "timeoutSeconds": ANY,
    "failureThreshold": ANY,
    "successThreshold": ANY,
}
CONTAINER: Rule = {
    "name": ANY,
    "image": ANY,
    "imagePullPolicy": ANY,
    "command": ANY,
    "args": ANY,
    "workingDir": ANY,
    "env": {
        "name": ANY,
        "value": ANY,
        "valueFrom": {"secretKeyRef": ANY, "configMapKeyRef": ANY},
    },
    "envFrom": {"configMapRef": ANY, "secretRef": ANY, "prefix": ANY},
    "ports": {"containerPort": ANY, "name": ANY, "protocol": ANY},
    "resources": {
        "requests": {"cpu": ANY, "memory": ANY, "ephemeral-storage": ANY},
        "limits": {"cpu": ANY, "memory": ANY, "ephemeral-storage": ANY},
    },
    "livenessProbe": PROBE,
    "readinessProbe": PROBE,
    "startupProbe": PROBE,
    "volumeMounts": {"name": ANY, "mountPath": ANY, "readOnly": ANY, "subPath": ANY},
}
POD_SPEC: Rule = {
    "containers": CONTAINER,
    "initContainers": CONTAINER,
    "restartPolicy": ANY,
    "terminationGracePeriodSeconds": ANY,
    "activeDeadlineSeconds": ANY,
    "volumes": {
        "name": ANY,
        "configMap": ANY,
        "secret": ANY,
        "emptyDir": {"sizeLimit": ANY},  # on disk: no `medium: Memory`
        "persistentVolumeClaim": ANY,
    },
}
POD_TEMPLATE: Rule = {"metadata": TEMPLATE_METADATA, "spec": POD_SPEC}
RULES: dict[str, Rule] = {
    "Pod": {"spec": POD_SPEC},
    "Service": {
        "spec": {
            "type": ANY,  # ClusterIP only: checked below
            "selector": ANY,
            "ports": {"name": ANY, "port": ANY, "targetPort": ANY, "protocol": ANY},
        }
    },
    "ConfigMap": {"data": ANY},
    "Secret": {"type": ANY, "data": ANY, "stringData": ANY},  # Opaque only: checked below
    "PersistentVolumeClaim": {
        "spec": {"accessModes": ANY, "resources": {"requests": ANY}, "storageClassName": ANY}
    },
    "Deployment": {
        "spec": {
            "replicas": ANY,
            "selector": {"matchLabels": ANY},
            "template": POD_TEMPLATE,
            "progressDeadlineSeconds": ANY,
            "minReadySeconds": ANY,
            "revisionHistoryLimit": ANY,
            "strategy": ANY,
        }
    },
    "Job": {
        "spec": {
            "backoffLimit": ANY,
            "completions": ANY,
            "parallelism": ANY,
            "activeDeadlineSeconds": ANY,
            "template": POD_TEMPLATE,
        }
    },
}


# fields whose value is a list (of mappings, where they have a rule); every other ruled field is a mapping
LISTS = {"containers", "initContainers", "env", "envFrom", "ports", "volumeMounts", "volumes"}

# images a case may run: public ones, and the two names that never pull (the documentation's AWS account,
# a reserved domain). Not any image: the kubelet pulls with the node's credentials (a private registry's).
IMAGES = (
    "busybox:",
    "nginx:",
    "python:",
    "postgres:",
    "docker.io/library/",
    "docker.io/prom/",
    "registry.k8s.io/",
    "123456789012.dkr.ecr.",
    "registry.example.invalid/",
)
LABEL_KEY = re.compile(r"(app\.kubernetes\.io/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")


def problem(manifest: dict[str, Any]) -> str | None:
    """Why the manifest may not be applied (the first field outside the allow-list), or None."""
    kind = manifest.get("kind")
    rule = RULES.get(str(kind))
    if rule is None:
        return f"kind must be one of {', '.join(LIVE_KINDS)}"
    try:
        json.dumps(manifest, allow_nan=False)
    except (TypeError, ValueError):
        return "holds a value that is not JSON (a date, a set, NaN): quote it"
    extra = _outside({"apiVersion": ANY, "kind": ANY, "metadata": METADATA, **rule}, manifest, "")
    if extra:
        return f"{extra} is not allowed in a live manifest (README: Live mode)"
    spec = manifest.get("spec") or {}
    if kind == "Service" and spec.get("type", "ClusterIP") != "ClusterIP":
        return "spec.type must be ClusterIP (no node ports or load balancers)"
    if kind == "Secret" and manifest.get("type", "Opaque") != "Opaque":
        return "type must be Opaque"
    if kind == "PersistentVolumeClaim" and spec.get("storageClassName") == "":
        return 'spec.storageClassName "" would bind an existing volume'
    for where, labels in _labels(manifest):
        odd = [str(k) for k in labels if not LABEL_KEY.fullmatch(str(k))]
        if odd:  # controllers act on prefixed labels (workload identity, mesh injection, policies)
            return f"{where} {odd[0]!r}: only unprefixed label keys (or app.kubernetes.io/)"
    for pod in pod_specs(manifest):
        for container in [*pod.get("containers", []), *pod.get("initContainers", [])]:
            image = str(container.get("image", ""))
            if not image.startswith(IMAGES):
                return f"image {image!r}: a live case runs only public images ({', '.join(IMAGES)})"
    return None


def pod_specs(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    spec = manifest.get("spec") or {}
    if manifest.get("kind") == "Pod":
        return [spec]
    template = (spec.get("template") or {}).get("spec")
    return [template] if isinstance(template, dict) else []


def _labels(manifest: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found = [("metadata.labels", (manifest.get("metadata") or {}).get("labels") or {})]
    template = (manifest.get("spec") or {}).get("template") or {}
    found.append(("spec.template.metadata.labels", (template.get("metadata") or {}).get("labels") or {}))
    return [(w, labels) for w, labels in found if isinstance(labels, dict)]


def _outside(rule: Rule, value: Any, path: str) -> str | None:
    """The first field of `value` (a mapping) that `rule` does not allow, or of the wrong type."""
    if not isinstance(value, dict):
        return f"{path or '(top)'} (not a mapping)"
    for key, sub in value.items():
        where = f"{path}.{key}" if path else str(key)
        if key not in rule:
            return where
        if key in LISTS and not isinstance(sub, list):
            return f"{where} (not a list)"
        if rule[key] is ANY:
            continue
        for item in sub if key in LISTS else [sub]:
            if found := _outside(rule[key], item, where):
                return found
    return None


# --- what the harness adds -------------------------------------------------------------------------------

SCRATCH_LABEL = "sre-bot.eval/scratch"
"""On every namespace the harness creates (value: the run's id); only such a namespace is ever deleted."""

POD_SECURITY = {
    "pod-security.kubernetes.io/enforce": "baseline",
    "pod-security.kubernetes.io/enforce-version": "latest",
}
"""The API server refuses what a case has no need of and a hostile case file would use on a cluster someone
lends it: privileged containers, host paths, the host's network or processes."""

PRIVATE = [
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "168.63.129.16/32",  # Azure's host address
    "169.254.0.0/16",  # cloud metadata
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "224.0.0.0/3",  # multicast and class E (some clusters' pod ranges)
]


def guards(namespace: str) -> list[dict[str, Any]]:
    """Made in the namespace before any manifest: a quota (no load balancer or node port, bounded pods and
    storage) and a network policy: pods reach each other, DNS and the internet (image registries, the
    names a case resolves), not the cluster's other workloads, the API server, the node or cloud
    metadata (169.254.169.254), or the private network beside the cluster (Compose's model server)."""
    meta = {"name": "sre-bot-eval", "namespace": namespace}
    return [
        {
            "apiVersion": "v1",
            "kind": "ResourceQuota",
            "metadata": meta,
            "spec": {
                "hard": {
                    "pods": "20",
                    "services": "10",
                    "services.loadbalancers": "0",
                    "services.nodeports": "0",
                    "persistentvolumeclaims": "5",
                }
            },
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": meta,
            "spec": {
                "podSelector": {},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [{"from": [{"podSelector": {}}]}],
                "egress": [
                    {"to": [{"podSelector": {}}]},
                    {
                        "to": [
                            {
                                "namespaceSelector": {
                                    "matchLabels": {"kubernetes.io/metadata.name": "kube-system"}
                                },
                                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                            }
                        ],
                        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                    },
                    {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": PRIVATE}}]},
                ],
            },
        },
    ]


def sealed(manifest: dict[str, Any], run: str) -> dict[str, Any]:
    """The manifest as applied: every pod without a service-account token (a case's pods need no API
    access, and a namespace name a stale binding still names must not lend them one), every image pulled
    anew (never a private image another pod left on the node), and every claim selecting volumes of this
    run only (so it never binds someone's existing volume)."""
    copy = json.loads(json.dumps(manifest))
    for pod in pod_specs(copy):
        pod["automountServiceAccountToken"] = False
        for container in [*pod.get("containers", []), *pod.get("initContainers", [])]:
            container["imagePullPolicy"] = "Always"
    if copy.get("kind") == "PersistentVolumeClaim":
        copy.setdefault("spec", {})["selector"] = {"matchLabels": {SCRATCH_LABEL: run}}
    return copy


def privileged_probe(namespace: str) -> dict[str, Any]:
    """A pod `baseline` refuses: if the cluster admits it, Pod Security is not enforced there. Bound to a
    node that does not exist, so even then it never runs."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "sre-bot-eval-pod-security-probe", "namespace": namespace},
        "spec": {
            "nodeName": "sre-bot-eval-no-such-node",
            "restartPolicy": "Never",
            "automountServiceAccountToken": False,
            "containers": [
                {
                    "name": "probe",
                    "image": "busybox:1.36",
                    "command": ["true"],
                    "securityContext": {"privileged": True},
                }
            ],
        },
    }
