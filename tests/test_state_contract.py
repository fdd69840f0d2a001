"""One contract, two backends: the local stores (SQLite, in-process leases) and the shared ones
(DynamoDB on moto) answer every call the same way, and every exactly-once rule holds under a race of
8 threads, each with a store of its own (another process on the files; another replica on the table).
"""

from __future__ import annotations

import pytest

from agents.state.approvals import APPROVED, DENIED, EXECUTED, EXECUTING, EXPIRED, FAILED, PENDING, Approval
from tests.state_backends import Backend, Clock, race

HASH = "c" * 64
RACERS = 8


def approval(
    approval_id: str = "ap1", turn: str = "turn", created: float = 0.0, expires: float = 4e9, **more: object
) -> Approval:
    return Approval(
        approval_id,
        turn,
        "C1:1",
        f"interrupt-{approval_id}",
        "manage_k8s_resource",
        {"operation": "delete", "name": "web", "nested": {"list": [1, 2.5, "x"]}},
        HASH,
        "Delete Deployment web",
        "U1",
        {"room": "C1", "thread": "1.0"},
        created,
        expires,
        **more,  # type: ignore[arg-type]
    )


# --- event dedupe --------------------------------------------------------------------------------------


def test_an_event_is_claimed_once_and_other_events_stay_free(backend: Backend) -> None:
    first, replica = backend.dedupe(), backend.dedupe()
    assert first.claim("T1:Ev1")
    assert not first.claim("T1:Ev1")
    assert not replica.claim("T1:Ev1")  # the redelivery reached another replica
    assert replica.claim("T1:Ev2")


def test_of_replicas_racing_for_one_event_exactly_one_handles_it(backend: Backend) -> None:
    stores = [backend.dedupe() for _ in range(RACERS)]
    assert sorted(race(RACERS, lambda i: stores[i].claim("T1:EvRace"))) == [False] * (RACERS - 1) + [True]


# --- approvals -----------------------------------------------------------------------------------------


def test_everything_added_is_read_back(backend: Backend) -> None:
    store = backend.approvals()
    added = approval(agent="eks_assistant", extra={"cluster": "prod", "tool_use_id": "t1"})
    store.add(added)
    assert backend.approvals().get("ap1") == added
    assert store.get("missing") is None
    store.set_card("ap1", "1700000000.000200")
    store.set_card("missing", "1.0")  # nothing to set: nothing made
    assert backend.approvals().get("ap1").card == "1700000000.000200"  # type: ignore[union-attr]
    assert store.get("missing") is None


def test_a_claim_decides_a_pending_unexpired_approval_once(backend: Backend) -> None:
    store, replica = backend.approvals(), backend.approvals()
    store.add(approval(expires=100.0))
    assert not store.claim("ap1", APPROVED, "U2", now=100.0)  # from the expiry time on: too late
    assert not store.claim("ap1", EXPIRED, "system", now=99.9)  # not yet expired
    assert store.claim("ap1", DENIED, "U3", now=99.9)
    assert not replica.claim("ap1", APPROVED, "U2", now=99.95)
    assert not replica.claim("ap1", EXPIRED, "system", now=200.0)
    got = replica.get("ap1")
    assert got is not None and (got.status, got.decided_by, got.decided_at) == (DENIED, "U3", 99.9)
    assert not store.claim("missing", APPROVED, "U2", now=1.0)


def test_an_approved_call_starts_once_for_its_hash_and_finishes_once(backend: Backend) -> None:
    store, replica = backend.approvals(), backend.approvals()
    store.add(approval())
    assert not store.start_execution("ap1", HASH)  # pending: not approved yet
    assert not store.finish("ap1", EXECUTED)
    assert store.claim("ap1", APPROVED, "U2", now=1.0)
    assert not store.start_execution("ap1", "d" * 64)  # another call than the one approved
    assert replica.start_execution("ap1", HASH)
    assert not store.start_execution("ap1", HASH)
    assert store.get("ap1").status == EXECUTING  # type: ignore[union-attr]
    assert store.finish("ap1", FAILED, "cut off")
    assert not replica.finish("ap1", EXECUTED)
    got = replica.get("ap1")
    assert got is not None and (got.status, got.detail) == (FAILED, "cut off")


def test_a_turn_s_approvals_come_in_the_order_asked(backend: Backend) -> None:
    store = backend.approvals()
    store.add(approval("late", created=30.0))
    store.add(approval("early", created=10.0))
    store.add(approval("middle", created=20.0))
    store.add(approval("other", turn="another", created=15.0))
    assert store.claim("middle", APPROVED, "U2", now=40.0)
    turn = backend.approvals().turn("turn")
    assert [(a.id, a.status) for a in turn] == [("early", PENDING), ("middle", APPROVED), ("late", PENDING)]
    assert store.turn("none") == []


def test_expire_due_expires_the_overdue_pending_ones_only(backend: Backend) -> None:
    store = backend.approvals()
    for approval_id, expires in (("due", 100.0), ("exactly", 150.0), ("later", 200.0), ("decided", 100.0)):
        store.add(approval(approval_id, expires=expires))
    assert store.claim("decided", APPROVED, "U2", now=50.0)
    expired = backend.approvals().expire_due(now=150.0)
    assert sorted((a.id, a.status) for a in expired) == [("due", EXPIRED), ("exactly", EXPIRED)]
    assert backend.approvals().expire_due(now=150.0) == []  # once
    statuses = {i: store.get(i).status for i in ("due", "exactly", "later", "decided")}  # type: ignore[union-attr]
    assert statuses == {"due": EXPIRED, "exactly": EXPIRED, "later": PENDING, "decided": APPROVED}
    assert (store.get("due").decided_by, store.get("due").decided_at) == ("system", 150.0)  # type: ignore[union-attr]


def test_decided_since_lists_decisions_from_then_on_oldest_asked_first(backend: Backend) -> None:
    store = backend.approvals()
    for approval_id, created in (("second", 2.0), ("first", 1.0), ("old", 0.5), ("waiting", 3.0)):
        store.add(approval(approval_id, created=created))
    store.claim("second", APPROVED, "U2", now=100.0)
    store.claim("first", DENIED, "U3", now=150.0)
    store.claim("old", APPROVED, "U2", now=99.0)
    assert [a.id for a in backend.approvals().decided_since(100.0)] == ["first", "second"]
    assert [a.id for a in store.decided_since(0.0)] == ["old", "first", "second"]


def test_a_double_click_on_two_replicas_runs_the_change_once(backend: Backend) -> None:
    """Two approvers (or one double click) reach two replicas; each resumes and reaches the gate."""
    backend.approvals().add(approval())
    replicas = [backend.approvals() for _ in range(RACERS)]
    decided = race(
        RACERS, lambda i: replicas[i].claim("ap1", APPROVED if i % 2 else DENIED, f"U{i}", now=1.0)
    )
    assert sorted(decided) == [False] * (RACERS - 1) + [True]
    winner = decided.index(True)
    assert replicas[0].get("ap1").decided_by == f"U{winner}"  # type: ignore[union-attr]
    if winner % 2 == 0:  # denied: nothing may run
        assert race(RACERS, lambda i: replicas[i].start_execution("ap1", HASH)) == [False] * RACERS
        return
    started = race(RACERS, lambda i: replicas[i].start_execution("ap1", HASH))
    assert sorted(started) == [False] * (RACERS - 1) + [True]


def test_of_replicas_racing_to_run_one_approved_call_exactly_one_runs_it(backend: Backend) -> None:
    backend.approvals().add(approval())
    assert backend.approvals().claim("ap1", APPROVED, "U2", now=1.0)
    replicas = [backend.approvals() for _ in range(RACERS)]
    started = race(RACERS, lambda i: replicas[i].start_execution("ap1", HASH))
    assert sorted(started) == [False] * (RACERS - 1) + [True]


def test_of_replicas_sweeping_at_once_each_approval_expires_once(backend: Backend) -> None:
    store = backend.approvals()
    for i in range(5):
        store.add(approval(f"due{i}", expires=10.0))
    replicas = [backend.approvals() for _ in range(RACERS)]
    expired = race(RACERS, lambda i: [a.id for a in replicas[i].expire_due(now=20.0)])
    assert sorted(x for found in expired for x in found) == [f"due{i}" for i in range(5)]


# --- the alert inbox -----------------------------------------------------------------------------------


def test_a_delivery_is_kept_once_in_arrival_order_until_done(backend: Backend) -> None:
    clock = Clock(5000.0)
    inbox, replica = backend.inbox(clock), backend.inbox(clock)
    for delivery, group in (("z-a1", "A"), ("b-b1", "B"), ("m-a2", "A")):
        clock.now -= 1.0  # the wall clock stepping back does not reorder arrivals
        assert inbox.put(delivery, group, f'{{"id": "{delivery}", "text": "{"x" * 2000}"}}')
    assert not replica.put("z-a1", "A", "a retry that reached another replica")
    pending = replica.pending()
    assert [(i.delivery_id, i.group_key) for i in pending] == [("z-a1", "A"), ("b-b1", "B"), ("m-a2", "A")]
    assert pending[0].payload == f'{{"id": "z-a1", "text": "{"x" * 2000}"}}'
    assert pending[0].received_at == 4999.0
    assert [i.seq for i in pending] == sorted(i.seq for i in pending)
    assert replica.done("b-b1")
    assert not inbox.done("b-b1")
    assert not inbox.done("never-stored")
    assert not inbox.put("b-b1", "B", "a late retry of a handled delivery")
    assert [i.delivery_id for i in inbox.pending()] == ["z-a1", "m-a2"]
    with pytest.raises(ValueError):
        inbox.put("", "A", "no id: nothing to recognise a duplicate by")


def test_one_delivery_is_worked_by_one_desk_at_a_time(backend: Backend) -> None:
    clock = Clock(5000.0)
    desk_a, desk_b = backend.inbox(clock), backend.inbox(clock)
    assert desk_a.put("m1", "A", "{}")
    assert desk_a.take("m1", 300.0)
    assert not desk_b.take("m1", 300.0)  # the other replica's desk skips it
    clock.now += 200.0
    assert desk_a.take("m1", 300.0)  # its own lease: renewed
    clock.now += 299.0
    assert not desk_b.take("m1", 300.0)
    clock.now += 1.0  # the first desk died: its lease runs out and another desk takes the delivery over
    assert desk_b.take("m1", 300.0)
    assert not desk_a.take("m1", 300.0)
    assert desk_b.done("m1")
    assert not desk_b.take("m1", 300.0)  # done: nobody works it again
    assert not desk_a.take("never-stored", 300.0)


def test_of_desks_racing_for_one_delivery_exactly_one_works_it(backend: Backend) -> None:
    clock = Clock(5000.0)
    desks = [backend.inbox(clock) for _ in range(RACERS)]
    assert desks[0].put("m-race", "A", "{}")
    taken = race(RACERS, lambda i: desks[i].take("m-race", 300.0))
    assert sorted(taken) == [False] * (RACERS - 1) + [True]


def test_of_replicas_storing_one_delivery_at_once_one_keeps_it(backend: Backend) -> None:
    clock = Clock(5000.0)
    listeners = [backend.inbox(clock) for _ in range(RACERS)]
    stored = race(RACERS, lambda i: listeners[i].put("sns-1", "A", f"copy {i}"))
    assert sorted(stored) == [False] * (RACERS - 1) + [True]
    assert [(i.delivery_id, i.payload) for i in listeners[0].pending()] == [
        ("sns-1", f"copy {stored.index(True)}")
    ]


# --- alert groups --------------------------------------------------------------------------------------


def test_a_group_is_claimed_once_and_its_thread_kept(backend: Backend) -> None:
    groups, replica = backend.groups(), backend.groups()
    assert groups.get("g1") is None
    assert groups.claim_new("g1", "C1", 10.0)
    assert not replica.claim_new("g1", "C2", 11.0)
    fresh = replica.get("g1")
    assert fresh is not None
    assert (fresh.channel, fresh.thread_ts, fresh.status, fresh.count, fresh.fired_at) == (
        "C1",
        "",
        "",
        0,
        None,
    )
    assert (fresh.first_seen, fresh.last_seen, fresh.episodes, fresh.investigations) == (10.0, 10.0, 0, 0)
    assert not replica.set_thread("missing", "1.0", "1.0")
    assert replica.set_thread("g1", "111.1", "111.2")
    assert not groups.set_thread("g1", "222.1", "222.1")  # the first thread is kept
    got = groups.get("g1")
    assert got is not None and (got.thread_ts, got.header_ts) == ("111.1", "111.2")
    assert not groups.claim_new("g1", "C1", 10_000.0)  # it has a thread: never claimed again
    with pytest.raises(ValueError):
        groups.set_thread("g1", "", "")


def test_a_claim_whose_header_never_came_is_taken_again_after_its_lease(backend: Backend) -> None:
    groups = backend.groups()
    assert groups.claim_new("g1", "C1", 10.0)
    groups.record("g1", "firing", 11.0, "m1")
    assert not backend.groups().claim_new("g1", "C2", 309.9)
    assert backend.groups().claim_new("g1", "C2", 310.0)
    got = groups.get("g1")
    assert got is not None and (got.channel, got.count, got.first_seen, got.status) == (
        "C2",
        1,
        10.0,
        "firing",
    )


def test_a_group_follows_its_notifications(backend: Backend) -> None:
    groups = backend.groups()
    with pytest.raises(KeyError):
        groups.record("never-claimed", "firing", 1.0, "m0")
    groups.claim_new("g1", "C1", 10.0)
    first = groups.record("g1", "firing", 11.0, "m1")
    assert (first.status, first.count, first.fired_at, first.resolved_at, first.episodes) == (
        "firing",
        1,
        11.0,
        None,
        1,
    )
    assert backend.groups().record("g1", "firing", 12.0, "m1") == first  # the same delivery again: no change
    resolved = backend.groups().record("g1", "resolved", 13.0, "m2")
    assert (resolved.status, resolved.count, resolved.fired_at, resolved.resolved_at) == (
        "resolved",
        2,
        11.0,
        13.0,
    )
    again = groups.record("g1", "firing", 14.0, "m3")
    assert (again.fired_at, again.resolved_at, again.episodes, again.last_seen) == (14.0, None, 2, 14.0)
    assert backend.groups().get("g1") == again


def test_one_investigation_per_firing_episode(backend: Backend) -> None:
    groups = backend.groups()
    groups.claim_new("g1", "C1", 10.0)
    assert not groups.note_investigation("g1")  # nothing fired yet
    groups.record("g1", "firing", 11.0, "m1")
    assert groups.note_investigation("g1")
    assert not backend.groups().note_investigation("g1")
    groups.record("g1", "resolved", 12.0, "m2")
    assert not groups.note_investigation("g1")
    groups.record("g1", "firing", 13.0, "m3")
    assert backend.groups().note_investigation("g1")
    got = groups.get("g1")
    assert got is not None and got.investigations == 2


def test_of_replicas_racing_for_a_new_group_exactly_one_posts_its_header(backend: Backend) -> None:
    replicas = [backend.groups() for _ in range(RACERS)]
    claimed = race(RACERS, lambda i: replicas[i].claim_new("g-race", f"C{i}", 50.0))
    assert sorted(claimed) == [False] * (RACERS - 1) + [True]


def test_replicas_recording_at_once_lose_no_notification(backend: Backend) -> None:
    backend.groups().claim_new("g-count", "C1", 50.0)
    replicas = [backend.groups() for _ in range(RACERS)]
    race(RACERS, lambda i: replicas[i].record("g-count", "firing", 60.0 + i, f"m{i}"))
    got = replicas[0].get("g-count")
    assert got is not None and got.count == RACERS and got.episodes == 1


def test_of_replicas_racing_to_investigate_one_firing_exactly_one_starts(backend: Backend) -> None:
    backend.groups().claim_new("g-inv", "C1", 50.0)
    backend.groups().record("g-inv", "firing", 51.0, "m1")
    replicas = [backend.groups() for _ in range(RACERS)]
    started = race(RACERS, lambda i: replicas[i].note_investigation("g-inv"))
    assert sorted(started) == [False] * (RACERS - 1) + [True]


# --- thread leases -------------------------------------------------------------------------------------


def test_a_thread_lease_is_held_renewed_released_and_taken_over_when_expired(backend: Backend) -> None:
    clock = Clock()
    leases, replica = backend.leases(clock), backend.leases(clock)
    assert leases.acquire("T1:C1:1.0", "replica-a", 30.0)
    assert not replica.acquire("T1:C1:1.0", "replica-b", 30.0)
    assert replica.acquire("T1:C1:2.0", "replica-b", 30.0)  # another thread: its own lease
    assert leases.acquire("T1:C1:1.0", "replica-a", 30.0)  # its own again
    clock.now += 20.0
    assert leases.renew("T1:C1:1.0", "replica-a", 30.0)
    assert not replica.renew("T1:C1:1.0", "replica-b", 30.0)
    clock.now += 29.0
    assert not replica.acquire("T1:C1:1.0", "replica-b", 30.0)  # renewed: 1 s left
    clock.now += 1.0
    assert not leases.renew("T1:C1:1.0", "replica-a", 30.0)  # expired: its holder must stop
    assert replica.acquire("T1:C1:1.0", "replica-b", 30.0)  # the holder died: taken over
    assert not leases.release("T1:C1:1.0", "replica-a")  # no longer its own: left alone
    assert not leases.acquire("T1:C1:1.0", "replica-a", 30.0)
    assert replica.release("T1:C1:1.0", "replica-b")
    assert leases.acquire("T1:C1:1.0", "replica-a", 30.0)  # released: free at once


def test_of_replicas_racing_for_one_thread_exactly_one_holds_it(backend: Backend) -> None:
    clock = Clock()
    replicas = [backend.leases(clock) for _ in range(RACERS)]
    held = race(RACERS, lambda i: replicas[i].acquire("T1:C1:9.0", f"replica-{i}", 30.0))
    assert sorted(held) == [False] * (RACERS - 1) + [True]
    clock.now += 30.0  # the holder died: of those racing for it now, one takes it over
    again = race(RACERS, lambda i: replicas[i].acquire("T1:C1:9.0", f"other-{i}", 30.0))
    assert sorted(again) == [False] * (RACERS - 1) + [True]


def test_keys_written_by_alert_authors_work_whatever_their_length(backend: Backend) -> None:
    """A group key is an alert rule's labels: 1024 characters of emoji are ~4 KB in UTF-8, over DynamoDB's
    key limit. Two such keys that differ only at the end stay two groups; deliveries and leases too."""
    long_a = "🔥" * 1023 + "a"
    long_b = "🔥" * 1023 + "b"
    groups = backend.groups()
    assert groups.claim_new(long_a, "C1", 10.0) and groups.claim_new(long_b, "C1", 10.0)
    assert groups.set_thread(long_a, "1.1", "1.2")
    got_a, got_b = groups.get(long_a), groups.get(long_b)
    assert got_a is not None and got_b is not None
    assert (got_a.group_key, got_a.thread_ts) == (long_a, "1.1") and got_b.thread_ts == ""
    inbox = backend.inbox(Clock())
    assert inbox.put(long_a, long_a, "{}") and not inbox.put(long_a, long_a, "{}")
    assert [i.group_key for i in inbox.pending()] == [long_a]
    leases = backend.leases(Clock())
    assert leases.acquire(long_a, "a", 30) and not leases.acquire(long_a, "b", 30)
    assert leases.acquire(long_b, "b", 30)
