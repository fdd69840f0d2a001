"""Alert state in the shared table, with the SQLite stores' rules, for several listeners and desks.

The inbox keeps two items per delivery, written and removed together in transactions: its marker
`delivery#<id>` (what duplicates are recognised by, kept `ttl_seconds` after done; the desks' lease) and
its entry under the one partition `inbox`, sorted by arrival number, deleted when done. `pending()` is
then one strongly consistent query of exactly the deliveries not done, in order, with no GSI to lag
behind a put. The arrival number comes from an atomic counter; a group's next notification is sent only
after its sender was answered (so after the put), so a group's deliveries are numbered in its order.
A storm is a few deliveries a second, far below one partition's limits. Payloads are stored
zlib-compressed: an item holds at most 400 KB.

Groups are one item each; `record` is a read-modify-write guarded by the count it read (every change
counts), so concurrent writers retry instead of losing a notification.
"""

from __future__ import annotations

import time
import uuid
import zlib
from collections.abc import Callable
from typing import Any

from agents.state.alerts import GroupRecord, InboxItem, Status, advance
from agents.state.aws.table import TTL_ATTRIBUTE, Item, Table, bounded, key, n, number, purge, s, text, whole

INBOX, COUNTER = "inbox", "inbox-seq"
ATTEMPTS = 8  # transactions that met another one on the same item (two replicas, one delivery)


def _need(value: str, what: str) -> None:
    if not value:
        raise ValueError(f"{what} must not be empty: it is what duplicates are recognised by")


def _seq(seq: int) -> str:
    return f"{seq:020d}"


class DynamoAlertInbox:
    """AlertInbox over the shared table; `take` leases a delivery to this instance (one per replica)."""

    def __init__(
        self,
        table: Table,
        ttl_seconds: float = 3600.0,
        clock: Callable[[], float] = time.time,
        owner: str | None = None,
    ) -> None:
        self.table, self.ttl, self._clock = table, ttl_seconds, clock
        self.owner = owner or uuid.uuid4().hex

    def _next_seq(self) -> int:
        found = self.table.dynamodb.update_item(
            TableName=self.table.name,
            Key=key(COUNTER),
            UpdateExpression="ADD seq :one",
            ExpressionAttributeValues={":one": n(1)},
            ReturnValues="UPDATED_NEW",
        )
        return int(found["Attributes"]["seq"]["N"])

    def _transact(self, items: list[dict[str, Any]]) -> bool:
        """True when written; False when the first item's condition was false; retried on conflicts."""
        reasons: list[str] = []
        for attempt in range(ATTEMPTS):
            found = self.table.transact(items)
            if found is None:
                return True
            reasons = found
            if reasons and reasons[0] == "ConditionalCheckFailed":
                return False
            time.sleep(0.02 * (attempt + 1))  # TransactionConflict: another replica's, on the same item
        raise RuntimeError(f"the alert inbox stayed busy ({', '.join(reasons)})")

    def put(self, delivery_id: str, group_key: str, payload: str) -> bool:
        _need(delivery_id, "delivery_id")
        now = self._clock()
        seq = self._next_seq()
        marker = {
            **key(f"delivery#{bounded(delivery_id)}"),
            "seq": n(seq),
            "group_key": s(group_key),
            "received_at": n(now),
        }
        entry = {
            **key(INBOX, _seq(seq)),
            "seq": n(seq),
            "delivery_id": s(delivery_id),
            "group_key": s(group_key),
            "payload": {"B": zlib.compress(payload.encode())},
            "received_at": n(now),
        }
        return self._transact(
            [
                {
                    "Put": {
                        "Item": marker,
                        # a marker done longer than the TTL ago counts as gone, as SQLite's sweep
                        "ConditionExpression": "attribute_not_exists(pk) OR #until <= :now",
                        "ExpressionAttributeNames": {"#until": "until"},
                        "ExpressionAttributeValues": {":now": n(now)},
                    }
                },
                {"Put": {"Item": entry, "ConditionExpression": "attribute_not_exists(pk)"}},
            ]
        )

    def pending(self) -> list[InboxItem]:
        return [
            InboxItem(
                whole(item, "seq"),
                text(item, "delivery_id"),
                text(item, "group_key"),
                zlib.decompress(item["payload"]["B"]).decode(),
                number(item, "received_at") or 0.0,
            )
            for item in self.table.query("pk = :inbox", {":inbox": s(INBOX)})
        ]

    def done(self, delivery_id: str) -> bool:
        marker = self.table.get(f"delivery#{bounded(delivery_id)}")
        if marker is None or "done_at" in marker:
            return False
        seq, now = whole(marker, "seq"), self._clock()
        return self._transact(
            [
                {
                    "Update": {
                        "Key": key(f"delivery#{bounded(delivery_id)}"),
                        "UpdateExpression": f"SET done_at = :now, #until = :until, {TTL_ATTRIBUTE} = :purge "
                        "REMOVE lease_owner, lease_until",
                        "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(done_at) "
                        "AND seq = :seq",
                        "ExpressionAttributeNames": {"#until": "until"},
                        "ExpressionAttributeValues": {
                            ":now": n(now),
                            ":until": n(now + self.ttl),
                            ":purge": purge(now + self.ttl),
                            ":seq": n(seq),
                        },
                    }
                },
                {"Delete": {"Key": key(INBOX, _seq(seq))}},
            ]
        )

    def take(self, delivery_id: str, seconds: float) -> bool:
        now = self._clock()
        return self.table.update(
            f"delivery#{bounded(delivery_id)}",
            "SET lease_owner = :me, lease_until = :until",
            {":me": s(self.owner), ":until": n(now + seconds), ":now": n(now)},
            "attribute_exists(pk) AND attribute_not_exists(done_at) AND "
            "(attribute_not_exists(lease_until) OR lease_until <= :now OR lease_owner = :me)",
        )


NAMES = {"#status": "status", "#count": "count", "#channel": "channel"}


def _group(group_key: str, item: Item | None) -> GroupRecord | None:
    if item is None:
        return None
    status: Any = text(item, "status")
    return GroupRecord(
        group_key=group_key,
        channel=text(item, "channel"),
        thread_ts=text(item, "thread_ts"),
        header_ts=text(item, "header_ts"),
        status=status,
        first_seen=number(item, "first_seen") or 0.0,
        last_seen=number(item, "last_seen") or 0.0,
        count=whole(item, "count"),
        fired_at=number(item, "fired_at"),
        resolved_at=number(item, "resolved_at"),
        investigations=whole(item, "investigations"),
        last_delivery_id=text(item, "last_delivery_id"),
        episodes=whole(item, "episodes"),
    )


def _maybe(value: float | None) -> dict[str, Any]:
    return {"NULL": True} if value is None else n(value)


class DynamoAlertGroups:
    """AlertGroups over the shared table; a claim whose header never came may be taken again after
    `claim_lease_seconds`, as in SqliteAlertGroups."""

    def __init__(self, table: Table, claim_lease_seconds: float = 300.0) -> None:
        self.table, self.lease = table, claim_lease_seconds

    def get(self, group_key: str) -> GroupRecord | None:
        return _group(group_key, self.table.get(f"group#{bounded(group_key)}"))

    def claim_new(self, group_key: str, channel: str, now: float) -> bool:
        fresh = {
            "thread_ts": ":e",
            "header_ts": ":e",
            "#status": ":e",
            "first_seen": ":now",
            "last_seen": ":now",
            "#count": ":zero",
            "fired_at": ":null",
            "resolved_at": ":null",
            "investigations": ":zero",
            "last_delivery_id": ":e",
            "episodes": ":zero",
            "investigated_episode": ":zero",
        }
        keep = ", ".join(f"{name} = if_not_exists({name}, {value})" for name, value in fresh.items())
        return self.table.update(
            f"group#{bounded(group_key)}",
            f"SET #channel = :channel, claimed_at = :now, {keep}",
            {
                ":channel": s(channel),
                ":now": n(now),
                ":e": s(""),
                ":zero": n(0),
                ":null": {"NULL": True},
                ":stale": n(now - self.lease),
            },
            "attribute_not_exists(pk) OR (thread_ts = :e AND claimed_at <= :stale)",
            NAMES,
        )

    def set_thread(self, group_key: str, thread_ts: str, header_ts: str) -> bool:
        _need(thread_ts, "thread_ts")
        return self.table.update(
            f"group#{bounded(group_key)}",
            "SET thread_ts = :thread, header_ts = :header",
            {":thread": s(thread_ts), ":header": s(header_ts), ":e": s("")},
            "attribute_exists(pk) AND thread_ts = :e",
        )

    def record(self, group_key: str, status: Status, now: float, delivery_id: str) -> GroupRecord:
        """KeyError for a group never claimed: its channel is not known, so nothing could post there."""
        _need(delivery_id, "delivery_id")
        while True:
            current = self.get(group_key)
            if current is None:
                raise KeyError(group_key)
            after = advance(current, status, now, delivery_id)
            if after == current:
                return after
            written = self.table.update(
                f"group#{bounded(group_key)}",
                "SET #status = :status, last_seen = :last_seen, #count = :count, fired_at = :fired_at, "
                "resolved_at = :resolved_at, last_delivery_id = :last, episodes = :episodes",
                {
                    ":status": s(after.status),
                    ":last_seen": n(after.last_seen),
                    ":count": n(after.count),
                    ":fired_at": _maybe(after.fired_at),
                    ":resolved_at": _maybe(after.resolved_at),
                    ":last": s(after.last_delivery_id),
                    ":episodes": n(after.episodes),
                    ":before": n(current.count),
                },
                "#count = :before",  # every change counts one more: another writer's moved it
                {"#status": "status", "#count": "count"},
            )
            if written:
                return after

    def note_investigation(self, group_key: str) -> bool:
        return self.table.update(
            f"group#{bounded(group_key)}",
            "SET investigations = investigations + :one, investigated_episode = episodes",
            {":one": n(1), ":firing": s("firing")},
            "#status = :firing AND investigated_episode < episodes",
            {"#status": "status"},
        )
