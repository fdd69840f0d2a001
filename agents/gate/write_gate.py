"""The write gate: every tool call is classified before it runs; writes pause for a person's approval.

It lives in code (a Strands BeforeToolCallEvent hook), not in a prompt, so nothing the model reads — a pod
log that says "delete the deployment" included — can get a write past it. Classification is by tool name
and operation; a tool not known to be read-only counts as a write (fail closed). A write interrupts the
agent with the exact call and its hash; on resume it runs only if the approval names that same hash.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from strands.hooks import AfterToolCallEvent, BeforeToolCallEvent, HookProvider, HookRegistry

from agents.capabilities import read_rules
from agents.gate.arguments import ArgumentRefused, Target, manifest_targets, refusal_message, validate_call
from agents.gate.audit import AuditLog
from agents.gate.manifests import ApprovedCopyError, ManifestRefused, read_for_approval, write_approved_copy
from agents.mcp.tools import coerce_arguments
from agents.metrics import TOOL_CALLS
from agents.redact import parse_documents, redact

logger = logging.getLogger(__name__)

APPROVAL_INTERRUPT = "sre-bot-approval"
UNKNOWN_TOOL = "(unknown)"  # the metric label of calls to a tool that does not exist

request_context: ContextVar[dict[str, Any] | None] = ContextVar("sre_bot_request", default=None)
"""Who asked, in which conversation: set by the runner per request, read by the audit records."""

# Which calls only read is declared by each capability (agents/capabilities/); anything else is a write
# unless its operation says otherwise. `classify` reads the registry.
# apply_yaml and stack deploys read a file: the approval freezes the file's content, not only its path.
MANIFEST_MAX_BYTES = 32 * 1024
FILE_CONTENT = "file_content"  # the key under which a frozen call carries that content
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True)
class Verdict:
    write: bool
    why: str


def classify(tool: str, arguments: Any, server: str | None = None) -> Verdict:
    """Read or write, by tool name and operation; unknown tools and operations are writes.

    `server` is the MCP server the tool comes from: its capability's declarations alone judge it.
    """
    args = coerce_arguments(arguments)
    rules = read_rules(server)
    if tool in rules.operations:
        operation = str(args.get("operation", "")).lower()
        if operation in rules.operations[tool]:
            return Verdict(False, f"{tool} {operation} only reads")
        return Verdict(True, f"{tool} {operation or '(no operation)'} changes state")
    if tool in rules.tools:
        return Verdict(False, f"{tool} only reads")
    return Verdict(True, f"{tool} is not known to be read-only")


def call_hash(tool: str, arguments: Any) -> str:
    """Identity of an exact call: the approval is for this hash and nothing else."""
    canonical = json.dumps(
        {"tool": tool, "arguments": coerce_arguments(arguments)},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def describe_call(tool: str, arguments: Any, targets: list[Target] | None = None) -> str:
    """What will happen, in plain words, for the approval card: the validated objects the call touches."""
    args = coerce_arguments(arguments)
    if targets is None:
        try:
            targets = validate_call(tool, args)
        except ArgumentRefused:
            targets = []
    cluster = f" on cluster {args['cluster_name']}" if args.get("cluster_name") else ""
    objects = "; ".join(t.describe() for t in targets[:6]) + (
        f"; and {len(targets) - 6} more" if len(targets) > 6 else ""
    )
    if tool == "manage_k8s_resource":
        op = str(args.get("operation", "change")).lower()
        verb = {"create": "Create", "replace": "Replace", "patch": "Patch", "delete": "Delete"}.get(
            op, op.title()
        )
        return f"{verb} {objects or args.get('kind', 'resource')}{cluster}"
    if tool == "apply_yaml":
        what = f": {objects}" if objects else ""
        return f"Apply the manifest {args.get('yaml_path')}{cluster}{what}"
    if tool == "manage_eks_stacks":
        return f"{str(args.get('operation', 'change')).title()} the EKS CloudFormation stack{cluster}"
    if tool == "add_inline_policy":
        return f"Add inline IAM policy {args.get('policy_name')} to role {args.get('role_name')}"
    if tool == "generate_app_manifest":
        return f"Write Kubernetes manifests for {args.get('app_name')} to {args.get('output_dir')}"
    return f"Run {tool} ({', '.join(sorted(args))})"


def tool_facts(tool: Any) -> dict[str, Any]:
    """The server and declared parameters of a selected MCP tool (empty otherwise): `validate_call` checks
    the arguments by them, and `classify` judges the tool by that server's own rules."""
    server = getattr(tool, "server", None)
    if server is None:
        return {}  # an agent-as-tool or a plain function: no API path behind its arguments
    return {"server": getattr(server, "name", None), "parameters": getattr(tool, "parameters", None)}


def file_argument(tool: str, args: dict[str, Any]) -> str | None:
    """The argument naming a file the server reads when the call runs (its content is part of the call)."""
    if tool == "apply_yaml":
        return "yaml_path"
    if tool == "manage_eks_stacks" and str(args.get("operation", "")).lower() == "deploy":
        return "template_file"
    return None


def frozen_arguments(
    tool: str, args: dict[str, Any], manifest_dir: Path | None = None
) -> tuple[dict[str, Any], str | None]:
    """The call as the approver sees it and as its hash covers it, or why it cannot be shown.

    A call that makes the server read a file (apply_yaml's manifest, a stack deploy's template) includes
    the file's content: an edited file no longer matches the approved hash, and the approved content is
    what runs (see `WriteGate`). The path comes from the model, so only a small, regular, parseable
    YAML/JSON file under MANIFEST_DIR is read: never a device, a pipe, or any other file it names.
    """
    name = file_argument(tool, args)
    if name is None:
        return args, None
    if manifest_dir is None:
        return args, "no MANIFEST_DIR is set, so no file can be read for approval"
    path = str(args.get(name) or "")
    try:  # one descriptor, no symlink followed, never a device or a pipe (see agents.gate.manifests)
        text = read_for_approval(manifest_dir, path, max_bytes=MANIFEST_MAX_BYTES, suffixes=MANIFEST_SUFFIXES)
    except ManifestRefused as exc:
        return args, f"{name}: {exc}"
    try:
        parse_documents(text)  # what cannot be parsed cannot be shown (or redacted) faithfully
    except ValueError as exc:
        return args, f"{path} is not a plain YAML/JSON document ({str(exc).splitlines()[0][:120]})"
    return {**args, FILE_CONTENT: text}, None


def _claim_once_in_memory() -> Callable[[str, str], bool]:
    claimed: set[str] = set()
    lock = threading.Lock()

    def claim(approval_id: str, _digest: str) -> bool:
        with lock:
            if approval_id in claimed:
                return False
            claimed.add(approval_id)
            return True

    return claim


@dataclass(frozen=True)
class GatePolicy:
    """What the gate allows, and the words of its refusals.

    `approvals_configured` is False when nobody could approve here. A refusal says what to do about it
    (which setting, where approvals happen), which only the front end knows: it passes its own words in
    `read_only_text` and `no_approvers_text`; empty ones fall back to the neutral words below.
    """

    READ_ONLY: ClassVar[str] = (
        "Read-only mode: this bot cannot change the cluster. An operator can enable changes with "
        "EKS_MCP_ALLOW_WRITE=true (each change then needs a person's approval)."
    )
    NO_APPROVERS: ClassVar[str] = (
        "Changes are enabled but nobody can approve them here, so nothing was changed."
    )

    writes_enabled: bool
    approvals_configured: bool
    read_only_text: str = ""
    no_approvers_text: str = ""

    def read_only_message(self) -> str:
        return self.read_only_text or self.READ_ONLY

    def no_approvers_message(self) -> str:
        return self.no_approvers_text or self.NO_APPROVERS


class WriteGate(HookProvider):
    """Hook for every agent: audit each call; pause writes for approval; run only the approved call."""

    def __init__(
        self,
        policy: GatePolicy,
        audit: AuditLog,
        context: Callable[[], dict[str, Any]] | None = None,
        claim_execution: Callable[[str, str], bool] | None = None,
        manifest_dir: Path | None = None,
        approved_dir: Path | None = None,
    ) -> None:
        self.policy = policy
        self.audit = audit
        # Files an approved call reads come from MANIFEST_DIR; their approved copies go to `approved_dir`,
        # a folder private to the bot and outside MANIFEST_DIR (others may write there).
        self.manifest_dir = manifest_dir
        self.approved_dir = approved_dir
        # (approval id, call hash) → True once: the approved call runs at most once, whatever resumes.
        # Without a shared store (tests, one process) it is claimed in memory, once per process.
        self.claim_execution = claim_execution or _claim_once_in_memory()
        self.context: Callable[[], dict[str, Any]] = (
            context if context is not None else (lambda: request_context.get() or {})
        )
        self._started: dict[str, float] = {}

    def register_hooks(self, registry: HookRegistry, **kwargs: Any) -> None:
        registry.add_callback(BeforeToolCallEvent, self.before)
        registry.add_callback(AfterToolCallEvent, self.after)

    def before(self, event: BeforeToolCallEvent) -> None:
        use = event.tool_use
        tool = use["name"]
        args = coerce_arguments(use.get("input"))
        facts = tool_facts(event.selected_tool)
        verdict = classify(tool, args, facts.get("server"))
        base = {
            "tool": tool,
            "tool_use_id": use["toolUseId"],
            "access": "write" if verdict.write else "read",
            "arguments": redact(args),
            **self.context(),
        }
        try:  # every call, read or write, in every mode: names are names, never paths
            targets = validate_call(tool, args, **facts)
        except ArgumentRefused as exc:
            self.audit.write("tool_refused", reason="invalid_argument", detail=str(exc), **base)
            TOOL_CALLS.labels(tool, "refused").inc()
            event.cancel_tool = refusal_message(tool, exc)
            return None
        if not verdict.write:
            self._started[use["toolUseId"]] = time.monotonic()
            self.audit.write("tool_call", **base)
            return

        def block(reason: str, message: str, **extra: Any) -> None:
            """Cancel the call with `message` for the model; audit and count it."""
            self.audit.write("tool_blocked", reason=reason, **extra, **base)
            TOOL_CALLS.labels(tool, "blocked").inc()
            event.cancel_tool = message

        if not self.policy.writes_enabled:
            return block("read_only", self.policy.read_only_message())
        if not self.policy.approvals_configured:
            return block("no_approvers", self.policy.no_approvers_message())
        if event.selected_tool is None:  # no tool by that name (a misspelling): nothing would run, so no card
            self.audit.write("tool_refused", reason="unknown_tool", **base)
            TOOL_CALLS.labels(UNKNOWN_TOOL, "refused").inc()  # a made-up name is not a metric label
            event.cancel_tool = (
                f"Not run: there is no tool named {tool!r}. Call one of the tools you were given, spelled "
                "exactly as listed."
            )
            return None
        frozen, unshowable = frozen_arguments(tool, args, self.manifest_dir)
        if unshowable is not None:
            return block(
                "cannot_show",
                f"Not executed: this change cannot be shown for approval ({unshowable}), so it cannot be "
                "approved. Nothing was changed; tell the user.",
                detail=unshowable,
            )
        if FILE_CONTENT in frozen and tool == "apply_yaml":  # a stack template holds no Kubernetes objects
            try:  # the objects the manifest applies are checked like arguments, and named on the card
                targets = manifest_targets(parse_documents(frozen[FILE_CONTENT]), args.get("namespace"))
            except ArgumentRefused as exc:
                self.audit.write("tool_refused", reason="invalid_manifest", detail=str(exc), **base)
                TOOL_CALLS.labels(tool, "refused").inc()
                event.cancel_tool = refusal_message(tool, exc)
                return None
        digest = call_hash(tool, frozen)
        reason = {
            "tool": tool,
            "arguments": frozen,
            "hash": digest,
            "summary": describe_call(tool, args, targets),
            "agent": getattr(event.agent, "name", ""),
            "tool_use_id": use["toolUseId"],
        }
        response = event.interrupt(APPROVAL_INTERRUPT, reason=reason)  # raises until someone decides
        decision = response if isinstance(response, dict) else {}
        approved = decision.get("approved") is True
        if approved and decision.get("hash") == digest:
            if not self._claimed(decision, digest):
                return block(
                    "already_run",
                    "Not executed again: this approved change already ran, or was cut off by a restart while "
                    "it ran. Tell the user to check the current state before asking for it again.",
                    approval_id=decision.get("approval_id"),
                )
            name = file_argument(tool, args)
            if name is not None:
                # The server reads the file when the call runs: hand it the approved content, in a new
                # file in a folder private to the bot, so an edit or a swapped link after approval
                # changes nothing. A failure here uses up the approval: fail closed, run at most once.
                try:
                    if self.approved_dir is None:
                        raise ApprovedCopyError("no folder for approved copies is configured")
                    path = write_approved_copy(
                        self.approved_dir,
                        str(decision.get("approval_id")),
                        str(args[name]),
                        str(frozen[FILE_CONTENT]),
                        manifest_dir=self.manifest_dir,
                    )
                except ApprovedCopyError as exc:
                    return block(
                        "approved_copy_failed",
                        f"Not executed: the approved file could not be handed over safely ({exc}). Nothing "
                        "was changed; tell the user.",
                        detail=str(exc),
                    )
                event.tool_use = {**use, "input": {**args, name: str(path)}}
            self._started[use["toolUseId"]] = time.monotonic()
            self.audit.write(
                "tool_call", approved_by=decision.get("by"), approval_id=decision.get("approval_id"), **base
            )
            return None
        decided_by = decision.get("by")
        if approved:  # approved, but not this call: the call or its manifest differs from what was shown
            return block(
                "changed_since_approval",
                "Not executed: the change was changed since it was approved (it differs from what the "
                "approval card showed, e.g. its manifest file was edited). Nothing was changed; tell the user "
                "to ask for it again so the current version can be reviewed.",
                approved_by=decided_by,
            )
        why = decision.get("reason", "denied")
        return block(
            why,
            str(decision["message"])
            if decision.get("message")
            else f"Not executed: the change was {why}"
            + (f" by {decided_by}" if decided_by else "")
            + ". Nothing was changed; tell the user and do not retry it unless they ask again.",
            decided_by=decided_by,
        )

    def _claimed(self, response: dict[str, Any], digest: str) -> bool:
        approval_id = response.get("approval_id")
        return bool(approval_id) and self.claim_execution(str(approval_id), digest)  # fail closed

    def after(self, event: AfterToolCallEvent) -> None:
        started = self._started.pop(event.tool_use["toolUseId"], None)
        if started is None:
            return
        result = event.result
        outcome = result.get("status", "unknown") if isinstance(result, dict) else "unknown"
        TOOL_CALLS.labels(event.tool_use["name"], outcome).inc()
        self.audit.write(
            "tool_result",
            tool=event.tool_use["name"],
            tool_use_id=event.tool_use["toolUseId"],
            access="write"
            if classify(
                event.tool_use["name"],
                event.tool_use.get("input"),
                tool_facts(event.selected_tool).get("server"),
            ).write
            else "read",
            outcome=outcome,
            duration_ms=round((time.monotonic() - started) * 1000, 1),
            **self.context(),
        )
