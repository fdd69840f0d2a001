"""Both state backends behind one face, for the contract tests: each call to a factory is another
store on the same state (another process on the SQLite files; another replica on the DynamoDB table).

The aws backend runs against moto's server (tests/conftest.py `state_moto_url`) through real boto3 clients,
each test on a table and bucket of its own, made by `sre-bot state init`'s own code.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agents.state.alerts import AlertGroups, AlertInbox, SqliteAlertGroups, SqliteAlertInbox
from agents.state.approvals import ApprovalStore, SqliteApprovalStore
from agents.state.claims import EventDedupe, SqliteDedupe
from agents.state.leases import LocalLeases, ThreadLeases

REGION = "us-east-1"


class Clock:
    """A clock the test moves, so TTLs and leases expire exactly when the test says."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def aws_environment(monkeypatch: pytest.MonkeyPatch, moto_url: str) -> None:
    """Fake credentials and moto's endpoint, as a user would set them (restored after the test)."""
    for name, value in {
        "AWS_ENDPOINT_URL": moto_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)


def new_shared_state() -> tuple[str, str]:
    """A table and a bucket of the test's own, made as `sre-bot state init` makes them."""
    from agents.state.aws.setup import init

    name = f"sre-bot-{uuid.uuid4().hex[:12]}"
    init(name, name, REGION)
    return name, name


class Backend:
    def __init__(self, kind: str, root: Path, table: str = "") -> None:
        self.kind, self.root, self.table_name = kind, root, table
        self._leases = LocalLeases()

    def _table(self) -> Any:
        from agents.state.aws.table import Table

        return Table(self.table_name)

    def dedupe(self, clock: Callable[[], float] | None = None) -> EventDedupe:
        if self.kind == "local":
            return SqliteDedupe(self.root / "claims.sqlite3")
        from agents.state.aws.claims import DynamoDedupe

        return DynamoDedupe(self._table(), clock=clock) if clock else DynamoDedupe(self._table())

    def approvals(self) -> ApprovalStore:
        if self.kind == "local":
            return SqliteApprovalStore(self.root / "approvals.sqlite3")
        from agents.state.aws.approvals import DynamoApprovalStore

        return DynamoApprovalStore(self._table())

    def inbox(self, clock: Callable[[], float], ttl: float = 3600.0) -> AlertInbox:
        if self.kind == "local":
            return SqliteAlertInbox(self.root / "alerts.sqlite3", ttl_seconds=ttl, clock=clock)
        from agents.state.aws.alerts import DynamoAlertInbox

        return DynamoAlertInbox(self._table(), ttl_seconds=ttl, clock=clock)

    def groups(self) -> AlertGroups:
        if self.kind == "local":
            return SqliteAlertGroups(self.root / "alerts.sqlite3")
        from agents.state.aws.alerts import DynamoAlertGroups

        return DynamoAlertGroups(self._table())

    def leases(self, clock: Callable[[], float]) -> ThreadLeases:
        """Local leases live in the one process of the local backend: "another" is the same store."""
        if self.kind == "local":
            self._leases._clock = clock
            return self._leases
        from agents.state.aws.claims import DynamoLeases

        return DynamoLeases(self._table(), clock=clock)


def make_backend(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Backend:
    """The `backend` fixture's (tests/conftest.py): `request.param` names the backend."""
    if request.param == "local":
        return Backend("local", tmp_path)
    aws_environment(monkeypatch, request.getfixturevalue("state_moto_url"))
    table, _bucket = new_shared_state()
    return Backend("aws", tmp_path, table)


def race(racers: int, run: Callable[[int], Any]) -> list[Any]:
    """`run(i)` on `racers` threads released together; what each returned, in racer order."""
    barrier = threading.Barrier(racers)
    results: list[Any] = [None] * racers
    errors: list[BaseException] = []

    def one(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = run(i)
        except BaseException as exc:  # a racer's failure fails the test, not only its thread
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    if errors:
        raise errors[0]
    return results
