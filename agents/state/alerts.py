"""Alert state: an inbox of deliveries not yet handled, and per alert group its thread and last status.

A sender (Alertmanager, SNS) is answered only after `AlertInbox.put` returned, so a notification that
was acknowledged is on disk: each put is its own SQLite transaction in WAL mode with
`synchronous=FULL`, which fsyncs the log at every commit. NORMAL would survive a crash of the bot but
not of the host (power, kernel): the last commits could vanish although the sender was told they were
kept, and it would not send them again. One fsync per delivery costs a few milliseconds; a storm is a
few deliveries a second.

Duplicates are answered by primary keys: a delivery id stays stored (pending, then done) for a TTL
longer than the senders retry (SNS gives up within an hour), so its retries change nothing. Groups are
claimed and advanced by conditional statements, so two workers or replicas never both post a header
or both start an investigation. The values are opaque strings (channel, thread and message ids of
whatever front end posts them); a shared backend (DynamoDB conditional writes) can take the Protocols.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal, Protocol

Status = Literal["firing", "resolved"]
GroupStatus = Literal["", "firing", "resolved"]  # "" once claimed, until its first notification is recorded

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS alert_inbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
    "delivery_id TEXT NOT NULL UNIQUE, group_key TEXT NOT NULL, payload TEXT NOT NULL, "
    "received_at REAL NOT NULL, done_at REAL)",
    "CREATE INDEX IF NOT EXISTS alert_inbox_pending ON alert_inbox (seq) WHERE done_at IS NULL",
    "CREATE INDEX IF NOT EXISTS alert_inbox_done ON alert_inbox (done_at) WHERE done_at IS NOT NULL",
    # which desk (of several replicas' or processes') works a pending delivery, until when
    "CREATE TABLE IF NOT EXISTS alert_inbox_leases (delivery_id TEXT PRIMARY KEY, owner TEXT NOT NULL, "
    "until REAL NOT NULL)",
    "CREATE TABLE IF NOT EXISTS alert_groups (group_key TEXT PRIMARY KEY, channel TEXT NOT NULL, "
    "thread_ts TEXT NOT NULL, header_ts TEXT NOT NULL, status TEXT NOT NULL, first_seen REAL NOT NULL, "
    "last_seen REAL NOT NULL, count INTEGER NOT NULL, fired_at REAL, resolved_at REAL, "
    "investigations INTEGER NOT NULL, last_delivery_id TEXT NOT NULL, episodes INTEGER NOT NULL, "
    "investigated_episode INTEGER NOT NULL, claimed_at REAL NOT NULL)",
)


@dataclass(frozen=True)
class InboxItem:
    """One stored delivery; `seq` is its place in arrival order (never reused)."""

    seq: int
    delivery_id: str
    group_key: str
    payload: str  # the notification as the caller serialised it (slackbot.alerts.codec)
    received_at: float


@dataclass(frozen=True)
class GroupRecord:
    """What the bot knows of one alert group: where its thread is and how the group has gone."""

    group_key: str
    channel: str
    thread_ts: str  # "" until the header is posted
    header_ts: str
    status: GroupStatus
    first_seen: float
    last_seen: float
    count: int  # notifications recorded (duplicates of the last one not counted)
    fired_at: float | None  # when the current (or last) firing began
    resolved_at: float | None  # set while resolved; None while firing
    investigations: int  # investigations started, at most one per firing episode
    last_delivery_id: str
    episodes: int  # firing episodes so far: 2 or more means it fired again after a resolve


class AlertInbox(Protocol):
    def put(self, delivery_id: str, group_key: str, payload: str) -> bool:
        """Store a delivery durably; False (and nothing changes) when its id was stored before."""
        ...

    def pending(self) -> list[InboxItem]:
        """The deliveries not yet done, in arrival order (so each group's are in its own order)."""
        ...

    def done(self, delivery_id: str) -> bool:
        """Mark handled (kept for dedupe for the TTL); True for the call that did it."""
        ...

    def take(self, delivery_id: str, seconds: float) -> bool:
        """Lease a pending delivery to this inbox's holder (one desk) for `seconds`: False while another's
        unexpired lease holds it, or once it is done. Taking it again renews the holder's own lease."""
        ...


class AlertGroups(Protocol):
    def get(self, group_key: str) -> GroupRecord | None: ...

    def claim_new(self, group_key: str, channel: str, now: float) -> bool:
        """True for the one caller that should post the group's header."""
        ...

    def set_thread(self, group_key: str, thread_ts: str, header_ts: str) -> bool:
        """Remember the posted header; False when the group already has a thread (keep that one)."""
        ...

    def record(self, group_key: str, status: Status, now: float, delivery_id: str) -> GroupRecord:
        """Count one notification of the group and follow its status; the record after it."""
        ...

    def note_investigation(self, group_key: str) -> bool:
        """True once per firing episode: the caller starts the investigation of the current firing."""
        ...


def connect(path: Path) -> sqlite3.Connection:
    """One connection to the alert state file, its tables made in one transaction if missing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=10)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")  # per connection: every commit is fsynced (module docstring)
    with db:
        db.execute("BEGIN IMMEDIATE")
        for statement in SCHEMA:
            db.execute(statement)
    return db


def _need(value: str, what: str) -> None:
    if not value:
        raise ValueError(f"{what} must not be empty: it is what duplicates are recognised by")


class SqliteAlertInbox:
    """The inbox in a local SQLite file; done deliveries are swept `ttl_seconds` after they were done."""

    def __init__(
        self, path: Path, ttl_seconds: float = 3600.0, clock: Callable[[], float] = time.time
    ) -> None:
        self._db = connect(path)
        self._lock = threading.Lock()
        self.ttl = ttl_seconds
        self._clock = clock
        self._last_sweep = clock()
        self.owner = uuid.uuid4().hex  # this desk's name in the leases

    def put(self, delivery_id: str, group_key: str, payload: str) -> bool:
        _need(delivery_id, "delivery_id")
        with self._lock:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO alert_inbox (delivery_id, group_key, payload, received_at) "
                "VALUES (?, ?, ?, ?)",
                (delivery_id, group_key, payload, self._clock()),
            )
        return cursor.rowcount == 1

    def pending(self) -> list[InboxItem]:
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, delivery_id, group_key, payload, received_at FROM alert_inbox "
                "WHERE done_at IS NULL ORDER BY seq"
            ).fetchall()
        return [InboxItem(*row) for row in rows]

    def done(self, delivery_id: str) -> bool:
        now = self._clock()
        with self._lock:
            cursor = self._db.execute(
                "UPDATE alert_inbox SET done_at = ? WHERE delivery_id = ? AND done_at IS NULL",
                (now, delivery_id),
            )
            self._db.execute("DELETE FROM alert_inbox_leases WHERE delivery_id = ?", (delivery_id,))
        if now - self._last_sweep > 60:
            self.sweep()
        return cursor.rowcount == 1

    def take(self, delivery_id: str, seconds: float) -> bool:
        now = self._clock()
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO alert_inbox_leases (delivery_id, owner, until) SELECT ?, ?, ? WHERE EXISTS "
                "(SELECT 1 FROM alert_inbox WHERE delivery_id = ? AND done_at IS NULL) "
                "ON CONFLICT (delivery_id) DO UPDATE SET owner = excluded.owner, until = excluded.until "
                "WHERE alert_inbox_leases.owner = excluded.owner OR alert_inbox_leases.until <= ?",
                (delivery_id, self.owner, now + seconds, delivery_id, now),
            )
        return cursor.rowcount == 1

    def sweep(self) -> int:
        """Forget deliveries done longer than the TTL ago (never a pending one); how many went."""
        now = self._clock()
        with self._lock:
            self._last_sweep = now
            cursor = self._db.execute(
                "DELETE FROM alert_inbox WHERE done_at IS NOT NULL AND done_at < ?", (now - self.ttl,)
            )
        return cursor.rowcount

    def close(self) -> None:
        self._db.close()


FIELDS = tuple(GroupRecord.__dataclass_fields__)
UPDATED = ("status", "last_seen", "count", "fired_at", "resolved_at", "last_delivery_id", "episodes")


def advance(record: GroupRecord, status: Status, now: float, delivery_id: str) -> GroupRecord:
    """The record after one more notification: the last one again changes nothing; every other counts.

    Into firing (first time, or again after a resolve) starts an episode: a new `fired_at`, no
    `resolved_at`. Firing to resolved sets `resolved_at`. The same status again only counts.
    """
    if delivery_id == record.last_delivery_id:
        return record  # a worker that stopped after recording and before `done` handles it again
    changes: dict[str, Any] = {"status": status, "last_seen": now, "count": record.count + 1}
    changes["last_delivery_id"] = delivery_id
    if status == "firing" and record.status != "firing":
        changes.update(fired_at=now, resolved_at=None, episodes=record.episodes + 1)
    elif status == "resolved" and record.status != "resolved":
        changes["resolved_at"] = now
    return replace(record, **changes)


class SqliteAlertGroups:
    """Groups in a local SQLite file. A claim whose header never came (its worker died) may be taken
    again after `claim_lease_seconds`: longer than a header post can wait in the rate budget."""

    def __init__(self, path: Path, claim_lease_seconds: float = 300.0) -> None:
        self._db = connect(path)
        self._lock = threading.Lock()
        self.lease = claim_lease_seconds

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken before reading: a read-modify-write no other process interleaves."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _select(self, group_key: str) -> GroupRecord | None:
        row = self._db.execute(
            f"SELECT {', '.join(FIELDS)} FROM alert_groups WHERE group_key = ?", (group_key,)
        ).fetchone()
        return None if row is None else GroupRecord(*row)

    def get(self, group_key: str) -> GroupRecord | None:
        with self._lock:
            return self._select(group_key)

    def claim_new(self, group_key: str, channel: str, now: float) -> bool:
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO alert_groups (group_key, channel, thread_ts, header_ts, status, first_seen, "
                "last_seen, count, fired_at, resolved_at, investigations, last_delivery_id, episodes, "
                "investigated_episode, claimed_at) VALUES (?, ?, '', '', '', ?, ?, 0, NULL, NULL, 0, '', 0, 0, ?) "
                "ON CONFLICT (group_key) DO UPDATE SET channel = excluded.channel, claimed_at = excluded.claimed_at "
                "WHERE alert_groups.thread_ts = '' AND alert_groups.claimed_at <= excluded.claimed_at - ?",
                (group_key, channel, now, now, now, self.lease),
            )
        return cursor.rowcount == 1

    def set_thread(self, group_key: str, thread_ts: str, header_ts: str) -> bool:
        _need(thread_ts, "thread_ts")
        with self._lock:
            cursor = self._db.execute(
                "UPDATE alert_groups SET thread_ts = ?, header_ts = ? WHERE group_key = ? AND thread_ts = ''",
                (thread_ts, header_ts, group_key),
            )
        return cursor.rowcount == 1

    def record(self, group_key: str, status: Status, now: float, delivery_id: str) -> GroupRecord:
        """KeyError for a group never claimed: its channel is not known, so nothing could post there."""
        _need(delivery_id, "delivery_id")
        with self._transaction() as db:
            current = self._select(group_key)
            if current is None:
                raise KeyError(group_key)
            after = advance(current, status, now, delivery_id)
            if after != current:
                db.execute(
                    f"UPDATE alert_groups SET {', '.join(f'{c} = ?' for c in UPDATED)} WHERE group_key = ?",
                    [*(getattr(after, c) for c in UPDATED), group_key],
                )
        return after

    def note_investigation(self, group_key: str) -> bool:
        with self._lock:
            cursor = self._db.execute(
                "UPDATE alert_groups SET investigations = investigations + 1, investigated_episode = episodes "
                "WHERE group_key = ? AND status = 'firing' AND investigated_episode < episodes",
                (group_key,),
            )
        return cursor.rowcount == 1

    def close(self) -> None:
        self._db.close()
