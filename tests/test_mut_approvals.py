"""The approval store (SqliteApprovalStore), call by call: what each condition lets through and what it keeps.

Written for mutation testing (tests/MUTATION.md), next to tests/test_approvals_store.py (the races):
boundaries of expiry and recovery windows, which states may finish, order of a turn's approvals, what a
row keeps across a restart, and the defaults of a new approval.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from agents.state.approvals import (
    APPROVED,
    DENIED,
    EXECUTED,
    EXECUTING,
    EXPIRED,
    FAILED,
    PENDING,
    Approval,
    SqliteApprovalStore,
    new_approval_id,
)

HASH = "a" * 64


def approval(
    approval_id: str = "ap1", *, turn: str = "turn", created: float = 0.0, expires: float = 4e9
) -> Approval:
    return Approval(
        id=approval_id,
        turn_id=turn,
        conversation_id="C1:1",
        interrupt_id=f"int-{approval_id}",
        tool="manage_k8s_resource",
        arguments={"operation": "delete", "name": "web"},
        call_hash=HASH,
        summary="Delete Deployment web",
        requester="U1",
        place={"room": "C1", "thread": "1.0"},
        created_at=created,
        expires_at=expires,
    )


@pytest.fixture
def store(tmp_path: Path) -> SqliteApprovalStore:
    return SqliteApprovalStore(tmp_path / "approvals.sqlite3")


def test_the_states_are_stored_as_the_words_other_replicas_and_versions_read() -> None:
    assert (PENDING, APPROVED, DENIED, EXPIRED, EXECUTING, EXECUTED, FAILED) == (
        "pending",
        "approved",
        "denied",
        "expired",
        "executing",
        "executed",
        "failed",
    )


def test_a_new_approval_is_pending_and_undecided() -> None:
    a = approval()
    assert (a.status, a.card, a.decided_by, a.decided_at, a.detail, a.agent, a.extra) == (
        "pending",
        "",
        "",
        0.0,
        "",
        "",
        {},
    )
    assert approval().extra is not approval().extra  # no dict shared between approvals


def test_approval_ids_are_unguessable_and_fit_a_button_value() -> None:
    ids = {new_approval_id() for _ in range(200)}
    assert len(ids) == 200
    for approval_id in ids:
        assert len(approval_id) == 24  # 18 random bytes, URL-safe base64
        assert approval_id.replace("-", "").replace("_", "").isalnum()


def test_everything_added_is_read_back_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state" / "bot" / "approvals.sqlite3"  # its folders are created
    a = approval()
    a.arguments = {"body": {"metadata": {"name": "web"}}, "when": dt.date(2026, 12, 2)}
    a.extra = {"tool_use_id": "t1", "team_id": "T1", "asked": dt.date(2026, 12, 1)}
    a.agent = "eks_assistant"
    a.place = {"room": "C9", "thread": "17.5"}
    SqliteApprovalStore(path).add(a)
    again = SqliteApprovalStore(path).get("ap1")
    assert again is not None
    assert again.place == {"room": "C9", "thread": "17.5"}
    assert again.arguments == {"body": {"metadata": {"name": "web"}}, "when": "2026-12-02"}
    assert again.extra == {"tool_use_id": "t1", "team_id": "T1", "asked": "2026-12-01"}
    assert (again.agent, again.status, again.call_hash, again.interrupt_id) == (
        "eks_assistant",
        PENDING,
        HASH,
        "int-ap1",
    )
    assert SqliteApprovalStore(path).get("nope") is None


def test_a_row_written_without_extra_reads_as_empty_extra(store: SqliteApprovalStore, tmp_path: Path) -> None:
    store.add(approval())
    with sqlite3.connect(tmp_path / "approvals.sqlite3") as db:
        db.execute("UPDATE approvals SET extra = NULL")
    got = store.get("ap1")
    assert got is not None and got.extra == {}


def test_the_card_is_recorded_for_its_approval_only(store: SqliteApprovalStore) -> None:
    store.add(approval("ap1"))
    store.add(approval("ap2"))
    store.set_card("ap1", "1700000000.1")
    assert store.get("ap1").card == "1700000000.1"  # type: ignore[union-attr]
    assert store.get("ap2").card == ""  # type: ignore[union-attr]


def test_a_claim_records_the_decision_who_and_when(store: SqliteApprovalStore) -> None:
    store.add(approval())
    assert store.claim("ap1", DENIED, "U2", now=123.5)
    got = store.get("ap1")
    assert got is not None and (got.status, got.decided_by, got.decided_at) == (DENIED, "U2", 123.5)
    assert not store.claim("nope", APPROVED, "U2", now=1.0)


def test_a_claim_without_a_time_uses_the_clock(store: SqliteApprovalStore) -> None:
    now = time.time()
    store.add(approval("soon", expires=now + 60))
    store.add(approval("past", expires=now - 60))
    assert store.claim("soon", APPROVED, "U2")
    assert not store.claim("past", APPROVED, "U2")
    got = store.get("soon")
    assert got is not None and now - 1 <= got.decided_at <= time.time() + 1


def test_expiring_is_allowed_exactly_from_the_expiry_time(store: SqliteApprovalStore) -> None:
    store.add(approval(expires=100.0))
    assert not store.claim("ap1", EXPIRED, "system", now=99.99)
    assert store.claim("ap1", EXPIRED, "system", now=100.0)


def test_approving_is_allowed_until_just_before_the_expiry_time(store: SqliteApprovalStore) -> None:
    store.add(approval(expires=100.0))
    assert store.claim("ap1", APPROVED, "U2", now=99.99)


@pytest.mark.parametrize("state", [APPROVED, EXECUTING])
def test_an_approved_or_running_call_finishes_once(store: SqliteApprovalStore, state: str) -> None:
    store.add(approval())
    assert store.claim("ap1", APPROVED, "U2", now=1.0)
    if state == EXECUTING:
        assert store.start_execution("ap1", HASH)
    assert store.finish("ap1", EXECUTED, "ok")
    got = store.get("ap1")
    assert got is not None and (got.status, got.detail) == (EXECUTED, "ok")
    assert not store.finish("ap1", FAILED, "again")
    assert store.get("ap1").detail == "ok"  # type: ignore[union-attr]


@pytest.mark.parametrize("state", [PENDING, DENIED, EXPIRED])
def test_a_call_never_approved_cannot_finish(store: SqliteApprovalStore, state: str) -> None:
    store.add(approval(expires=100.0))
    if state != PENDING:
        assert store.claim("ap1", state, "U2", now=200.0 if state == EXPIRED else 1.0)
    assert not store.finish("ap1", EXECUTED)
    assert store.get("ap1").status == state  # type: ignore[union-attr]


def test_a_finish_without_detail_records_an_empty_detail(store: SqliteApprovalStore) -> None:
    store.add(approval())
    store.claim("ap1", APPROVED, "U2", now=1.0)
    assert store.finish("ap1", FAILED)
    assert store.get("ap1").detail == ""  # type: ignore[union-attr]


def test_a_turns_approvals_come_in_the_order_they_were_asked(store: SqliteApprovalStore) -> None:
    store.add(approval("late", created=30.0))
    store.add(approval("early", created=10.0))
    store.add(approval("middle", created=20.0))
    store.add(approval("other", turn="another", created=15.0))
    assert [a.id for a in store.turn("turn")] == ["early", "middle", "late"]
    assert store.turn("none") == []


def test_expire_due_expires_overdue_pending_approvals_only(store: SqliteApprovalStore) -> None:
    store.add(approval("due", expires=100.0))
    store.add(approval("exactly", expires=150.0))
    store.add(approval("later", expires=200.0))
    store.add(approval("decided", expires=100.0))
    store.claim("decided", APPROVED, "U2", now=50.0)
    expired = store.expire_due(now=150.0)
    assert sorted(a.id for a in expired) == ["due", "exactly"]
    assert {a.status for a in expired} == {EXPIRED}
    for approval_id, status in (
        ("due", EXPIRED),
        ("exactly", EXPIRED),
        ("later", PENDING),
        ("decided", APPROVED),
    ):
        got = store.get(approval_id)
        assert got is not None and got.status == status
    assert store.get("due").decided_by == "system"  # type: ignore[union-attr]
    assert store.get("due").decided_at == 150.0  # type: ignore[union-attr]


def test_expire_due_without_a_time_uses_the_clock(store: SqliteApprovalStore) -> None:
    store.add(approval("past", expires=time.time() - 1))
    store.add(approval("future", expires=time.time() + 3600))
    assert [a.id for a in store.expire_due()] == ["past"]


def test_start_execution_needs_the_approved_state_and_hash(store: SqliteApprovalStore) -> None:
    store.add(approval())
    store.claim("ap1", DENIED, "U2", now=1.0)
    assert not store.start_execution("ap1", HASH)  # denied: never runs
    assert store.get("ap1").status == DENIED  # type: ignore[union-attr]


def test_decided_since_returns_decisions_from_that_time_on_oldest_first(store: SqliteApprovalStore) -> None:
    store.add(approval("second", created=2.0))
    store.add(approval("first", created=1.0))
    store.add(approval("old", created=0.5))
    store.add(approval("waiting", created=3.0))
    store.claim("second", APPROVED, "U2", now=100.0)
    store.claim("first", DENIED, "U3", now=150.0)
    store.claim("old", APPROVED, "U2", now=99.0)
    assert [a.id for a in store.decided_since(100.0)] == ["first", "second"]
    assert [a.id for a in store.decided_since(0.0)] == ["old", "first", "second"]


def test_the_store_can_be_used_from_several_threads(store: SqliteApprovalStore) -> None:
    store.add(approval())
    results: list[bool] = []
    barrier = threading.Barrier(6)

    def claim(user: str) -> None:
        barrier.wait(timeout=10)
        results.append(store.claim("ap1", APPROVED, user, now=1.0))

    threads = [threading.Thread(target=claim, args=(f"U{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert sorted(results) == [False] * 5 + [True]


def test_expire_due_leaves_an_approval_a_click_decided_after_it_was_read(
    store: SqliteApprovalStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sweep reads the overdue ones, then claims each: a click that won in between keeps its decision."""
    store.add(approval("raced", expires=100.0))
    store.add(approval("due", expires=100.0))
    real_claim = store.claim

    def click_first(approval_id: str, status: str, by: str, now: float | None = None) -> bool:
        if approval_id == "raced":  # an approver's click lands between the sweep's read and its claim
            assert real_claim("raced", APPROVED, "U2", now=99.0)  # clicked just before its deadline
        return real_claim(approval_id, status, by, now)

    monkeypatch.setattr(store, "claim", click_first)
    assert [a.id for a in store.expire_due(now=150.0)] == ["due"]
    raced = store.get("raced")
    assert raced is not None and (raced.status, raced.decided_by) == (APPROVED, "U2")


# --- a file written by an older version ------------------------------------------------------------------

# The table as versions before `place` and `card` wrote it (where the card is, in the Slack front end's
# columns), verbatim, with its index.
OLD_TABLE = (
    "CREATE TABLE IF NOT EXISTS approvals (id TEXT PRIMARY KEY, turn_id TEXT, conversation_id TEXT, "
    "interrupt_id TEXT, tool TEXT, arguments TEXT, call_hash TEXT, summary TEXT, requester TEXT, "
    "channel TEXT, thread_ts TEXT, created_at REAL, expires_at REAL, status TEXT, card_ts TEXT, "
    "decided_by TEXT, decided_at REAL, detail TEXT, agent TEXT, extra TEXT)"
)
OLD_COLUMNS = (
    "id, turn_id, conversation_id, interrupt_id, tool, arguments, call_hash, summary, requester, channel, "
    "thread_ts, created_at, expires_at, status, card_ts, decided_by, decided_at, detail, agent, extra"
)
NEW_COLUMNS = [
    "id",
    "turn_id",
    "conversation_id",
    "interrupt_id",
    "tool",
    "arguments",
    "call_hash",
    "summary",
    "requester",
    "place",
    "created_at",
    "expires_at",
    "status",
    "card",
    "decided_by",
    "decided_at",
    "detail",
    "agent",
    "extra",
]


def old_file(path: Path) -> None:
    """An approvals file as the previous version left it: one approval pending, one approved."""
    with sqlite3.connect(path) as db:
        db.execute(OLD_TABLE)
        db.execute("CREATE INDEX IF NOT EXISTS approvals_turn ON approvals (turn_id)")
        rows = [
            ("old1", "pending", "", "", 0.0, "50.000", '{"tool_use_id": "t1", "team_id": "T1"}'),
            ("old2", "approved", "U2", "", 5.0, "51.000", None),
        ]
        for approval_id, state, by, detail, decided_at, card, extra in rows:
            db.execute(
                f"INSERT INTO approvals ({OLD_COLUMNS}) VALUES ({', '.join('?' * 20)})",
                (
                    approval_id,
                    "turn",
                    "C1:1.0",
                    f"int-{approval_id}",
                    "manage_k8s_resource",
                    '{"operation": "delete", "name": "web"}',
                    HASH,
                    "Delete Deployment web",
                    "U1",
                    "C1",
                    "1.0",
                    1.0 if approval_id == "old1" else 2.0,
                    4e9,
                    state,
                    card,
                    by,
                    decided_at,
                    detail,
                    "eks_assistant",
                    extra,
                ),
            )


def columns(path: Path) -> list[str]:
    with sqlite3.connect(path) as db:  # another connection: sees only what the store committed
        return [row[1] for row in db.execute("PRAGMA table_info(approvals)")]


def test_a_new_file_has_the_front_end_neutral_columns(tmp_path: Path) -> None:
    SqliteApprovalStore(tmp_path / "approvals.sqlite3")
    assert columns(tmp_path / "approvals.sqlite3") == NEW_COLUMNS


def test_an_older_file_is_upgraded_and_its_pending_approval_can_still_be_decided(tmp_path: Path) -> None:
    path = tmp_path / "approvals.sqlite3"
    old_file(path)
    store = SqliteApprovalStore(path)
    assert columns(path) == NEW_COLUMNS
    with sqlite3.connect(path) as db:
        tables = sorted(row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"))
        [index] = db.execute("SELECT sql FROM sqlite_master WHERE name = 'approvals_turn'").fetchall()
    assert tables == ["approvals"]  # no table left over from the upgrade
    assert index == ("CREATE INDEX approvals_turn ON approvals (turn_id)",)  # the index is back
    got = store.get("old1")
    assert got == Approval(
        id="old1",
        turn_id="turn",
        conversation_id="C1:1.0",
        interrupt_id="int-old1",
        tool="manage_k8s_resource",
        arguments={"operation": "delete", "name": "web"},
        call_hash=HASH,
        summary="Delete Deployment web",
        requester="U1",
        place={"channel": "C1", "thread_ts": "1.0"},  # the old columns, under their own names
        created_at=1.0,
        expires_at=4e9,
        status=PENDING,
        card="50.000",
        agent="eks_assistant",
        extra={"tool_use_id": "t1", "team_id": "T1"},
    )
    assert [a.id for a in store.turn("turn")] == ["old1", "old2"]
    assert store.claim("old1", APPROVED, "U3", now=10.0)
    assert not store.claim("old1", DENIED, "U2", now=11.0)
    old2 = store.get("old2")
    assert old2 is not None and (old2.status, old2.decided_by, old2.card, old2.extra) == (
        APPROVED,
        "U2",
        "51.000",
        {},
    )
    assert store.start_execution("old2", HASH)
    store.set_card("old1", "52.000")
    assert store.get("old1").card == "52.000"  # type: ignore[union-attr]


def test_an_upgraded_file_is_left_as_it_is_when_opened_again(tmp_path: Path) -> None:
    path = tmp_path / "approvals.sqlite3"
    old_file(path)
    SqliteApprovalStore(path).claim("old1", DENIED, "U2", now=10.0)
    again = SqliteApprovalStore(path)
    assert columns(path) == NEW_COLUMNS
    got = again.get("old1")
    assert got is not None and (got.status, got.place, got.card) == (
        DENIED,
        {"channel": "C1", "thread_ts": "1.0"},
        "50.000",
    )
    again.add(approval("new", created=3.0))
    assert [a.id for a in again.turn("turn")] == ["old1", "old2", "new"]


def test_an_empty_older_file_is_upgraded_too(tmp_path: Path) -> None:
    path = tmp_path / "approvals.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute(OLD_TABLE)
    store = SqliteApprovalStore(path)
    assert columns(path) == NEW_COLUMNS
    store.add(approval())
    assert store.get("ap1").place == {"room": "C1", "thread": "1.0"}  # type: ignore[union-attr]
