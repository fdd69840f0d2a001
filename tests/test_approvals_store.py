"""The approval store's conditions, tested as races: several processes on one SQLite file, one winner.

A double click, two approvers at once, or two resumes of one decision all come down to two claims
interleaving; in-process locks cannot serialise separate processes, so only the conditional UPDATE can.
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

import pytest

from agents.state.approvals import (
    APPROVED,
    DENIED,
    EXECUTING,
    EXPIRED,
    PENDING,
    Approval,
    SqliteApprovalStore,
)

HASH = "a" * 64
RACERS = 4


def pending(approval_id: str = "ap1", expires_at: float = 4e9) -> Approval:
    return Approval(
        approval_id,
        "turn",
        "C1:1",
        "interrupt",
        "manage_k8s_resource",
        {"operation": "delete", "name": "web"},
        HASH,
        "Delete Deployment web",
        "U1",
        {"room": "C1", "thread": "1.0"},
        0.0,
        expires_at,
    )


def _race(path: str, barrier: Any, results: Any, who: str, what: str) -> None:
    """One racer: its own connection, released together with the others at the barrier."""
    store = SqliteApprovalStore(Path(path))
    barrier.wait(timeout=60)
    if what == "claim":
        won = store.claim("ap1", APPROVED if who.endswith(("0", "2", "4")) else DENIED, who)
    else:
        won = store.start_execution("ap1", HASH)
    results.put((who, won))


def race(path: Path, what: str) -> list[tuple[str, bool]]:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(RACERS)
    results = context.Queue()
    processes = [
        context.Process(target=_race, args=(str(path), barrier, results, f"U{i}", what))
        for i in range(RACERS)
    ]
    for process in processes:
        process.start()
    outcome = [results.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    return outcome


def test_of_many_approvers_clicking_at_once_exactly_one_decides(tmp_path: Path) -> None:
    path = tmp_path / "approvals.sqlite3"
    SqliteApprovalStore(path).add(pending())
    outcome = race(path, "claim")
    winners = [who for who, won in outcome if won]
    assert len(winners) == 1, outcome
    stored = SqliteApprovalStore(path).get("ap1")
    assert stored is not None and stored.decided_by == winners[0]
    assert stored.status == (APPROVED if winners[0].endswith(("0", "2", "4")) else DENIED)


def test_of_many_resumes_of_one_approval_exactly_one_runs_it(tmp_path: Path) -> None:
    path = tmp_path / "approvals.sqlite3"
    store = SqliteApprovalStore(path)
    store.add(pending())
    assert store.claim("ap1", APPROVED, "U2")
    outcome = race(path, "execute")
    assert sum(won for _who, won in outcome) == 1, outcome
    assert store.get("ap1").status == EXECUTING  # type: ignore[union-attr]


@pytest.mark.parametrize("first", [APPROVED, DENIED, EXPIRED])
def test_a_decided_approval_cannot_be_decided_again(tmp_path: Path, first: str) -> None:
    store = SqliteApprovalStore(tmp_path / "a.sqlite3")
    store.add(pending(expires_at=100.0))
    now = 200.0 if first == EXPIRED else 50.0
    assert store.claim("ap1", first, "U2", now=now)
    for status in (APPROVED, DENIED, EXPIRED):
        assert not store.claim("ap1", status, "U3", now=now)
    assert store.get("ap1").decided_by == "U2"  # type: ignore[union-attr]


def test_expiry_is_checked_in_the_condition_not_only_by_a_sweeper(tmp_path: Path) -> None:
    store = SqliteApprovalStore(tmp_path / "a.sqlite3")
    store.add(pending(expires_at=100.0))
    assert not store.claim("ap1", APPROVED, "U2", now=100.0)  # overdue: nobody can approve it any more
    assert not store.claim("ap1", EXPIRED, "system", now=99.0)  # not yet due: cannot be expired
    assert store.get("ap1").status == PENDING  # type: ignore[union-attr]
    assert [a.id for a in store.expire_due(now=150.0)] == ["ap1"]
    assert store.expire_due(now=150.0) == []


def test_only_the_approved_hash_of_an_approved_call_can_start(tmp_path: Path) -> None:
    store = SqliteApprovalStore(tmp_path / "a.sqlite3")
    store.add(pending())
    assert not store.start_execution("ap1", HASH)  # still pending
    assert store.claim("ap1", APPROVED, "U2")
    assert not store.start_execution("ap1", "b" * 64)  # another call
    assert store.start_execution("ap1", HASH)
    assert not store.start_execution("ap1", HASH)  # once
    assert store.finish("ap1", "executed") and not store.finish("ap1", "failed")
