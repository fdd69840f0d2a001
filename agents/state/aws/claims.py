"""One-time claims and thread leases in the shared table: each is one conditional write.

A claim or lease that has expired still counts as free even while its item waits for TTL's lazy delete,
because every condition compares `until` with the caller's clock (replicas' clocks must agree to well
under a lease's length: NTP does).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from agents.state.aws.table import TTL_ATTRIBUTE, Table, bounded, key, n, purge, s

FREE = "attribute_not_exists(pk) OR #until <= :now"
UNTIL = {"#until": "until"}


class DynamoDedupe:
    """EventDedupe: the first replica to put `event#<key>` handles the event; others see it for the TTL."""

    def __init__(
        self, table: Table, ttl_seconds: float = 3600.0, clock: Callable[[], float] = time.time
    ) -> None:
        self.table, self.ttl, self._clock = table, ttl_seconds, clock

    def claim(self, key_: str) -> bool:
        now = self._clock()
        until = now + self.ttl
        item = {**key(f"event#{bounded(key_)}"), "until": n(until), TTL_ATTRIBUTE: purge(until)}
        return self.table.put(item, FREE, {":now": n(now)}, UNTIL)


class DynamoLeases:
    """ThreadLeases across replicas: `lease#<key>` holds the owner and until when."""

    def __init__(self, table: Table, clock: Callable[[], float] = time.time) -> None:
        self.table, self._clock = table, clock

    def acquire(self, key_: str, owner: str, ttl: float) -> bool:
        return self._set(key_, owner, ttl, f"{FREE} OR #owner = :owner")

    def renew(self, key_: str, owner: str, ttl: float) -> bool:
        return self._set(key_, owner, ttl, "#owner = :owner AND #until > :now")

    def _set(self, key_: str, owner: str, ttl: float, condition: str) -> bool:
        now = self._clock()
        return self.table.update(
            f"lease#{bounded(key_)}",
            f"SET #owner = :owner, #until = :until, {TTL_ATTRIBUTE} = :purge",
            {":owner": s(owner), ":until": n(now + ttl), ":now": n(now), ":purge": purge(now + ttl)},
            condition,
            names={"#owner": "owner", **UNTIL},
        )

    def release(self, key_: str, owner: str) -> bool:
        return self.table.delete(
            f"lease#{bounded(key_)}", "#owner = :owner", {":owner": s(owner)}, names={"#owner": "owner"}
        )
