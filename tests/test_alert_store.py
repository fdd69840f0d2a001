"""The alert state's rules: what is acknowledged is kept, a duplicate changes nothing, one header and one
investigation per firing even when workers race (threads with their own connections, and processes:
in-process locks cannot serialise those, only the conditional statements can), and a restart keeps all.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agents.settings import Settings
from agents.state.alerts import GroupRecord, SqliteAlertGroups, SqliteAlertInbox
from agents.state.factory import build_stores
from slackbot.alerts.codec import notification_from_json, notification_to_json
from slackbot.alerts.model import Alert, Notification, PayloadError
from tests.alert_racers import KEYS, race_processes, race_threads


class Clock:
    """A clock the test moves, so TTLs and arrival times are exact."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def ids(items: list[Any]) -> list[str]:
    return [item.delivery_id for item in items]


# --- the inbox ---------------------------------------------------------------------------------------


def test_a_put_is_committed_before_it_returns_and_every_commit_is_fsynced(tmp_path: Path) -> None:
    inbox = SqliteAlertInbox(tmp_path / "alerts.sqlite3")
    assert inbox.put("m1", "g1", "{}")
    other = sqlite3.connect(tmp_path / "alerts.sqlite3")  # another process's view: only what is committed
    assert other.execute("SELECT delivery_id FROM alert_inbox").fetchall() == [("m1",)]
    assert inbox._db.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL
    assert inbox._db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_pending_deliveries_and_groups_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "alerts.sqlite3"
    inbox, groups = SqliteAlertInbox(path), SqliteAlertGroups(path)
    for delivery, group in (("m1", "g1"), ("m2", "g2"), ("m3", "g1")):
        assert inbox.put(delivery, group, f'{{"id": "{delivery}"}}')
    assert inbox.done("m1")
    assert groups.claim_new("g1", "C1", 10.0)
    assert groups.set_thread("g1", "111.1", "111.1")
    before = groups.record("g1", "firing", 11.0, "m1")
    inbox.close()
    groups.close()

    inbox, groups = SqliteAlertInbox(path), SqliteAlertGroups(path)
    assert [(i.delivery_id, i.group_key, i.payload) for i in inbox.pending()] == [
        ("m2", "g2", '{"id": "m2"}'),
        ("m3", "g1", '{"id": "m3"}'),
    ]
    assert groups.get("g1") == before
    assert before.thread_ts == "111.1" and before.channel == "C1" and before.count == 1
    assert not groups.claim_new("g1", "C1", 12.0)  # the thread is kept: no second header after a restart


def test_a_duplicate_delivery_changes_nothing_pending_done_or_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "alerts.sqlite3"
    inbox = SqliteAlertInbox(path)
    assert inbox.put("m1", "g1", "first")
    assert not inbox.put("m1", "g1", "second")  # an SNS retry (same MessageId) while still pending
    assert [(i.delivery_id, i.payload) for i in inbox.pending()] == [("m1", "first")]
    assert inbox.done("m1")
    assert not inbox.done("m1")
    assert not inbox.put("m1", "g1", "third")  # a late retry of a handled delivery: not handled again
    assert inbox.pending() == []
    inbox.close()
    assert not SqliteAlertInbox(path).put("m1", "g1", "fourth")
    assert SqliteAlertInbox(path).pending() == []
    with pytest.raises(ValueError):
        inbox = SqliteAlertInbox(path)
        inbox.put("", "g1", "no id: nothing to recognise a duplicate by")


def test_pending_is_in_arrival_order_so_each_group_keeps_its_own(tmp_path: Path) -> None:
    clock = Clock(5000.0)
    path = tmp_path / "alerts.sqlite3"
    inbox = SqliteAlertInbox(path, clock=clock)
    arrivals = [("z-a1", "A"), ("b-b1", "B"), ("m-a2", "A"), ("a-b2", "B"), ("c-a3", "A")]
    for delivery, group in arrivals:
        clock.now -= 1.0  # the wall clock stepping back (NTP) does not reorder arrivals
        assert inbox.put(delivery, group, "{}")
    assert ids(inbox.pending()) == ["z-a1", "b-b1", "m-a2", "a-b2", "c-a3"]
    assert inbox.done("b-b1")
    assert inbox.done("z-a1")
    assert ids(inbox.pending()) == ["m-a2", "a-b2", "c-a3"]
    assert [i.delivery_id for i in SqliteAlertInbox(path).pending() if i.group_key == "A"] == ["m-a2", "c-a3"]


def test_done_deliveries_are_swept_after_the_ttl_and_pending_ones_never(tmp_path: Path) -> None:
    clock = Clock(1000.0)
    inbox = SqliteAlertInbox(tmp_path / "alerts.sqlite3", ttl_seconds=3600.0, clock=clock)
    assert inbox.put("old-pending", "g", "{}")
    assert inbox.put("m1", "g", "{}")
    assert inbox.done("m1")
    clock.now += 3599.0
    assert inbox.sweep() == 0
    assert not inbox.put("m1", "g", "{}")  # still remembered within the TTL
    clock.now += 2.0
    assert inbox.sweep() == 1
    assert ids(inbox.pending()) == ["old-pending"]  # pending for over an hour, and kept
    assert inbox.put("m1", "g", "{}")  # forgotten after the TTL: the same id is a new delivery
    assert ids(inbox.pending()) == ["old-pending", "m1"]  # and it queues after the older one


def test_done_sweeps_by_itself_at_most_once_a_minute(tmp_path: Path) -> None:
    clock = Clock(1000.0)
    inbox = SqliteAlertInbox(tmp_path / "alerts.sqlite3", ttl_seconds=10.0, clock=clock)
    for delivery in ("m1", "m2", "m3"):
        assert inbox.put(delivery, "g", "{}")
    assert inbox.done("m1")
    clock.now += 30.0
    assert inbox.done("m2")  # m1 is past its TTL, but the last sweep was 30 s ago
    assert not inbox.put("m1", "g", "{}")
    clock.now += 31.0
    assert inbox.done("m3")  # a minute since the last sweep: m1 and m2 go
    assert inbox.put("m1", "g", "{}") and inbox.put("m2", "g", "{}")
    assert not inbox.put("m3", "g", "{}")  # done just now: still within its TTL


# --- groups: status and counts -----------------------------------------------------------------------


def test_status_transitions_and_counts(tmp_path: Path) -> None:
    groups = SqliteAlertGroups(tmp_path / "alerts.sqlite3")
    with pytest.raises(KeyError):
        groups.record("g", "firing", 1.0, "d0")  # never claimed: no channel to post to
    assert groups.claim_new("g", "C1", 100.0)
    claimed = groups.get("g")
    assert claimed is not None and (claimed.status, claimed.count, claimed.thread_ts) == ("", 0, "")
    assert (claimed.first_seen, claimed.fired_at, claimed.resolved_at, claimed.episodes) == (
        100.0,
        None,
        None,
        0,
    )

    r = groups.record("g", "firing", 101.0, "d1")
    assert (r.status, r.count, r.fired_at, r.resolved_at, r.episodes, r.last_seen) == (
        "firing",
        1,
        101.0,
        None,
        1,
        101.0,
    )
    assert groups.record("g", "firing", 102.0, "d1") == r  # the last delivery again: not counted
    r = groups.record("g", "firing", 160.0, "d2")  # a repeat: counts, the firing goes on
    assert (r.status, r.count, r.fired_at, r.resolved_at, r.episodes, r.last_seen) == (
        "firing",
        2,
        101.0,
        None,
        1,
        160.0,
    )
    r = groups.record("g", "resolved", 300.0, "d3")
    assert (r.status, r.count, r.fired_at, r.resolved_at, r.episodes) == ("resolved", 3, 101.0, 300.0, 1)
    r = groups.record("g", "resolved", 360.0, "d4")
    assert (r.status, r.count, r.fired_at, r.resolved_at, r.last_seen) == ("resolved", 4, 101.0, 300.0, 360.0)
    r = groups.record("g", "firing", 900.0, "d5")  # fires again: a new episode in the same thread
    assert (r.status, r.count, r.fired_at, r.resolved_at, r.episodes) == ("firing", 5, 900.0, None, 2)
    assert r.first_seen == 100.0 and r.last_delivery_id == "d5" and r.channel == "C1"
    assert groups.get("g") == r


def test_a_first_notification_that_is_already_resolved(tmp_path: Path) -> None:
    groups = SqliteAlertGroups(tmp_path / "alerts.sqlite3")
    assert groups.claim_new("g", "C1", 100.0)
    r = groups.record("g", "resolved", 101.0, "d1")
    assert (r.status, r.count, r.fired_at, r.resolved_at, r.episodes) == ("resolved", 1, None, 101.0, 0)
    assert not groups.note_investigation("g")  # nothing fires: nothing to investigate


def test_set_thread_keeps_the_first_thread(tmp_path: Path) -> None:
    groups = SqliteAlertGroups(tmp_path / "alerts.sqlite3")
    assert groups.claim_new("g", "C1", 1.0)
    assert groups.set_thread("g", "1.1", "1.2")
    assert not groups.set_thread("g", "2.1", "2.2")
    record = groups.get("g")
    assert record is not None and (record.thread_ts, record.header_ts) == ("1.1", "1.2")


def test_a_claim_whose_header_never_came_is_taken_again_after_the_lease(tmp_path: Path) -> None:
    groups = SqliteAlertGroups(tmp_path / "alerts.sqlite3", claim_lease_seconds=300.0)
    assert groups.claim_new("g", "C1", 1000.0)  # its worker dies before posting the header
    assert not groups.claim_new("g", "C2", 1299.0)
    assert groups.claim_new("g", "C2", 1300.0)  # after a restart, another worker posts it
    assert not groups.claim_new("g", "C3", 1301.0)
    assert groups.set_thread("g", "5.5", "5.5")
    assert not groups.claim_new("g", "C3", 99999.0)  # once posted, never again
    record = groups.get("g")
    assert record is not None and record.channel == "C2" and record.first_seen == 1000.0


# --- groups: races ------------------------------------------------------------------------------------


def firing_groups(path: Path) -> SqliteAlertGroups:
    groups = SqliteAlertGroups(path)
    for n, key in enumerate(KEYS):
        assert groups.claim_new(key, "C1", 1.0)
        groups.record(key, "firing", 2.0, f"d{n}")
    return groups


def exactly_one_winner_per_key(won: list[list[str]]) -> None:
    every = sorted(key for keys in won for key in keys)
    assert every == sorted(KEYS), f"winners per racer: {[len(keys) for keys in won]}"


@pytest.mark.parametrize("race", [race_threads, race_processes], ids=["threads", "processes"])
def test_racing_claims_on_a_new_group_have_exactly_one_winner(tmp_path: Path, race: Any) -> None:
    path = tmp_path / "alerts.sqlite3"
    SqliteAlertGroups(path).close()  # the tables exist before the race
    exactly_one_winner_per_key(race(path, "claim"))


@pytest.mark.parametrize("race", [race_threads, race_processes], ids=["threads", "processes"])
def test_racing_investigations_of_one_firing_start_exactly_one(tmp_path: Path, race: Any) -> None:
    path = tmp_path / "alerts.sqlite3"
    groups = firing_groups(path)
    exactly_one_winner_per_key(race(path, "investigate"))
    assert not any(groups.note_investigation(key) for key in KEYS)
    record = groups.get(KEYS[0])
    assert record is not None and record.investigations == 1


@pytest.mark.parametrize("race", [race_threads, race_processes], ids=["threads", "processes"])
def test_racing_records_of_one_group_each_count(tmp_path: Path, race: Any) -> None:
    path = tmp_path / "alerts.sqlite3"
    groups = firing_groups(path)
    racers = len(race(path, "record"))
    for key in KEYS:
        record = groups.get(key)
        assert record is not None and record.count == 1 + racers, record


def test_one_investigation_per_firing_episode(tmp_path: Path) -> None:
    groups = SqliteAlertGroups(tmp_path / "alerts.sqlite3")
    assert not groups.note_investigation("g")  # no such group
    assert groups.claim_new("g", "C1", 1.0)
    assert not groups.note_investigation("g")  # claimed, nothing recorded yet
    groups.record("g", "firing", 2.0, "d1")
    assert groups.note_investigation("g")
    groups.record("g", "firing", 3.0, "d2")  # a repeat of the same firing
    assert not groups.note_investigation("g")
    groups.record("g", "resolved", 4.0, "d3")
    assert not groups.note_investigation("g")
    groups.record("g", "firing", 5.0, "d4")  # fires again: its own investigation
    groups.record("g", "firing", 6.0, "d5")
    assert groups.note_investigation("g")
    assert not groups.note_investigation("g")
    groups.record("g", "resolved", 7.0, "d6")
    groups.record("g", "firing", 8.0, "d7")  # a third episode nobody investigates ...
    groups.record("g", "resolved", 9.0, "d8")
    assert not groups.note_investigation("g")  # too late: that firing is over
    groups.record("g", "firing", 10.0, "d9")  # ... does not give the fourth two
    assert groups.note_investigation("g")
    assert not groups.note_investigation("g")
    record = groups.get("g")
    assert isinstance(record, GroupRecord) and record.investigations == 3 and record.episodes == 4


# --- the codec ----------------------------------------------------------------------------------------

# Any text a JSON body can carry, lone surrogates (`"\\ud800"`) included: SQLite must still take it.
texts = st.text(st.characters(exclude_categories=()) | st.sampled_from(["\ud800", "\udfff"]), max_size=12)
labels = st.dictionaries(texts, texts, max_size=4)
times = st.none() | st.datetimes(timezones=st.just(dt.UTC))
statuses = st.sampled_from(["firing", "resolved"])
alerts = st.builds(
    Alert,
    fingerprint=texts,
    status=statuses,
    name=texts,
    labels=labels,
    annotations=labels,
    starts_at=times,
    ends_at=times,
    generator_url=texts,
)
notifications = st.builds(
    Notification,
    source=st.sampled_from(["alertmanager", "sns"]),
    delivery_id=texts,
    group_key=texts,
    status=statuses,
    alerts=st.lists(alerts, max_size=3).map(tuple),
    common_labels=labels,
    common_annotations=labels,
    external_url=texts,
    truncated=st.integers(min_value=0, max_value=10**6),
    cluster=texts,
    severity=texts,
)


@given(notifications)
def test_a_notification_survives_the_codec_and_sqlite(n: Notification) -> None:
    text = notification_to_json(n)
    assert notification_from_json(text) == n
    db = sqlite3.connect(":memory:")  # the text is valid UTF-8 even with lone surrogates in labels
    assert db.execute("SELECT ?", (text,)).fetchone() == (text,)


def stored(**changes: Any) -> str:
    """A stored notification's text with some fields changed: each case below is wrong in one way only."""
    data = json.loads(notification_to_json(Notification("sns", "m1", "arn:alarm", "firing", ())))
    return json.dumps(data | changes)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "[]",
        stored(source="pagerduty"),
        stored(status="pending"),
        stored(truncated="0"),
        stored(truncated=True),
        stored(common_labels={"a": 1}),
        stored(delivery_id=None),
        stored(alerts=[{"status": "firing"}]),
    ],
)
def test_text_that_is_not_a_stored_notification_is_a_payload_error(text: str) -> None:
    assert notification_from_json(stored()) == Notification("sns", "m1", "arn:alarm", "firing", ())
    with pytest.raises(PayloadError):
        notification_from_json(text)


# --- settings and the factory ---------------------------------------------------------------------------


def test_the_stores_keep_alerts_where_alert_state_path_says(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert Settings().alert_state_path == Path("var/alerts.sqlite3")
    monkeypatch.setenv("ALERT_STATE_PATH", str(tmp_path / "state" / "alerts.db"))
    stores = build_stores(Settings())
    assert stores.alert_inbox.put("m1", "g1", "{}")
    assert stores.alert_groups.claim_new("g1", "C1", 1.0)
    assert ids(SqliteAlertInbox(tmp_path / "state" / "alerts.db").pending()) == ["m1"]
    assert SqliteAlertGroups(tmp_path / "state" / "alerts.db").get("g1") is not None


def test_an_alert_state_path_nobody_can_write_is_a_problem_at_start(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("ALERT_STATE_PATH", str(tmp_path / "a-file" / "alerts.sqlite3"))
    assert "ALERT_STATE_PATH" in [p.variable for p in Settings().problems()]
