"""Replies in flight: which replica is writing which reply, so a survivor can end the reply of one that died.

A replica killed mid-answer (kill -9, a node lost) leaves its reply growing forever ("Working on it…", or a
native stream never stopped). Each reply is recorded here while it runs (`open` … `close`), with the
front end's own references to it (`place`, opaque here). Replicas show they are alive by a lease of their
own (agents/state/leases.py, `replica:<owner>`, renewed by a heartbeat); a survivor that can take the
lease of a silent replica ends that replica's replies, each `take`n once (a conditional delete), so two
survivors never both end one reply.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class OpenReply:
    id: str
    owner: str
    place: dict[str, str]
    opened_at: float


class OpenReplies(Protocol):
    def open(self, reply_id: str, owner: str, place: dict[str, str]) -> None:
        """Record that `owner` is writing reply `reply_id` (at `place`, the front end's references)."""
        ...

    def close(self, reply_id: str) -> None:
        """The reply ended (its final text is out): forget it."""
        ...

    def all(self) -> list[OpenReply]:
        """Every reply recorded as in flight, oldest first."""
        ...

    def take(self, reply_id: str, owner: str) -> bool:
        """Forget `reply_id` if `owner` still has it: True for exactly one caller (who then ends it)."""
        ...


class SqliteOpenReplies:
    """The local backend's record (one replica; a restarted process finds what the killed one left)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=10)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS open_replies (id TEXT PRIMARY KEY, owner TEXT NOT NULL, "
            "place TEXT NOT NULL, opened_at REAL NOT NULL)"
        )
        self._lock = threading.Lock()

    def open(self, reply_id: str, owner: str, place: dict[str, str]) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO open_replies (id, owner, place, opened_at) VALUES (?, ?, ?, ?)",
                (reply_id, owner, json.dumps(place), time.time()),
            )

    def close(self, reply_id: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM open_replies WHERE id = ?", (reply_id,))

    def all(self) -> list[OpenReply]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, owner, place, opened_at FROM open_replies ORDER BY opened_at"
            ).fetchall()
        return [OpenReply(r[0], r[1], json.loads(r[2]), r[3]) for r in rows]

    def take(self, reply_id: str, owner: str) -> bool:
        with self._lock:
            cursor = self._db.execute(
                "DELETE FROM open_replies WHERE id = ? AND owner = ?", (reply_id, owner)
            )
        return cursor.rowcount == 1

    def close_db(self) -> None:
        self._db.close()
