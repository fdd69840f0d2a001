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
    "resources": {"requests": ANY, "limits": ANY},
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
        "emptyDir": ANY,
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


def problem(manifest: dict[str, Any]) -> str | None:
    """Why the manifest may not be applied (the first field outside the allow-list), or None."""
    kind = manifest.get("kind")
    rule = RULES.get(str(kind))
    if rule is None:
        return f"kind must be one of {', '.join(LIVE_KINDS)}"
    extra = _outside({"apiVersion": ANY, "kind": ANY, "metadata": METADATA, **rule}, manifest, "")
    if extra:
        return f"{extra} is not allowed in a live manifest (README: Live mode)"
    if kind == "Service" and manifest.get("spec", {}).get("type", "ClusterIP") != "ClusterIP":
        return "spec.type must be ClusterIP (no node ports or load balancers)"
    if kind == "Secret" and manifest.get("type", "Opaque") != "Opaque":
        return "type must be Opaque"
    return None


def _outside(rule: Rule, value: Any, path: str) -> str | None:
    """The first field of `value` (a mapping, or a list of them) that `rule` does not allow."""
    items = value if isinstance(value, list) else [value]
    for item in items:
        if not isinstance(item, dict):
            return f"{path or '(top)'} (not a mapping)"
        for key, sub in item.items():
            where = f"{path}.{key}" if path else str(key)
            if key not in rule:
                return where
            if rule[key] is not ANY and (found := _outside(rule[key], sub, where)):
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

PRIVATE = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16"]


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
                    "requests.storage": "5Gi",
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
                        "to": [{"namespaceSelector": {}}],
                        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                    },
                    {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": PRIVATE}}]},
                ],
            },
        },
    ]


def sealed(manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest as applied: every pod without a service-account token (a case's pods need no API
    access, and a namespace name a stale binding still names must not lend them one)."""
    copy = json.loads(json.dumps(manifest))
    spec = copy.get("spec") or {}
    pods = [spec] if copy.get("kind") == "Pod" else [(spec.get("template") or {}).get("spec") or {}]
    for pod in pods:
        pod["automountServiceAccountToken"] = False
    return copy


def privileged_probe(namespace: str) -> dict[str, Any]:
    """A pod `baseline` refuses: if the cluster admits it, Pod Security is not enforced there."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "sre-bot-eval-pod-security-probe", "namespace": namespace},
        "spec": {
            "automountServiceAccountToken": False,
            "containers": [
                {"name": "probe", "image": "busybox:1.36", "securityContext": {"privileged": True}}
            ],
        },
    }
