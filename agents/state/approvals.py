"""Pending approvals: the frozen call and its hash, kept server-side; claimed atomically, exactly once.

A front end's button carries only the opaque approval id. The store holds what was shown (tool,
arguments, hash), who asked, where the card is (`place` and `card`: the front end's own references,
opaque here), and the decision. `claim` is one conditional UPDATE, so a double
click or two approvers at once yield one winner, and an expired approval can no longer be claimed. The
local default is SQLite (survives restarts); replicas can share a DynamoDB table with the same conditions.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

PENDING, APPROVED, DENIED, EXPIRED, EXECUTING, EXECUTED, FAILED = (
    "pending",
    "approved",
    "denied",
    "expired",
    "executing",  # the approved call is about to reach the cluster (claimed by the write gate)
    "executed",
    "failed",
)


@dataclass
class Approval:
    id: str
    turn_id: str
    conversation_id: str
    interrupt_id: str
    tool: str
    arguments: dict[str, Any]
    call_hash: str
    summary: str
    requester: str
    place: dict[str, str]  # where the front end shows the conversation (its own keys; opaque here)
    created_at: float
    expires_at: float
    status: str = PENDING
    card: str = ""  # the front end's reference to the card it showed
    decided_by: str = ""
    decided_at: float = 0.0
    detail: str = ""
    agent: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class ApprovalStore(Protocol):
    def add(self, approval: Approval) -> None: ...
    def get(self, approval_id: str) -> Approval | None: ...
    def set_card(self, approval_id: str, card: str) -> None: ...
    def claim(self, approval_id: str, status: str, by: str, now: float | None = None) -> bool: ...
    def finish(self, approval_id: str, status: str, detail: str = "") -> bool: ...
    def turn(self, turn_id: str) -> list[Approval]: ...
    def expire_due(self, now: float | None = None) -> list[Approval]: ...
    def start_execution(self, approval_id: str, call_hash: str) -> bool: ...
    def decided_since(self, since: float) -> list[Approval]: ...


def new_approval_id() -> str:
    """Unguessable: a forged button value cannot name a real approval."""
    return secrets.token_urlsafe(18)


COLUMNS = (
    "id",
    "turn_id",
    "conversation_id",
    "interrupt_id",
    "tool",
    "arguments",
    "call_hash",
    "summary",
    "requester",
    "place",
    "created_at",
    "expires_at",
    "status",
    "card",
    "decided_by",
    "decided_at",
    "detail",
    "agent",
    "extra",
)


JSON_COLUMNS = ("arguments", "place", "extra")  # stored as JSON text
CREATE_TABLE = (
    "CREATE TABLE IF NOT EXISTS {table} (id TEXT PRIMARY KEY, turn_id TEXT, conversation_id TEXT, "
    "interrupt_id TEXT, tool TEXT, arguments TEXT, call_hash TEXT, summary TEXT, requester TEXT, "
    "place TEXT, created_at REAL, expires_at REAL, status TEXT, card TEXT, "
    "decided_by TEXT, decided_at REAL, detail TEXT, agent TEXT, extra TEXT)"
)
RENAMED = {"card_ts": "card"}  # old column → new, in tables written before `place` and `card`


def upgrade(db: sqlite3.Connection) -> None:
    """Bring a table written by an older version to today's columns, keeping every row; else do nothing.

    Older tables kept where the card is in columns of their own, named by the one front end there was:
    each column that is no longer one of COLUMNS (and not renamed) becomes an entry of `place` under its
    own name, so that front end reads an old row as it reads a new one. Pending approvals stay claimable.
    """
    old = [row[1] for row in db.execute("PRAGMA table_info(approvals)")]
    if "place" in old:
        return
    legacy = [c for c in old if c not in COLUMNS and c not in RENAMED]
    rows = db.execute(f"SELECT {', '.join(old)} FROM approvals").fetchall()
    db.execute(CREATE_TABLE.format(table="approvals_upgraded"))
    for row in rows:
        data = dict(zip(old, row, strict=True))
        data["place"] = json.dumps({c: data.pop(c) for c in legacy})
        for before, after in RENAMED.items():
            data[after] = data.pop(before)
        db.execute(
            f"INSERT INTO approvals_upgraded ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
            [data[c] for c in COLUMNS],
        )
    db.execute("DROP TABLE approvals")
    db.execute("ALTER TABLE approvals_upgraded RENAME TO approvals")


class SqliteApprovalStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=10)
        self._db.execute("PRAGMA journal_mode=WAL")
        with self._db:  # one transaction: another process opening the same file sees the old or the new table
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute(CREATE_TABLE.format(table="approvals"))
            upgrade(self._db)
            self._db.execute("CREATE INDEX IF NOT EXISTS approvals_turn ON approvals (turn_id)")
        self._lock = threading.Lock()

    def _row(self, row: tuple[Any, ...] | None) -> Approval | None:
        if row is None:
            return None
        data = dict(zip(COLUMNS, row, strict=True))
        for column in JSON_COLUMNS:
            data[column] = json.loads(data[column] or "{}")
        return Approval(**data)

    def add(self, approval: Approval) -> None:
        values = [getattr(approval, c) for c in COLUMNS]
        for column in JSON_COLUMNS:
            values[COLUMNS.index(column)] = json.dumps(getattr(approval, column), default=str)
        with self._lock:
            self._db.execute(
                f"INSERT INTO approvals ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
                values,
            )

    def get(self, approval_id: str) -> Approval | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT {', '.join(COLUMNS)} FROM approvals WHERE id = ?", (approval_id,)
            ).fetchone()
        return self._row(row)

    def set_card(self, approval_id: str, card: str) -> None:
        with self._lock:
            self._db.execute("UPDATE approvals SET card = ? WHERE id = ?", (card, approval_id))

    def claim(self, approval_id: str, status: str, by: str, now: float | None = None) -> bool:
        """Decide a pending, unexpired approval; True only for the one caller that did it."""
        now = time.time() if now is None else now
        condition = "expires_at > ?" if status != EXPIRED else "expires_at <= ?"
        with self._lock:
            cursor = self._db.execute(
                f"UPDATE approvals SET status = ?, decided_by = ?, decided_at = ? "
                f"WHERE id = ? AND status = '{PENDING}' AND {condition}",
                (status, by, now, approval_id, now),
            )
        return cursor.rowcount == 1

    def finish(self, approval_id: str, status: str, detail: str = "") -> bool:
        """Record how an approved call ended; only once, and only for one approved or running."""
        with self._lock:
            cursor = self._db.execute(
                f"UPDATE approvals SET status = ?, detail = ? WHERE id = ? AND status IN ('{APPROVED}', "
                f"'{EXECUTING}')",
                (status, detail, approval_id),
            )
        return cursor.rowcount == 1

    def turn(self, turn_id: str) -> list[Approval]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {', '.join(COLUMNS)} FROM approvals WHERE turn_id = ? ORDER BY created_at",
                (turn_id,),
            ).fetchall()
        return [a for a in (self._row(r) for r in rows) if a is not None]

    def expire_due(self, now: float | None = None) -> list[Approval]:
        """Mark every overdue pending approval expired; returns those this call expired."""
        now = time.time() if now is None else now
        with self._lock:
            rows = self._db.execute(
                f"SELECT {', '.join(COLUMNS)} FROM approvals WHERE status = '{PENDING}' AND expires_at <= ?",
                (now,),
            ).fetchall()
        expired = []
        for approval in (self._row(r) for r in rows):
            if approval is not None and self.claim(approval.id, EXPIRED, "system", now):
                approval.status = EXPIRED
                expired.append(approval)
        return expired

    def start_execution(self, approval_id: str, call_hash: str) -> bool:
        """Claim the right to run an approved call: True once, for the approved hash only.

        The write gate calls this just before the call reaches the cluster, so a resume that runs twice
        (a restart, a duplicate delivery) cannot run the change twice.
        """
        with self._lock:
            cursor = self._db.execute(
                f"UPDATE approvals SET status = '{EXECUTING}' "
                f"WHERE id = ? AND status = '{APPROVED}' AND call_hash = ?",
                (approval_id, call_hash),
            )
        return cursor.rowcount == 1

    def decided_since(self, since: float) -> list[Approval]:
        """Approvals decided (or expired) since `since`, oldest first: what a restart may need to finish."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {', '.join(COLUMNS)} FROM approvals WHERE status != '{PENDING}' AND decided_at >= ? "
                "ORDER BY created_at",
                (since,),
            ).fetchall()
        return [a for a in (self._row(r) for r in rows) if a is not None]
