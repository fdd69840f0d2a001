"""One-time claims: front ends redeliver (Slack retries an event, Alertmanager resends); handle each once.

Behind a one-method interface so replicas can share a store (DynamoDB conditional put, Redis SET NX);
the local default is a SQLite file whose primary key makes the claim atomic across processes on a host.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Protocol


class EventDedupe(Protocol):
    def claim(self, key: str) -> bool:
        """True the first time `key` is seen (the caller handles the event), False afterwards."""
        ...


class SqliteDedupe:
    """Claims stored in SQLite for `ttl_seconds` (front ends retry within minutes)."""

    def __init__(self, path: Path, ttl_seconds: float = 3600.0) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=10)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS claims (key TEXT PRIMARY KEY, at REAL NOT NULL)")
        self._lock = threading.Lock()
        self.ttl = ttl_seconds
        self._last_sweep = 0.0

    def claim(self, key: str) -> bool:
        now = time.time()
        with self._lock:
            if now - self._last_sweep > 60:
                self._db.execute("DELETE FROM claims WHERE at < ?", (now - self.ttl,))
                self._last_sweep = now
            cursor = self._db.execute("INSERT OR IGNORE INTO claims (key, at) VALUES (?, ?)", (key, now))
            return cursor.rowcount == 1

    def close(self) -> None:
        self._db.close()
