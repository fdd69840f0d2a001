"""One place that picks the state implementations, so a front end never constructs a store itself.

STATE_BACKEND=local (the default): files and SQLite under var/, shared by the processes of one host.
STATE_BACKEND=aws: one DynamoDB table and one S3 bucket shared by every replica (agents/state/aws/),
checked before anything starts, so the bot never runs half-working on a missing table or bucket.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from agents.settings import Settings
from agents.state.alerts import AlertGroups, AlertInbox, SqliteAlertGroups, SqliteAlertInbox
from agents.state.approvals import ApprovalStore, SqliteApprovalStore
from agents.state.claims import EventDedupe, SqliteDedupe
from agents.state.leases import LocalLeases, ThreadLeases
from agents.state.replies import OpenReplies, SqliteOpenReplies
from agents.state.sessions import FileSessionStore, SessionStore

ALERT_DEDUPE_SECONDS = 7200.0


@dataclass(frozen=True)
class Stores:
    """The bot's state: conversation memory, approvals, alerts (deliveries not yet handled; each group's
    thread), one-time claims (redelivered events; only front ends that receive redeliveries keep them),
    thread leases (one replica answers in a thread at a time), and the replies in flight (a survivor
    ends those of a replica that died; only front ends whose replies grow in place keep them)."""

    sessions: SessionStore
    approvals: ApprovalStore
    alert_inbox: AlertInbox
    alert_groups: AlertGroups
    claims: EventDedupe | None = None
    leases: ThreadLeases = field(default_factory=LocalLeases)
    open_replies: OpenReplies | None = None


def build_stores(settings: Settings, *, claims_path: Path | None = None) -> Stores:
    """The stores `settings` ask for; claims only when the front end says where (`claims_path`, a file
    of the local backend; the shared backend keeps them in its table). Raises ConfigError (one line)
    when the shared table or bucket is missing or unusable."""
    if settings.state_backend == "aws":
        return _aws_stores(settings, claims=claims_path is not None)
    return Stores(
        sessions=FileSessionStore(settings.session_storage_path),
        approvals=SqliteApprovalStore(settings.approvals_db_path),
        # one file for both tables; a delivery's id is kept 2 h: longer than an SNS message is accepted (1 h,
        # plus clock skew), so a replayed one is still known as a duplicate
        alert_inbox=SqliteAlertInbox(settings.alert_state_path, ttl_seconds=ALERT_DEDUPE_SECONDS),
        alert_groups=SqliteAlertGroups(settings.alert_state_path),
        claims=SqliteDedupe(claims_path) if claims_path is not None else None,
        # beside the approvals (another table of the same file): what a killed process left growing
        open_replies=SqliteOpenReplies(settings.approvals_db_path) if claims_path is not None else None,
    )


def _aws_stores(settings: Settings, *, claims: bool) -> Stores:
    from agents.state.aws.alerts import DynamoAlertGroups, DynamoAlertInbox
    from agents.state.aws.approvals import DynamoApprovalStore
    from agents.state.aws.claims import DynamoDedupe, DynamoLeases
    from agents.state.aws.replies import DynamoOpenReplies
    from agents.state.aws.sessions import S3SessionStore
    from agents.state.aws.setup import problems
    from agents.state.aws.table import Table

    table_name, bucket, region = settings.state_table, settings.session_bucket, settings.aws_region
    if not (table_name and bucket and region):  # settings.check() says which; here only for the types
        raise settings.shared_state_problems()[0]
    for problem in problems(table_name, bucket, region):
        raise problem
    table = Table(table_name)
    return Stores(
        sessions=S3SessionStore(bucket, settings.session_prefix),
        approvals=DynamoApprovalStore(table),
        alert_inbox=DynamoAlertInbox(table, ttl_seconds=ALERT_DEDUPE_SECONDS),
        alert_groups=DynamoAlertGroups(table),
        claims=DynamoDedupe(table) if claims else None,
        leases=DynamoLeases(table),
        open_replies=DynamoOpenReplies(table) if claims else None,
    )
