"""Approval cards: what will happen, the exact call (secrets redacted), who asked, and two buttons.

The buttons carry only the opaque approval id; Approve asks for confirmation in Slack's own dialog.
After a decision the card is rewritten in place without buttons, saying who decided, when, and how the
execution went.
"""

from __future__ import annotations

import json
from typing import Any

from agents.approvals import APPROVED, DENIED, EXECUTED, EXECUTING, EXPIRED, FAILED, Approval
from agents.redact import redact
from agents.write_gate import FILE_CONTENT
from slackbot.formatting import clip

APPROVE_ACTION = "sre_bot_approve"
DENY_ACTION = "sre_bot_deny"
CALL_LIMIT = 2800  # a section's text may hold 3,000 characters


def _when(epoch: float) -> str:
    return f"<!date^{int(epoch)}^{{date_short_pretty}} {{time}}|{int(epoch)}>"


def call_markdown(approval: Approval) -> str:
    """The whole call, secrets redacted: arguments as JSON, a manifest file's content as its own block."""
    args = redact(approval.arguments)
    manifest = args.pop(FILE_CONTENT, None) if isinstance(args, dict) else None
    text = f"```\n{json.dumps({'tool': approval.tool, 'arguments': args}, indent=2, default=str)}\n```"
    if isinstance(manifest, str):
        text += f"\nContent of that file, as it will be used:\n```\n{manifest.rstrip()}\n```"
    return text


def call_fits(approval: Approval) -> bool:
    """Whether the whole call fits on the card; if not, it is posted in full just above the card."""
    return len(call_markdown(approval)) <= CALL_LIMIT - 80


def _call_text(approval: Approval) -> str:
    header = f"*Exact call* (hash `{approval.call_hash[:12]}`)"
    if call_fits(approval):
        return f"{header}\n{call_markdown(approval)}"
    return (
        f"{header}\nToo long for this card: the whole call (secrets redacted) is in the message(s) just "
        "above. Read all of it before approving."
    )


def _facts(approval: Approval) -> dict[str, Any]:
    args = approval.arguments
    fields = [f"*Requested by*\n<@{approval.requester}>" if approval.requester else "*Requested by*\nunknown"]
    if args.get("cluster_name"):
        fields.append(f"*Cluster*\n`{args['cluster_name']}`")
    if args.get("namespace"):
        fields.append(f"*Namespace*\n`{args['namespace']}`")
    fields.append(f"*Expires*\n{_when(approval.expires_at)}")
    return {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]}


def pending_card(approval: Approval) -> list[dict[str, Any]]:
    return [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": "Approval needed: a change to make", "emoji": True},
        },
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": f"*What will happen:* {clip(approval.summary, 500)}"},
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
                    "style": "primary",
                    "text": {"type": "plain_text", "text": "Approve"},
                    "value": approval.id,
                    "confirm": {
                        "title": {"type": "plain_text", "text": "Run this change?"},
                        "text": {"type": "mrkdwn", "text": clip(approval.summary, 300)},
                        "confirm": {"type": "plain_text", "text": "Approve and run"},
                        "deny": {"type": "plain_text", "text": "Cancel"},
                        "style": "primary",
                    },
                },
                {
                    "type": "button",
                    "action_id": DENY_ACTION,
                    "style": "danger",
                    "text": {"type": "plain_text", "text": "Deny"},
                    "value": approval.id,
                },
            ],
        },
    ]


def outcome_line(approval: Approval) -> str:
    who = f"<@{approval.decided_by}>" if approval.decided_by and approval.decided_by != "system" else ""
    at = _when(approval.decided_at) if approval.decided_at else ""
    if approval.status == EXECUTED:
        return f":white_check_mark: Approved by {who} at {at}; executed."
    if approval.status == FAILED:
        return f":warning: Approved by {who} at {at}; failed: {clip(approval.detail, 300)}"
    if approval.status in (APPROVED, EXECUTING):
        return f":hourglass_flowing_sand: Approved by {who} at {at}; running…"
    if approval.status == DENIED:
        return f":no_entry: Denied by {who} at {at}; nothing was changed."
    if approval.status == EXPIRED:
        return ":hourglass: Expired before anyone decided; nothing was changed."
    return f"Status: {approval.status}"


def decided_card(approval: Approval) -> list[dict[str, Any]]:
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*Change:* {clip(approval.summary, 500)}"}},
        _facts(approval),
        {"type": "section", "text": {"type": "mrkdwn", "text": _call_text(approval)}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": outcome_line(approval)}]},
    ]


def card_text(approval: Approval) -> str:
    """Plain text for notifications and clients without blocks."""
    if approval.status == "pending":
        return f"Approval needed: {approval.summary}"
    return f"{approval.summary}: {approval.status}"
