"""Approvals in Slack: what a card shows (cards), who may decide (approvers), and a card's life from post
to resume (desk)."""
