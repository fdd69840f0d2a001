"""Approvals in the shared table, with SqliteApprovalStore's rules: every change of state is one
conditional update, so a double click on two replicas decides once and an approved call starts once.

The three lookups that are not by id use keys-only GSIs, then read the items themselves strongly
consistently (a GSI lags its table; a status read from it could be a click old):
- `turn`: gsi2, `turn#<turn_id>` by `created_at` (a turn's few approvals).
- `expire_due`: gsi1, `approvals#pending` by `expires_at`, up to now: only the overdue pending ones,
  however many are decided. A claim moves the item out of that partition.
- `decided_since`: gsi1, `approvals#decided` by `decided_at`, from `since`: one day of decisions.
Approvals are human-paced (a few a day), so one partition per state is far below any DynamoDB limit.
An approval's item is kept 30 days after it expires (the audit log is the lasting record).
"""

from __future__ import annotations

import json
import time
from typing import Any

from agents.state.approvals import APPROVED, COLUMNS, EXECUTING, EXPIRED, JSON_COLUMNS, PENDING, Approval
from agents.state.aws.table import GSI1, GSI2, TTL_ATTRIBUTE, Item, Table, key, n, number, purge, s, text

PENDING_PART, DECIDED_PART = "approvals#pending", "approvals#decided"
KEEP_SECONDS = 30 * 86400.0
NUMBERS = ("created_at", "expires_at", "decided_at")
STATUS = {"#status": "status"}


def _pk(approval_id: str) -> str:
    return f"approval#{approval_id}"


class DynamoApprovalStore:
    """ApprovalStore over the shared table; any number of replicas may share it."""

    def __init__(self, table: Table) -> None:
        self.table = table

    def _item(self, approval: Approval) -> Item:
        item: Item = {**key(_pk(approval.id))}
        for column in COLUMNS:
            value = getattr(approval, column)
            if column in JSON_COLUMNS:
                item[column] = s(json.dumps(value, default=str))
            elif column in NUMBERS:
                item[column] = n(value)
            else:
                item[column] = s(value)
        pending = approval.status == PENDING
        item["gsi1pk"] = s(PENDING_PART if pending else DECIDED_PART)
        item["gsi1sk"] = n(approval.expires_at if pending else approval.decided_at)
        item["gsi2pk"] = s(f"turn#{approval.turn_id}")
        item["gsi2sk"] = n(approval.created_at)
        item[TTL_ATTRIBUTE] = purge(approval.expires_at, KEEP_SECONDS)
        return item

    @staticmethod
    def _approval(item: Item | None) -> Approval | None:
        if item is None:
            return None
        data: dict[str, Any] = {}
        for column in COLUMNS:
            if column in JSON_COLUMNS:
                data[column] = json.loads(text(item, column) or "{}")
            elif column in NUMBERS:
                data[column] = number(item, column) or 0.0
            else:
                data[column] = text(item, column)
        return Approval(**data)

    def _approvals(self, keys: list[Item]) -> list[Approval]:
        """The items themselves (consistent), in the order they were asked."""
        found = [self._approval(item) for item in self.table.get_many(keys)]
        return sorted((a for a in found if a is not None), key=lambda a: a.created_at)

    def add(self, approval: Approval) -> None:
        if not self.table.put(self._item(approval), "attribute_not_exists(pk)"):
            raise ValueError(f"approval {approval.id} exists already")

    def get(self, approval_id: str) -> Approval | None:
        return self._approval(self.table.get(_pk(approval_id)))

    def set_card(self, approval_id: str, card: str) -> None:
        self.table.update(_pk(approval_id), "SET card = :card", {":card": s(card)}, "attribute_exists(pk)")

    def claim(self, approval_id: str, status: str, by: str, now: float | None = None) -> bool:
        """Decide a pending, unexpired approval (expire an expired one); True only for the one caller."""
        now = time.time() if now is None else now
        expiry = "expires_at > :now" if status != EXPIRED else "expires_at <= :now"
        return self.table.update(
            _pk(approval_id),
            "SET #status = :status, decided_by = :by, decided_at = :now, gsi1pk = :decided, gsi1sk = :now",
            {
                ":status": s(status),
                ":by": s(by),
                ":now": n(now),
                ":decided": s(DECIDED_PART),
                ":pending": s(PENDING),
            },
            f"#status = :pending AND {expiry}",
            STATUS,
        )

    def finish(self, approval_id: str, status: str, detail: str = "") -> bool:
        """Record how an approved call ended; only once, and only for one approved or running."""
        return self.table.update(
            _pk(approval_id),
            "SET #status = :status, detail = :detail",
            {
                ":status": s(status),
                ":detail": s(detail),
                ":approved": s(APPROVED),
                ":executing": s(EXECUTING),
            },
            "#status IN (:approved, :executing)",
            STATUS,
        )

    def start_execution(self, approval_id: str, call_hash: str) -> bool:
        """The right to run an approved call: True once, for the approved hash only."""
        return self.table.update(
            _pk(approval_id),
            "SET #status = :executing",
            {":executing": s(EXECUTING), ":approved": s(APPROVED), ":hash": s(call_hash)},
            "#status = :approved AND call_hash = :hash",
            STATUS,
        )

    def turn(self, turn_id: str) -> list[Approval]:
        keys = self.table.query("gsi2pk = :turn", {":turn": s(f"turn#{turn_id}")}, index=GSI2)
        return self._approvals([key(k["pk"]["S"], k["sk"]["S"]) for k in keys])

    def expire_due(self, now: float | None = None) -> list[Approval]:
        """Mark every overdue pending approval expired; returns those this call expired."""
        now = time.time() if now is None else now
        keys = self.table.query(
            "gsi1pk = :pending AND gsi1sk <= :now", {":pending": s(PENDING_PART), ":now": n(now)}, index=GSI1
        )
        expired = []
        for approval in self._approvals([key(k["pk"]["S"], k["sk"]["S"]) for k in keys]):
            if approval.status == PENDING and self.claim(approval.id, EXPIRED, "system", now):
                approval.status = EXPIRED
                expired.append(approval)
        return expired

    def decided_since(self, since: float) -> list[Approval]:
        """Approvals decided (or expired) since `since`, oldest first: what a restart may need to finish."""
        keys = self.table.query(
            "gsi1pk = :decided AND gsi1sk >= :since",
            {":decided": s(DECIDED_PART), ":since": n(since)},
            index=GSI1,
        )
        found = self._approvals([key(k["pk"]["S"], k["sk"]["S"]) for k in keys])
        return [a for a in found if a.status != PENDING and a.decided_at >= since]
