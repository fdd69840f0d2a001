"""Thread leases: while one replica answers in a conversation's thread, no other writes its memory.

Strands' session managers write a conversation's messages without conditions and count them in
process memory, so two replicas answering one thread at once would overwrite each other. A lease
serialises a thread across replicas: `acquire` before a turn, `renew` while it runs, `release` after.
A lease expires by itself (its holder died), and expiry is checked on every call, never left to a
sweeper. The local default keeps leases in this process: the local backend is one replica (its state
is in files on one host), so there is nobody else to keep out; shared ones live in DynamoDB.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol


class ThreadLeases(Protocol):
    def acquire(self, key: str, owner: str, ttl: float) -> bool:
        """True when `owner` holds the lease for `ttl` seconds from now: it was free, expired, or its own."""
        ...

    def renew(self, key: str, owner: str, ttl: float) -> bool:
        """Extend a lease `owner` still holds; False when it expired or is not its own (stop writing)."""
        ...

    def release(self, key: str, owner: str) -> bool:
        """Let the lease go at once; True when it was `owner`'s (another's lease is never touched)."""
        ...


class LocalLeases:
    """Leases in this process's memory, for the one-replica local backend; thread-safe."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._held: dict[str, tuple[str, float]] = {}  # key → (owner, until)
        self._lock = threading.Lock()
        self._clock = clock

    def acquire(self, key: str, owner: str, ttl: float) -> bool:
        now = self._clock()
        with self._lock:
            holder, until = self._held.get(key, ("", 0.0))
            if holder and holder != owner and until > now:
                return False
            self._held[key] = (owner, now + ttl)
            return True

    def renew(self, key: str, owner: str, ttl: float) -> bool:
        now = self._clock()
        with self._lock:
            holder, until = self._held.get(key, ("", 0.0))
            if holder != owner or until <= now:
                return False
            self._held[key] = (owner, now + ttl)
            return True

    def release(self, key: str, owner: str) -> bool:
        with self._lock:
            if self._held.get(key, ("", 0.0))[0] != owner:
                return False
            del self._held[key]
            return True
