"""Replies in flight in the shared table: one partition (`replies`), an item per reply, so a survivor
lists them with one consistent query; `take` is a conditional delete on the owner."""

from __future__ import annotations

import json
import time

from agents.state.aws.table import TTL_ATTRIBUTE, Table, key, n, number, purge, s, text
from agents.state.replies import OpenReply

PARTITION = "replies"
FORGET_AFTER = 86_400.0  # a record left behind (both replicas gone) is purged by TTL after a day


class DynamoOpenReplies:
    def __init__(self, table: Table) -> None:
        self.table = table

    def open(self, reply_id: str, owner: str, place: dict[str, str]) -> None:
        now = time.time()
        item = {
            **key(PARTITION, reply_id),
            "owner": s(owner),
            "place": s(json.dumps(place)),
            "opened_at": n(now),
            TTL_ATTRIBUTE: purge(now + FORGET_AFTER),
        }
        self.table.put(item)

    def close(self, reply_id: str) -> None:
        self.table.delete(PARTITION, sk=reply_id)

    def all(self) -> list[OpenReply]:
        found = [
            OpenReply(
                text(item, "sk"),
                text(item, "owner"),
                json.loads(text(item, "place", "{}")),
                number(item, "opened_at") or 0.0,
            )
            for item in self.table.query("pk = :pk", {":pk": s(PARTITION)})
        ]
        return sorted(found, key=lambda r: r.opened_at)

    def take(self, reply_id: str, owner: str) -> bool:
        return self.table.delete(
            PARTITION, "#owner = :owner", {":owner": s(owner)}, names={"#owner": "owner"}, sk=reply_id
        )
