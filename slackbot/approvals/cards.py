"""Approval cards: what will happen, the exact call (secrets redacted), who asked, and two buttons.

The buttons carry only the opaque approval id; Approve asks for confirmation in Slack's own dialog.
After a decision the card is rewritten in place without buttons, saying who decided, when, and how the
execution went.

Everything on a card except what this module writes itself comes from the model or from data (summary,
arguments, manifest, error details): each such value is escaped where it is interpolated
(`slackbot.safe_text`), and code blocks hold values that cannot close them, so a card cannot ping a
channel or show something other than the call it asks about.
"""

from __future__ import annotations

import json
import time
from typing import Any

from agents.gate.write_gate import FILE_CONTENT
from agents.redact import redact
from agents.state.approvals import APPROVED, DENIED, EXECUTED, EXECUTING, EXPIRED, FAILED, Approval
from slackbot.formatting import clip
from slackbot.safe_text import code_block, escape_mrkdwn, fence_safe, inline_code, mention

APPROVE_ACTION = "sre_bot_approve"
DENY_ACTION = "sre_bot_deny"
CALL_LIMIT = 2800  # a section's text may hold 3,000 characters


def _when(epoch: float) -> str:
    """Slack shows the date in the reader's time zone; clients that cannot get a readable UTC time."""
    fallback = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(epoch))
    return f"<!date^{int(epoch)}^{{date_short_pretty}} {{time}}|{fallback}>"


# Operations that remove or overwrite what exists: their Approve button is red, not green.
DESTRUCTIVE = {"manage_k8s_resource": {"delete", "replace"}, "manage_eks_stacks": {"delete"}}


def destructive(approval: Approval) -> bool:
    operation = str(approval.arguments.get("operation", "")).lower()
    return operation in DESTRUCTIVE.get(approval.tool, set())


_ANGLE_LOOKALIKES = str.maketrans({"<": "‹", ">": "›"})


def plain(text: str, limit: int) -> str:
    """Model-derived words for a plain_text field: one line, no markup read, no `<…>` sequence at all."""
    return clip(fence_safe(" ".join(text.split()).translate(_ANGLE_LOOKALIKES)), limit)


def header(approval: Approval) -> str:
    """The card's title says what the change is ("Delete Deployment web … ?"); plain text, at most 150."""
    return f"{plain(approval.summary, 148)}?"


def hidden_values(approval: Approval) -> int:
    """How many values the card hides (credential-looking keys or contents): the approver is told."""
    return call_markdown(approval).count("[redacted")


def call_markdown(approval: Approval) -> str:
    """The whole call, secrets redacted: arguments as JSON, a manifest file's content as its own block.

    Slack-ready (mrkdwn and Markdown alike): escaped, and no value can close the block it is shown in.
    """
    args = redact(approval.arguments)
    manifest = args.pop(FILE_CONTENT, None) if isinstance(args, dict) else None
    text = code_block(json.dumps({"tool": approval.tool, "arguments": args}, indent=2, default=str))
    if isinstance(manifest, str):
        text += f"\nContent of that file, as it will be used:\n{code_block(manifest.rstrip())}"
    return text


def call_fits(approval: Approval) -> bool:
    """Whether the whole call fits on the card; if not, it is posted in full just above the card."""
    return len(call_markdown(approval)) <= CALL_LIMIT - 80


def _call_text(approval: Approval) -> str:
    header = f"*Exact call* (hash `{approval.call_hash[:12]}`)"
    hidden = hidden_values(approval)
    if hidden:
        header += (
            f"\n:warning: *{hidden} value{'s are' if hidden > 1 else ' is'} hidden here* (keys or contents that "
            "look like credentials are never posted). Approving applies them as sent: ask the requester "
            "what they are if you need to know."
        )
    if call_fits(approval):
        return f"{header}\n{call_markdown(approval)}"
    return (
        f"{header}\nToo long for this card: the whole call (secrets redacted) is in the message(s) just "
        "above. Read all of it before approving."
    )


def _facts(approval: Approval) -> dict[str, Any]:
    args = approval.arguments
    requester = (
        mention(approval.requester) if approval.requester else "nobody: the bot, investigating an alert"
    )
    fields = [f"*Requested by*\n{requester}"]
    fleet_cluster = str(approval.extra.get("cluster") or "")  # the fleet's name, bound by the write gate
    if fleet_cluster:  # first, so nobody approves a change without seeing which cluster it is for
        fields.insert(0, _cluster_field(fleet_cluster, str(args.get("cluster_name") or "")))
    elif args.get("cluster_name"):
        fields.append(f"*Cluster*\n{inline_code(clip(str(args['cluster_name']), 200))}")
    if args.get("namespace"):
        fields.append(f"*Namespace*\n{inline_code(clip(str(args['namespace']), 200))}")
    fields.append(f"*Expires*\n{_when(approval.expires_at)}")
    return {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]}


def _cluster_field(fleet_cluster: str, server_name: str) -> str:
    """The headline is the cluster the call really reaches (its `cluster_name`); the fleet's name only
    beside it, so a fleet name that differs from what runs can never be what an approver reads first."""
    if not server_name or server_name == fleet_cluster:
        return f"*Cluster*\n*{inline_code(clip(fleet_cluster or server_name, 63))}*"
    return (
        f"*Cluster*\n*{inline_code(clip(server_name, 200))}* (fleet: {inline_code(clip(fleet_cluster, 63))})"
    )


def pending_card(approval: Approval) -> list[dict[str, Any]]:
    style = "danger" if destructive(approval) else "primary"
    deny: dict[str, Any] = {} if destructive(approval) else {"style": "danger"}
    return [
        {"type": "header", "text": {"type": "plain_text", "text": header(approval), "emoji": False}},
        {
            "type": "section",
            # plain text: words derived from model-chosen arguments cannot format or fake a line here
            "text": {
                "type": "plain_text",
                "text": f"Approval needed. What will happen: {plain(approval.summary, 500)}",
                "emoji": False,
            },
        },
        _facts(approval),
        {"type": "section", "text": {"type": "mrkdwn", "text": _call_text(approval)}},
        {
            "type": "actions",
            "block_id": "sre_bot_approval",
            "elements": [
                {
                    "type": "button",
                    "action_id": APPROVE_ACTION,
                    "style": style,
                    "text": {"type": "plain_text", "text": "Approve"},
                    "value": approval.id,
                    "confirm": {
                        "title": {"type": "plain_text", "text": "Run this change?"},
                        "text": {"type": "mrkdwn", "text": summary(approval, 300)},
                        "confirm": {"type": "plain_text", "text": "Approve and run"},
                        "deny": {"type": "plain_text", "text": "Cancel"},
                        "style": style,
                    },
                },
                {
                    "type": "button",
                    "action_id": DENY_ACTION,
                    **deny,
                    "text": {"type": "plain_text", "text": "Deny"},
                    "value": approval.id,
                },
            ],
        },
    ]


def summary(approval: Approval, limit: int) -> str:
    """What the call will do, in words the write gate derived from model-chosen arguments: escaped, and
    on one line (a line break in a path could otherwise add a line that looks like the bot's own)."""
    one_line = " ".join(approval.summary.split())
    return clip(fence_safe(escape_mrkdwn(one_line)), limit)  # escaped first: the limit is Slack's


def outcome_line(approval: Approval) -> str:
    who = mention(approval.decided_by) if approval.decided_by and approval.decided_by != "system" else ""
    at = _when(approval.decided_at) if approval.decided_at else ""
    if approval.status == EXECUTED:
        return f":white_check_mark: Approved by {who} at {at}; executed."
    if approval.status == FAILED:
        detail = clip(fence_safe(escape_mrkdwn(approval.detail)), 300)  # a tool's error: data, not markup
        return f":warning: Approved by {who} at {at}; failed: {detail}"
    if approval.status in (APPROVED, EXECUTING):
        return f":hourglass_flowing_sand: Approved by {who} at {at}; running…"
    if approval.status == DENIED:
        return f":no_entry: Denied by {who} at {at}; nothing was changed."
    if approval.status == EXPIRED:
        return ":hourglass: Expired before anyone decided; nothing was changed."
    return f"Status: {approval.status}"


def decided_card(approval: Approval) -> list[dict[str, Any]]:
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*Change:* {summary(approval, 500)}"}},
        _facts(approval),
        {"type": "section", "text": {"type": "mrkdwn", "text": _call_text(approval)}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": outcome_line(approval)}]},
    ]


def card_text(approval: Approval) -> str:
    """Plain text for notifications and clients without blocks."""
    if approval.status == "pending":
        return f"Approval needed: {summary(approval, 1000)}"
    return f"{summary(approval, 1000)}: {escape_mrkdwn(approval.status)}"
