"""The write gate: every tool call is classified before it runs; writes pause for a person's approval.

It lives in code (a Strands BeforeToolCallEvent hook), not in a prompt, so nothing the model reads — a pod
log that says "delete the deployment" included — can get a write past it. Classification is by tool name
and operation; a tool not known to be read-only counts as a write (fail closed). A write interrupts the
agent with the exact call and its hash; on resume it runs only if the approval names that same hash.

Why one module of ~510 lines: every branch here is a trust decision (read or write, approved or not,
this hash or another, run once) and a reviewer must see all of them together; what could leave did
(arguments, manifests, audit in agents/gate/; card words from the front end).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from strands.hooks import AfterToolCallEvent, BeforeToolCallEvent, HookProvider, HookRegistry

from agents.capabilities import read_rules
from agents.fleet import ClusterRefused, Fleet, cluster_scope
from agents.gate.arguments import (
    ArgumentRefused,
    Target,
    coerce_arguments,
    manifest_targets,
    refusal_message,
    validate_call,
)
from agents.gate.audit import AuditLog
from agents.gate.clusters import NO_CLUSTER, bind_call, read_only_cluster, writes_allowed
from agents.gate.manifests import ApprovedCopyError, ManifestRefused, read_for_approval, write_approved_copy
from agents.metrics import TOOL_CALLS
from agents.redact import parse_documents, redact

logger = logging.getLogger(__name__)

APPROVAL_INTERRUPT = "sre-bot-approval"
UNKNOWN_TOOL = "(unknown)"  # the metric label of calls to a tool that does not exist

REQUEST_FACTS = "sre_bot_request"
"""The key in Strands' invocation state of who asked, in which conversation: the runner sets it per
request, the specialists hand it on to their own agents, and the gate copies it into its audit records."""

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
    kind = getattr(server, "kind", None) or getattr(server, "name", None)  # an instance answers as its kind
    return {"server": kind, "parameters": getattr(tool, "parameters", None)}


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


def request_facts(invocation_state: Mapping[str, Any]) -> dict[str, Any]:
    """The request facts in an invocation state (none outside a runner's request)."""
    facts = invocation_state.get(REQUEST_FACTS)
    return dict(facts) if isinstance(facts, dict) else {}


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
        fleet: Fleet[Any] | None = None,
        bind: bool = True,
    ) -> None:
        self.policy = policy
        # The clusters calls are bound to (agents/gate/clusters.py); None: no cluster is known, and
        # records say `cluster: null` (a billing-only bot, or a kubeconfig naming no current context).
        self.fleet = fleet
        # Whether calls are bound to the request's clusters (a CLUSTERS_FILE); False only for the fleet
        # of one, where the model's cluster goes unchanged. Binding by default: a missing scope fails closed.
        self.bind = bind
        self.audit = audit
        # Files an approved call reads come from MANIFEST_DIR; their approved copies go to `approved_dir`,
        # a folder private to the bot and outside MANIFEST_DIR (others may write there).
        self.manifest_dir = manifest_dir
        self.approved_dir = approved_dir
        # (approval id, call hash) → True once: the approved call runs at most once, whatever resumes.
        # Without a shared store (tests, one process) it is claimed in memory, once per process.
        self.claim_execution = claim_execution or _claim_once_in_memory()
        # Who asked: the request facts in the call's invocation state, unless given here (tests).
        self.context = context
        self._started: dict[str, tuple[float, str | None]] = {}  # tool use → (start, its cluster)

    def register_hooks(self, registry: HookRegistry, **kwargs: Any) -> None:
        registry.add_callback(BeforeToolCallEvent, self.before)
        registry.add_callback(AfterToolCallEvent, self.after)

    def request(self, event: BeforeToolCallEvent | AfterToolCallEvent) -> dict[str, Any]:
        """Who asked, in which conversation: the fields every audit record of this call carries."""
        return self.context() if self.context is not None else request_facts(event.invocation_state)

    def before(self, event: BeforeToolCallEvent) -> None:
        use = event.tool_use
        tool = use["name"]
        args = coerce_arguments(use.get("input"))
        facts = tool_facts(event.selected_tool)
        try:  # first the cluster: what is judged, approved and audited is the call as it will run
            bound = bind_call(self.fleet, event.invocation_state, args, facts, bind=self.bind)
        except ClusterRefused as exc:
            return self._refuse_cluster(event, tool, args, exc)
        if bound.args != args:
            args = bound.args
            event.tool_use = {**use, "input": args}
        verdict = classify(tool, args, facts.get("server"))
        base = {
            "tool": tool,
            "tool_use_id": use["toolUseId"],
            "access": "write" if verdict.write else "read",
            "arguments": redact(args),
            "cluster": bound.cluster,  # every record of a call names its fleet cluster (None: no one cluster)
            **self.request(event),
        }
        call = _Call(event, tool, args, base, bound.cluster, known=event.selected_tool is not None)
        try:  # every call, read or write, in every mode: names are names, never paths
            targets = validate_call(tool, args, **facts)
        except ArgumentRefused as exc:
            return self._refuse(call, "invalid_argument", exc)
        if verdict.write:
            return self._gate_write(call, targets)
        return self._run(call)

    def _refuse_cluster(
        self, event: BeforeToolCallEvent, tool: str, args: dict[str, Any], exc: Exception
    ) -> None:
        """Cancel a call for a cluster outside the question's (or the fleet), telling the model the known ones."""
        base = {
            "tool": tool,
            "tool_use_id": event.tool_use["toolUseId"],
            "arguments": redact(args),
            "cluster": None,  # outside the question's clusters or the fleet: what was asked is in arguments
            **self.request(event),
        }
        self.audit.write("tool_refused", reason="cluster", detail=str(exc), **base)
        label = tool if event.selected_tool is not None else UNKNOWN_TOOL  # a made-up name is no label
        TOOL_CALLS.labels(label, "refused", NO_CLUSTER).inc()
        event.cancel_tool = f"Not run: {exc}"

    def _run(self, call: _Call, **approval: Any) -> None:
        """Let the call run: audited now, its duration measured until `after`."""
        self._started[call.tool_use_id] = (time.monotonic(), call.cluster)
        self.audit.write("tool_call", **approval, **call.base)

    def _refuse(self, call: _Call, reason: str, exc: ArgumentRefused) -> None:
        """Cancel a call whose arguments (or manifest) break a rule, telling the model which one."""
        self.audit.write("tool_refused", reason=reason, detail=str(exc), **call.base)
        TOOL_CALLS.labels(call.tool_label, "refused", call.label).inc()
        call.event.cancel_tool = refusal_message(call.tool, exc)

    def _block(self, call: _Call, reason: str, message: str, **extra: Any) -> None:
        """Cancel the call with `message` for the model; audit and count it."""
        self.audit.write("tool_blocked", reason=reason, **extra, **call.base)
        TOOL_CALLS.labels(call.tool_label, "blocked", call.label).inc()
        call.event.cancel_tool = message

    def _gate_write(self, call: _Call, targets: list[Target]) -> None:
        """A write: blocked by policy, refused, or paused for a decision and run only as approved."""
        if not self.policy.writes_enabled:  # read-only mode offers no write tool: say how to enable them
            return self._block(call, "read_only", self.policy.read_only_message())
        if call.event.selected_tool is None:  # no tool by that name (a misspelling): nothing would run
            return self._unknown_tool(call)
        scope = cluster_scope(call.event.invocation_state)
        if not writes_allowed(self.fleet, scope, call.cluster, bind=self.bind):  # no card: nobody may approve
            return self._block(call, "cluster_read_only", read_only_cluster(call.cluster, self.fleet))
        if not self.policy.approvals_configured:
            return self._block(call, "no_approvers", self.policy.no_approvers_message())
        frozen, unshowable = frozen_arguments(call.tool, call.args, self.manifest_dir)
        if unshowable is not None:
            return self._block(
                call,
                "cannot_show",
                f"Not executed: this change cannot be shown for approval ({unshowable}), so it cannot be "
                "approved. Nothing was changed; tell the user.",
                detail=unshowable,
            )
        if FILE_CONTENT in frozen and call.tool == "apply_yaml":  # a stack template holds no K8s objects
            try:  # the objects the manifest applies are checked like arguments, and named on the card
                targets = manifest_targets(parse_documents(frozen[FILE_CONTENT]), call.args.get("namespace"))
            except ArgumentRefused as exc:
                return self._refuse(call, "invalid_manifest", exc)
        digest = call_hash(call.tool, frozen)
        decision = self._ask_approval(call, frozen, digest, targets)
        if decision.get("approved") is True and decision.get("hash") == digest:
            return self._run_approved(call, decision, digest, frozen)
        return self._not_approved(call, decision)

    def _unknown_tool(self, call: _Call) -> None:
        """No tool by that name: no card for a call that could not run."""
        self.audit.write("tool_refused", reason="unknown_tool", **call.base)
        TOOL_CALLS.labels(UNKNOWN_TOOL, "refused", call.label).inc()  # a made-up name is not a metric label
        call.event.cancel_tool = (
            f"Not run: there is no tool named {call.tool!r}. Call one of the tools you were given, spelled "
            "exactly as listed."
        )

    def _ask_approval(
        self, call: _Call, frozen: dict[str, Any], digest: str, targets: list[Target]
    ) -> dict[str, Any]:
        """Pause for a person's decision on exactly this call: Strands raises until someone decides."""
        reason = {
            "tool": call.tool,
            "arguments": frozen,
            "hash": digest,
            "summary": describe_call(call.tool, call.args, targets) + self._acting_as(call),
            "agent": getattr(call.event.agent, "name", ""),
            "tool_use_id": call.tool_use_id,
            **({"cluster": call.cluster} if call.cluster else {}),  # the card names it
        }
        response = call.event.interrupt(APPROVAL_INTERRUPT, reason=reason)
        return response if isinstance(response, dict) else {}

    def _acting_as(self, call: _Call) -> str:
        """For a call that names no cluster (an IAM policy): whose AWS identity it runs with. With a fleet
        file it runs in the one server process of its clusters (agents/mcp/pool.py refuses it when they
        need several), which may be another region or account than the card's reader assumes."""
        scope = cluster_scope(call.event.invocation_state)
        if call.cluster is not None or not self.bind or scope is None or not scope.bind:
            return ""
        return f" (with the AWS identity the bot uses for cluster {', '.join(scope.clusters)})"

    def _run_approved(
        self, call: _Call, decision: dict[str, Any], digest: str, frozen: dict[str, Any]
    ) -> None:
        """Run the approved call, once, with the approved content of any file it reads."""
        if not self._claimed(decision, digest):
            return self._block(
                call,
                "already_run",
                "Not executed again: this approved change already ran, or was cut off by a restart while "
                "it ran. Tell the user to check the current state before asking for it again.",
                approval_id=decision.get("approval_id"),
            )
        name = file_argument(call.tool, call.args)
        if name is not None and not self._hand_over_file(call, name, decision, frozen):
            return None
        return self._run(call, approved_by=decision.get("by"), approval_id=decision.get("approval_id"))

    def _hand_over_file(
        self, call: _Call, name: str, decision: dict[str, Any], frozen: dict[str, Any]
    ) -> bool:
        """Point the call at a copy of the approved file; False (and blocked) when that cannot be done.

        The server reads the file when the call runs: it gets the approved content, in a new file in a
        folder private to the bot, so an edit or a swapped link after approval changes nothing. A
        failure here uses up the approval: fail closed, run at most once.
        """
        try:
            if self.approved_dir is None:
                raise ApprovedCopyError("no folder for approved copies is configured")
            path = write_approved_copy(
                self.approved_dir,
                str(decision.get("approval_id")),
                str(call.args[name]),
                str(frozen[FILE_CONTENT]),
                manifest_dir=self.manifest_dir,
            )
        except ApprovedCopyError as exc:
            self._block(
                call,
                "approved_copy_failed",
                f"Not executed: the approved file could not be handed over safely ({exc}). Nothing "
                "was changed; tell the user.",
                detail=str(exc),
            )
            return False
        call.event.tool_use = {**call.event.tool_use, "input": {**call.args, name: str(path)}}
        return True

    def _not_approved(self, call: _Call, decision: dict[str, Any]) -> None:
        """Denied, expired, or approved for a different call: nothing runs, and the model is told why."""
        decided_by = decision.get("by")
        if decision.get("approved") is True:  # approved, but not this call: it differs from the card's
            return self._block(
                call,
                "changed_since_approval",
                "Not executed: the change was changed since it was approved (it differs from what the "
                "approval card showed, e.g. its manifest file was edited). Nothing was changed; tell the user "
                "to ask for it again so the current version can be reviewed.",
                approved_by=decided_by,
            )
        why = decision.get("reason", "denied")
        return self._block(
            call,
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
        running = self._started.pop(event.tool_use["toolUseId"], None)
        if running is None:
            return
        started, cluster = running
        result = event.result
        outcome = result.get("status", "unknown") if isinstance(result, dict) else "unknown"
        TOOL_CALLS.labels(event.tool_use["name"], outcome, cluster or NO_CLUSTER).inc()
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
            cluster=cluster,
            **self.request(event),
        )


@dataclass(frozen=True)
class _Call:
    """One tool call as the gate judges it: the event it may cancel, and its audit records' common fields."""

    event: BeforeToolCallEvent
    tool: str
    args: dict[str, Any]
    base: dict[str, Any]
    cluster: str | None = None  # the fleet cluster whose policy applies (agents/gate/clusters.py)
    known: bool = True  # a tool by that name was selected (False: the name is the model's invention)

    @property
    def tool_label(self) -> str:
        """The tool as a metric label: its name only when such a tool exists, never a made-up string."""
        return self.tool if self.known else UNKNOWN_TOOL

    @property
    def label(self) -> str:
        """The call's cluster as a metric label: a fleet name or "(none)", never a model's string."""
        return self.cluster or NO_CLUSTER

    @property
    def tool_use_id(self) -> str:
        return self.event.tool_use["toolUseId"]
