"""The demo cluster for tests: `FakeKubeAPI` (now in evals/fake_kube.py, which `sre-bot eval` ships) and
`seed_demo`, a healthy deployment and three kinds of trouble to ask about."""

from __future__ import annotations

from typing import Any

from evals.fake_kube import (
    BY_KIND,
    BY_PLURAL,
    RESOURCES,
    FakeKubeAPI,
    Resource,
    field_match,
    label_match,
    merge_patch,
    now_iso,
)

__all__ = [
    "BY_KIND",
    "BY_PLURAL",
    "RESOURCES",
    "FakeKubeAPI",
    "Resource",
    "field_match",
    "label_match",
    "merge_patch",
    "now_iso",
    "seed_demo",
]


def _pod(
    name: str,
    phase: str,
    labels: dict[str, str],
    container: dict[str, Any],
    image: str,
    ready: bool = True,
    reason_conditions: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {"name": name, "namespace": "default", "labels": labels},
        "spec": {
            "nodeName": "k3s-node-1" if phase != "Pending" else None,
            "containers": [{"name": "app", "image": image}],
        },
        "status": {
            "phase": phase,
            "conditions": reason_conditions or [{"type": "Ready", "status": "True" if ready else "False"}],
            "containerStatuses": [container] if container else [],
        },
    }


def _event(name: str, involved: str, reason: str, message: str, kind: str = "Pod") -> dict[str, Any]:
    return {
        "kind": "Event",
        "apiVersion": "v1",
        "metadata": {"name": name, "namespace": "default"},
        "involvedObject": {"kind": kind, "name": involved, "namespace": "default"},
        "reason": reason,
        "message": message,
        "type": "Warning",
        "count": 12,
        "firstTimestamp": now_iso(),
        "lastTimestamp": now_iso(),
    }


def seed_demo(api: FakeKubeAPI) -> None:
    """The demo cluster: a healthy deployment and three kinds of trouble to ask about."""
    for ns in ("default", "kube-system"):
        api.add({"kind": "Namespace", "metadata": {"name": ns}, "status": {"phase": "Active"}})
    api.add(
        {
            "kind": "Node",
            "metadata": {"name": "k3s-node-1", "labels": {"kubernetes.io/os": "linux"}},
            "status": {
                "conditions": [{"type": "Ready", "status": "True"}],
                "capacity": {"cpu": "2", "memory": "4Gi"},
            },
        }
    )
    api.add(
        {
            "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]},
                },
            },
            "status": {"replicas": 2, "readyReplicas": 2, "availableReplicas": 2},
        }
    )
    running = {
        "name": "app",
        "ready": True,
        "restartCount": 0,
        "image": "nginx:1.27",
        "state": {"running": {"startedAt": now_iso()}},
    }
    for suffix in ("abcde", "fghij"):
        api.add(_pod(f"web-6d4cf56db6-{suffix}", "Running", {"app": "web"}, running, "nginx:1.27"))
    api.add(
        _pod(
            "crashy-7f9c",
            "Running",
            {"app": "crashy"},
            {
                "name": "app",
                "ready": False,
                "restartCount": 12,
                "image": "ghcr.io/example/crashy:1.4",
                "state": {
                    "waiting": {
                        "reason": "CrashLoopBackOff",
                        "message": "back-off 5m0s restarting failed container",
                    }
                },
                "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}},
            },
            "ghcr.io/example/crashy:1.4",
            ready=False,
        )
    )
    api.set_pod_log(
        "default",
        "crashy-7f9c",
        "starting crashy 1.4\nloading config\nError: DATABASE_URL is not set\nexiting with code 1\n",
    )
    api.add(
        _event("crashy-7f9c.backoff", "crashy-7f9c", "BackOff", "Back-off restarting failed container app")
    )
    api.add(
        _pod(
            "imgpull-5b8d",
            "Pending",
            {"app": "imgpull"},
            {
                "name": "app",
                "ready": False,
                "restartCount": 0,
                "image": "registry.example.com/app:v9-typo",
                "state": {
                    "waiting": {
                        "reason": "ImagePullBackOff",
                        "message": 'Back-off pulling image "registry.example.com/app:v9-typo"',
                    }
                },
            },
            "registry.example.com/app:v9-typo",
            ready=False,
        )
    )
    api.add(
        _event(
            "imgpull-5b8d.failed",
            "imgpull-5b8d",
            "Failed",
            'Failed to pull image "registry.example.com/app:v9-typo": not found',
        )
    )
    api.add(
        _pod(
            "pending-0",
            "Pending",
            {"app": "pending"},
            {},
            "postgres:16",
            ready=False,
            reason_conditions=[
                {
                    "type": "PodScheduled",
                    "status": "False",
                    "reason": "Unschedulable",
                    "message": "0/1 nodes are available: 1 Insufficient memory.",
                }
            ],
        )
    )
    api.add(
        _event(
            "pending-0.sched",
            "pending-0",
            "FailedScheduling",
            "0/1 nodes are available: 1 Insufficient memory.",
        )
    )
