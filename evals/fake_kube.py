"""A fake Kubernetes API server on 127.0.0.1, good enough for the real awslabs EKS MCP server.

Shipped (not only a test fake) because `sre-bot eval` runs its offline cases against it: each case's
objects, logs and events are loaded here and the real EKS MCP server reads them over HTTP.

It serves discovery (/version, /api, /apis, resource lists), list/get/create/replace/patch/delete for
core, apps, batch and autoscaling resources, label and field selectors, pod logs, and Status errors. Every request is
recorded, so a test can assert exactly which mutations reached the "cluster". It runs on its own thread
and event loop, so the MCP server subprocess, sync tests and async tests can all reach it.
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from evals.threaded_server import ThreadedServer


@dataclass(frozen=True)
class Resource:
    group_version: str  # "v1", "apps/v1"
    plural: str
    kind: str
    namespaced: bool
    short: tuple[str, ...] = ()


RESOURCES = [
    Resource("v1", "pods", "Pod", True, ("po",)),
    Resource("v1", "services", "Service", True, ("svc",)),
    Resource("v1", "events", "Event", True, ("ev",)),
    Resource("v1", "configmaps", "ConfigMap", True, ("cm",)),
    Resource("v1", "secrets", "Secret", True),
    Resource("v1", "serviceaccounts", "ServiceAccount", True, ("sa",)),
    Resource("v1", "persistentvolumeclaims", "PersistentVolumeClaim", True, ("pvc",)),
    Resource("v1", "resourcequotas", "ResourceQuota", True, ("quota",)),
    Resource("v1", "namespaces", "Namespace", False, ("ns",)),
    Resource("v1", "nodes", "Node", False, ("no",)),
    Resource("apps/v1", "deployments", "Deployment", True, ("deploy",)),
    Resource("apps/v1", "replicasets", "ReplicaSet", True, ("rs",)),
    Resource("apps/v1", "statefulsets", "StatefulSet", True, ("sts",)),
    Resource("apps/v1", "daemonsets", "DaemonSet", True, ("ds",)),
    Resource("batch/v1", "jobs", "Job", True),
    Resource("batch/v1", "cronjobs", "CronJob", True, ("cj",)),
    Resource("autoscaling/v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", True, ("hpa",)),
    Resource("networking.k8s.io/v1", "networkpolicies", "NetworkPolicy", True, ("netpol",)),
]
BY_PLURAL = {(r.group_version, r.plural): r for r in RESOURCES}
BY_KIND = {r.kind: r for r in RESOURCES}
VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
MUTATING = ("POST", "PUT", "PATCH", "DELETE")


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def status(code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> web.Response:
    body = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "details": details or {},
        "code": code,
    }
    return web.json_response(body, status=code)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 merge patch (also used for strategic merge: lists are replaced, which tests don't mind)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def json_patch(target: dict[str, Any], ops: list[dict[str, Any]]) -> dict[str, Any]:
    doc = copy.deepcopy(target)
    for op in ops:
        parts = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].lstrip("/").split("/")]
        parent: Any = doc
        for part in parts[:-1]:
            parent = parent[int(part)] if isinstance(parent, list) else parent.setdefault(part, {})
        last = parts[-1]
        if op["op"] in ("add", "replace"):
            if isinstance(parent, list):
                parent.insert(len(parent) if last == "-" else int(last), op["value"]) if op[
                    "op"
                ] == "add" else parent.__setitem__(int(last), op["value"])
            else:
                parent[last] = op["value"]
        elif op["op"] == "remove":
            if isinstance(parent, list):
                parent.pop(int(last))
            else:
                parent.pop(last, None)
    return doc


def dotted(obj: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def label_match(obj: dict[str, Any], selector: str) -> bool:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    for term in filter(None, (t.strip() for t in selector.split(","))):
        if "!=" in term:
            key, value = term.split("!=", 1)
            if labels.get(key.strip()) == value.strip():
                return False
        elif "=" in term:
            key, value = term.replace("==", "=").split("=", 1)
            if labels.get(key.strip()) != value.strip():
                return False
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term not in labels:
            return False
    return True


def field_match(obj: dict[str, Any], selector: str) -> bool:
    for term in filter(None, (t.strip() for t in selector.split(","))):
        negate = "!=" in term
        key, value = term.replace("==", "=").split("!=" if negate else "=", 1)
        actual = dotted(obj, key.strip())
        equal = str(actual) == value.strip() if actual is not None else value.strip() == ""
        if equal == negate:
            return False
    return True


class FakeKubeAPI(ThreadedServer):
    """The fake API server. `requests` records every call; `mutations()` only the changing ones."""

    thread_name = "fake-kube-api"

    def __init__(self, latency: float = 0.0) -> None:
        super().__init__()
        self.latency = latency
        self.objects: dict[tuple[str, str, str, str], dict[str, Any]] = {}
        self.logs: dict[tuple[str, str], str] = {}
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._rv = itertools.count(1000)
        # called with each object created over HTTP: a test plays the kubelet or a controller with it
        self.on_create: Callable[[dict[str, Any]], None] | None = None
        self.enforce_pod_security = True  # a cluster without PodSecurity admission: False

    # lifecycle ----------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def build_app(self) -> web.Application:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        return app

    def write_kubeconfig(self, path: Path, context: str = "fake-k3s", cluster_name: str = "fake-k3s") -> Path:
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": cluster_name, "cluster": {"server": self.url}}],
            "users": [{"name": "tester", "user": {"token": "fake-token"}}],
            "contexts": [{"name": context, "context": {"cluster": cluster_name, "user": "tester"}}],
            "current-context": context,
        }
        path.write_text(yaml.safe_dump(config))
        return path

    # state --------------------------------------------------------------------------------------

    def add(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Seed any object (its kind must be one of RESOURCES)."""
        resource = BY_KIND[obj["kind"]]
        obj = copy.deepcopy(obj)
        obj.setdefault("apiVersion", resource.group_version)
        meta = obj.setdefault("metadata", {})
        if resource.namespaced:
            meta.setdefault("namespace", "default")
        meta.setdefault("uid", str(uuid.uuid4()))
        meta.setdefault("creationTimestamp", now_iso())
        meta["resourceVersion"] = str(next(self._rv))
        with self._lock:
            self.objects[self._key(resource, meta.get("namespace", ""), meta["name"])] = obj
        return obj

    def get(self, plural: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        resource = next(r for r in RESOURCES if r.plural == plural)
        return self.objects.get(self._key(resource, namespace or "", name))

    def set_pod_log(self, namespace: str, pod: str, text: str) -> None:
        self.logs[(namespace, pod)] = text

    def reset(self) -> None:
        """Forget every object, log and request: the next eval case starts from an empty cluster."""
        with self._lock:
            self.objects.clear()
            self.logs.clear()
            self.requests.clear()

    def mutations(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["method"] in MUTATING]

    @staticmethod
    def _key(resource: Resource, namespace: str, name: str) -> tuple[str, str, str, str]:
        return (resource.group_version, resource.plural, namespace if resource.namespaced else "", name)

    # HTTP ---------------------------------------------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        body_text = await request.text() if request.can_read_body else ""
        self.requests.append(
            {
                "method": request.method,
                "path": request.path,
                "query": dict(request.query),
                "body": body_text,
                "content_type": request.content_type,
                "time": time.monotonic(),
            }
        )
        if self.latency:
            await asyncio.sleep(self.latency)
        path = request.path.rstrip("/") or "/"
        if path == "/version":
            return web.json_response(
                {"major": "1", "minor": "33", "gitVersion": "v1.33.5+k3s1", "platform": "linux/amd64"}
            )
        if path == "/api":
            return web.json_response(
                {
                    "kind": "APIVersions",
                    "versions": ["v1"],
                    "serverAddressByClientCIDRs": [
                        {"clientCIDR": "0.0.0.0/0", "serverAddress": f"127.0.0.1:{self.port}"}
                    ],
                }
            )
        if path == "/apis":
            return web.json_response(self._group_list())
        parts = [p for p in path.split("/") if p]
        if parts[0] == "api" and len(parts) >= 2:
            group_version, rest = parts[1], parts[2:]
        elif parts[0] == "apis" and len(parts) >= 3:
            group_version, rest = f"{parts[1]}/{parts[2]}", parts[3:]
        elif parts[0] == "apis" and len(parts) == 2:
            group = next((g for g in self._group_list()["groups"] if g["name"] == parts[1]), None)
            return (
                web.json_response({"kind": "APIGroup", "apiVersion": "v1", **group})
                if group
                else status(404, "NotFound", "the server could not find the requested resource")
            )
        else:
            return status(404, "NotFound", "the server could not find the requested resource")
        if not rest:
            return self._resource_list(group_version)
        return self._resource_call(request, group_version, rest, body_text)

    def _group_list(self) -> dict[str, Any]:
        groups = sorted({r.group_version for r in RESOURCES if "/" in r.group_version})
        return {
            "kind": "APIGroupList",
            "apiVersion": "v1",
            "groups": [
                {
                    "name": gv.split("/")[0],
                    "versions": [{"groupVersion": gv, "version": gv.split("/")[1]}],
                    "preferredVersion": {"groupVersion": gv, "version": gv.split("/")[1]},
                }
                for gv in groups
            ],
        }

    def _resource_list(self, group_version: str) -> web.Response:
        entries: list[dict[str, Any]] = []
        for r in RESOURCES:
            if r.group_version != group_version:
                continue
            entries.append(
                {
                    "name": r.plural,
                    "singularName": r.kind.lower(),
                    "namespaced": r.namespaced,
                    "kind": r.kind,
                    "verbs": VERBS,
                    "shortNames": list(r.short),
                }
            )
            if r.plural == "pods":
                entries.append(
                    {
                        "name": "pods/log",
                        "singularName": "",
                        "namespaced": True,
                        "kind": "Pod",
                        "verbs": ["get"],
                    }
                )
            entries.append(
                {
                    "name": f"{r.plural}/status",
                    "singularName": "",
                    "namespaced": r.namespaced,
                    "kind": r.kind,
                    "verbs": ["get", "patch", "update"],
                }
            )
        if not entries:
            return status(
                404, "NotFound", f"the server could not find the requested resource ({group_version})"
            )
        return web.json_response(
            {
                "kind": "APIResourceList",
                "apiVersion": "v1",
                "groupVersion": group_version,
                "resources": entries,
            }
        )

    def _resource_call(self, request: web.Request, gv: str, rest: list[str], body: str) -> web.StreamResponse:
        namespace = ""
        if rest[0] == "namespaces" and len(rest) >= 3:
            namespace, rest = rest[1], rest[2:]
        resource = BY_PLURAL.get((gv, rest[0]))
        if resource is None:
            return status(404, "NotFound", "the server could not find the requested resource")
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if sub == "log":
            return self._log(namespace, name or "", request)
        method = request.method
        if name is None:
            if method == "GET":
                return self._list(resource, namespace, request)
            if method == "POST":
                return self._create(resource, namespace, body)
            return status(405, "MethodNotAllowed", f"{method} is not supported on a collection")
        key = self._key(resource, namespace, name)
        current = self.objects.get(key)
        if method == "GET":
            return web.json_response(current) if current else self._not_found(resource, name)
        if current is None:
            return self._not_found(resource, name)
        if method == "DELETE":
            with self._lock:
                self.objects.pop(key, None)
                if resource.kind == "Namespace":  # as the namespace controller does, at once
                    for other in [k for k in self.objects if k[2] == name]:
                        del self.objects[other]
                    for log in [k for k in self.logs if k[0] == name]:
                        del self.logs[log]
            return web.json_response(
                {
                    "kind": "Status",
                    "apiVersion": "v1",
                    "metadata": {},
                    "status": "Success",
                    "details": {"name": name, "kind": resource.plural, "uid": current["metadata"].get("uid")},
                }
            )
        try:
            data: Any = json.loads(body) if body else {}
        except ValueError:
            return status(400, "BadRequest", "the body is not valid JSON")
        if method == "PUT":
            updated = data
        elif method == "PATCH":
            content_type = request.content_type
            updated = (
                json_patch(current, data)
                if content_type == "application/json-patch+json"
                else merge_patch(current, data)
            )
        else:
            return status(405, "MethodNotAllowed", f"{method} is not supported")
        updated.setdefault("metadata", {})
        for field in ("uid", "creationTimestamp", "namespace", "name"):
            if field in current["metadata"]:
                updated["metadata"].setdefault(field, current["metadata"][field])
        updated["metadata"]["resourceVersion"] = str(next(self._rv))
        updated.setdefault("kind", resource.kind)
        updated.setdefault("apiVersion", resource.group_version)
        with self._lock:
            self.objects[key] = updated
        return web.json_response(updated)

    def _not_found(self, resource: Resource, name: str) -> web.Response:
        return status(
            404, "NotFound", f'{resource.plural} "{name}" not found', {"name": name, "kind": resource.plural}
        )

    def _list(self, resource: Resource, namespace: str, request: web.Request) -> web.Response:
        labels = request.query.get("labelSelector", "")
        fields = request.query.get("fieldSelector", "")
        items = [
            obj
            for (gv, plural, ns, _), obj in sorted(self.objects.items())
            if gv == resource.group_version
            and plural == resource.plural
            and (not namespace or ns == namespace)
            and label_match(obj, labels)
            and field_match(obj, fields)
        ]
        limit = int(request.query.get("limit", "0") or 0)
        if limit:
            items = items[:limit]
        return web.json_response(
            {
                "kind": f"{resource.kind}List",
                "apiVersion": resource.group_version,
                "metadata": {"resourceVersion": str(next(self._rv))},
                "items": items,
            }
        )

    def _create(self, resource: Resource, namespace: str, body: str) -> web.Response:
        try:
            obj = json.loads(body)
        except ValueError:
            return status(400, "BadRequest", "the body is not valid JSON")
        meta = obj.setdefault("metadata", {})
        if not meta.get("name"):
            return status(422, "Invalid", f"{resource.kind} is invalid: metadata.name: Required value")
        if resource.namespaced:
            meta["namespace"] = namespace or meta.get("namespace") or "default"
        key = self._key(resource, meta.get("namespace", ""), meta["name"])
        if key in self.objects:
            return status(
                409,
                "AlreadyExists",
                f'{resource.plural} "{meta["name"]}" already exists',
                {"name": meta["name"], "kind": resource.plural},
            )
        if resource.kind == "Pod" and (refused := self._pod_security(obj)):
            return status(403, "Forbidden", refused)
        obj.setdefault("kind", resource.kind)
        created = self.add(obj)
        if self.on_create is not None:
            self.on_create(copy.deepcopy(created))
        return web.json_response(created, status=201)

    def _pod_security(self, pod: dict[str, Any]) -> str | None:
        """Pod Security admission, its privileged check only: what a namespace enforcing `baseline`
        refuses (as the real API server words it), unless `enforce_pod_security` is turned off."""
        if not self.enforce_pod_security:
            return None
        namespace = self.objects.get(("v1", "namespaces", "", pod["metadata"].get("namespace", "")))
        labels = ((namespace or {}).get("metadata") or {}).get("labels") or {}
        if labels.get("pod-security.kubernetes.io/enforce") not in ("baseline", "restricted"):
            return None
        spec = pod.get("spec") or {}
        privileged = [
            c["name"]
            for c in [*spec.get("containers", []), *spec.get("initContainers", [])]
            if (c.get("securityContext") or {}).get("privileged")
        ]
        if not privileged:
            return None
        return (
            f'pods "{pod["metadata"]["name"]}" is forbidden: violates PodSecurity "baseline:latest": '
            f'privileged (container "{privileged[0]}" must not set securityContext.privileged=true)'
        )

    def _log(self, namespace: str, pod: str, request: web.Request) -> web.Response:
        if self._key(BY_PLURAL[("v1", "pods")], namespace, pod) not in self.objects:
            return status(404, "NotFound", f'pods "{pod}" not found', {"name": pod, "kind": "pods"})
        text = self.logs.get((namespace, pod), "")
        tail = request.query.get("tailLines")
        if tail:
            lines = text.splitlines()
            text = "\n".join(lines[-int(tail) :]) + ("\n" if lines else "")
        return web.Response(text=text, content_type="text/plain")
