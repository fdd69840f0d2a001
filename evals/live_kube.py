"""The live harness's way into the cluster: Kubernetes calls made as EKS MCP tool calls, and a kubeconfig
that names the one context the run was given.

The calls go through the bot's own EKS MCP server (the same kubeconfig and auth the answers use), directly:
they are the harness's, not the model's, so they pass no write gate and are not in the audit log, which
keeps the model's writes (none may run: nobody approves a card during an eval) apart from the set-up.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from pathlib import Path
from typing import Any, Protocol

import yaml

from evals.live_rules import LIVE_KINDS, NAME

API_VERSIONS = {
    **LIVE_KINDS,
    "Namespace": "v1",
    "ResourceQuota": "v1",
    "NetworkPolicy": "networking.k8s.io/v1",
}


class LiveError(RuntimeError):
    """Live mode cannot go on (no such context, a namespace it does not own): one line saying what."""

    detail = ""  # the API's whole error text, where there is one


class ToolCaller(Protocol):
    """What the harness needs of an MCP server (agents.mcp.servers.McpServer)."""

    async def call(self, tool_use_id: str, name: str, arguments: dict[str, Any]) -> Any: ...


class Kube:
    """The harness's Kubernetes calls on one cluster (a kubeconfig context)."""

    def __init__(self, server: ToolCaller, cluster: str) -> None:
        self.server = server
        self.cluster = cluster

    async def _call(self, tool: str, **arguments: Any) -> tuple[bool, str, dict[str, Any] | None]:
        for key in ("name", "namespace"):  # they go into an API path: never anything but a DNS label
            if arguments.get(key) is not None and not NAME.fullmatch(str(arguments[key])):
                raise LiveError(f"not a Kubernetes name: {str(arguments[key])[:80]!r}")
        result = await self.server.call(
            f"eval-{uuid.uuid4().hex[:8]}", tool, {"cluster_name": self.cluster, **arguments}
        )
        texts = [str(c.get("text", "")) for c in result.get("content", []) if isinstance(c, dict)]
        data = None
        for text in texts:
            try:
                loaded = json.loads(text)
            except ValueError:
                continue
            if isinstance(loaded, dict):
                data = loaded
        return result.get("status") != "error", " ".join(texts), data

    async def read(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        """The object as the API returns it (status included), or None when there is none."""
        ok, text, data = await self._call(
            "manage_k8s_resource",
            operation="read",
            kind=kind,
            api_version=API_VERSIONS[kind],
            name=name,
            **({"namespace": namespace} if namespace else {}),
        )
        if not ok:
            if _not_found(text):
                return None
            raise LiveError(f"cannot read {kind} {name}: {short(text)}")
        resource = (data or {}).get("resource")
        return resource if isinstance(resource, dict) else {}

    async def write(self, operation: str, obj: dict[str, Any]) -> None:
        meta = obj.get("metadata") or {}
        ok, text, _ = await self._call(
            "manage_k8s_resource",
            operation=operation,
            kind=obj["kind"],
            api_version=obj.get("apiVersion", "v1"),
            name=meta.get("name"),
            **({"namespace": meta["namespace"]} if meta.get("namespace") else {}),
            **({"body": obj} if operation != "delete" else {}),
        )
        if not ok:
            error = LiveError(f"cannot {operation} {obj['kind']} {meta.get('name')}: {short(text)}")
            error.detail = text
            raise error

    async def names(self, kind: str, namespace: str, labels: str) -> list[str]:
        ok, text, data = await self._call(
            "list_k8s_resources",
            kind=kind,
            api_version=API_VERSIONS[kind],
            namespace=namespace,
            label_selector=labels,
        )
        if not ok:
            raise LiveError(f"cannot list {kind} ({labels}): {short(text)}")
        return [str(i.get("name")) for i in (data or {}).get("items", []) if i.get("name")]


def _not_found(text: str) -> bool:
    """A 404 as the server's Kubernetes client words it ("Reason: Not Found"). Read wrongly, it can only
    lead to a create (refused: it exists) or a delete skipped, never to a delete."""
    return "NotFound" in text or "not found" in text.lower()


MESSAGE = re.compile(r'"message":\s*"((?:[^"\\]|\\.)*)"')


def short(text: str) -> str:
    """One line of an API error: its status and the Status message, not the HTTP headers between them."""
    head = text.split("HTTP response headers")[0]
    message = MESSAGE.search(text)
    if message is not None:
        head = f"{head.rstrip()} {message.group(1)}"
    return " ".join(head.split())[:300]


# --- a kubeconfig of one context -------------------------------------------------------------------------

FILE_FIELDS = {
    "cluster": ("certificate-authority",),
    "user": ("client-certificate", "client-key", "tokenFile"),
}


def one_context(kubeconfigs: list[Path], context: str, out: Path) -> Path:
    """Write (0600) a kubeconfig holding only `context`, its cluster and its user, from the files the bot
    reads (merged as kubectl does: the first file to name an entry wins), so nothing in the run, the
    model least of all, can reach another cluster of the user's. Relative file paths are made absolute."""
    entries: dict[str, dict[str, tuple[dict[str, Any], Path]]] = {"clusters": {}, "users": {}, "contexts": {}}
    for path in kubeconfigs:
        try:
            config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue
        if not isinstance(config, dict):
            continue
        for section, named in entries.items():
            for entry in config.get(section) or []:
                if isinstance(entry, dict) and entry.get("name") and entry["name"] not in named:
                    named[str(entry["name"])] = (entry, path)
    if context not in entries["contexts"]:
        where = ", ".join(str(p) for p in kubeconfigs) or "no kubeconfig"
        known = ", ".join(sorted(entries["contexts"])) or "none"
        raise LiveError(f"--live {context}: no such context in {where} (contexts: {known})")
    ctx = entries["contexts"][context][0].get("context") or {}
    picked: dict[str, list[dict[str, Any]]] = {"clusters": [], "users": []}
    for section, key, body in (("clusters", "cluster", "cluster"), ("users", "user", "user")):
        name = ctx.get(key)
        if name not in entries[section]:
            raise LiveError(f"--live {context}: its {key} {name!r} is not in the kubeconfig")
        entry, source = entries[section][name]
        inner = dict(entry.get(body) or {})
        for field in FILE_FIELDS[body]:
            if isinstance(inner.get(field), str) and not os.path.isabs(inner[field]):
                inner[field] = str((source.parent / inner[field]).resolve())
        command = (inner.get("exec") or {}).get("command") if body == "user" else None
        if isinstance(command, str) and os.sep in command and not os.path.isabs(command):
            # an exec plugin given by a relative path runs from the kubeconfig's folder, now another one
            inner["exec"] = {**inner["exec"], "command": str((source.parent / command).resolve())}
        picked[section].append({"name": name, body: inner})
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": picked["clusters"],
        "users": picked["users"],
        "contexts": [{"name": context, "context": {"cluster": ctx["cluster"], "user": ctx["user"]}}],
        "current-context": context,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        yaml.safe_dump(config, handle)
    return out
