"""One place that picks the state implementations, so a front end never constructs a store itself.

Today every store is local (files and SQLite under var/, shared by the processes of one host). Shared
backends for several replicas (DynamoDB, S3) plug in here, chosen by settings; nothing else changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from agents.settings import Settings
from agents.state.alerts import AlertGroups, AlertInbox, SqliteAlertGroups, SqliteAlertInbox
from agents.state.approvals import ApprovalStore, SqliteApprovalStore
from agents.state.claims import EventDedupe, SqliteDedupe
from agents.state.sessions import FileSessionStore, SessionStore

ALERT_DEDUPE_SECONDS = 7200.0


@dataclass(frozen=True)
class Stores:
    """The bot's state: conversation memory, approvals, alerts (deliveries not yet handled; each group's
    thread), and one-time claims (redelivered events; only front ends that receive redeliveries keep them)."""

    sessions: SessionStore
    approvals: ApprovalStore
    alert_inbox: AlertInbox
    alert_groups: AlertGroups
    claims: EventDedupe | None = None


def build_stores(settings: Settings, *, claims_path: Path | None = None) -> Stores:
    """The stores `settings` ask for; claims only when the front end says where (`claims_path`)."""
    return Stores(
        sessions=FileSessionStore(settings.session_storage_path),
        approvals=SqliteApprovalStore(settings.approvals_db_path),
        # one file for both tables; a delivery's id is kept 2 h: longer than an SNS message is accepted (1 h,
        # plus clock skew), so a replayed one is still known as a duplicate
        alert_inbox=SqliteAlertInbox(settings.alert_state_path, ttl_seconds=ALERT_DEDUPE_SECONDS),
        alert_groups=SqliteAlertGroups(settings.alert_state_path),
        claims=SqliteDedupe(claims_path) if claims_path is not None else None,
    )
