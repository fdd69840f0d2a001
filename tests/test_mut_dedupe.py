"""Slack event dedupe (SqliteDedupe): each event key is answered once, within the TTL, across processes.

Written for mutation testing (tests/MUTATION.md): the end-to-end Slack tests only show that a redelivered
event gets no second answer; these pin the claim, the TTL sweep and the shared file.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from agents.state import claims as dedupe_module
from agents.state.claims import SqliteDedupe


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock(1_000_000.0)
    monkeypatch.setattr(dedupe_module.time, "time", fake.time)
    return fake


def test_a_key_is_claimed_once_and_other_keys_stay_free(tmp_path: Path) -> None:
    dedupe = SqliteDedupe(tmp_path / "events.sqlite3")
    assert dedupe.claim("Ev1") is True
    assert dedupe.claim("Ev1") is False
    assert dedupe.claim("Ev1") is False
    assert dedupe.claim("Ev2") is True


def test_the_store_file_is_created_with_its_folders(tmp_path: Path) -> None:
    path = tmp_path / "state" / "deep" / "events.sqlite3"
    SqliteDedupe(path).claim("Ev1")
    assert path.is_file()


def test_a_second_process_on_the_same_file_sees_the_claim(tmp_path: Path) -> None:
    """Two replicas on one host share the file: the second one does not answer the event again."""
    path = tmp_path / "events.sqlite3"
    first, second = SqliteDedupe(path), SqliteDedupe(path)
    assert first.claim("Ev1") is True
    assert second.claim("Ev1") is False
    first.close()
    assert SqliteDedupe(path).claim("Ev1") is False  # and a restart does not forget it


def test_concurrent_claims_of_one_key_have_one_winner(tmp_path: Path) -> None:
    dedupe = SqliteDedupe(tmp_path / "events.sqlite3")
    results: list[bool] = []
    barrier = threading.Barrier(8)

    def claim() -> None:
        barrier.wait(timeout=10)
        results.append(dedupe.claim("Ev1"))

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert sorted(results) == [False] * 7 + [True]


def test_the_default_ttl_is_an_hour(tmp_path: Path) -> None:
    assert SqliteDedupe(tmp_path / "events.sqlite3").ttl == 3600.0


def test_a_claim_older_than_the_ttl_is_swept_and_the_key_is_free_again(tmp_path: Path, clock: Clock) -> None:
    dedupe = SqliteDedupe(tmp_path / "events.sqlite3", ttl_seconds=600)
    assert dedupe.claim("Ev1")
    clock.now += 601  # past the TTL and past the sweep interval
    assert dedupe.claim("Ev1") is True


def test_a_claim_within_the_ttl_is_kept_by_the_sweep(tmp_path: Path, clock: Clock) -> None:
    dedupe = SqliteDedupe(tmp_path / "events.sqlite3", ttl_seconds=600)
    assert dedupe.claim("Ev1")
    clock.now += 599  # a sweep runs (more than 60 s since the last), but Ev1 is not yet due
    assert dedupe.claim("Ev2")
    assert dedupe.claim("Ev1") is False


def test_a_claim_exactly_ttl_old_is_still_kept(tmp_path: Path, clock: Clock) -> None:
    dedupe = SqliteDedupe(tmp_path / "events.sqlite3", ttl_seconds=600)
    assert dedupe.claim("Ev1")
    clock.now += 600
    assert dedupe.claim("Ev1") is False


def test_the_sweep_runs_at_most_once_a_minute(tmp_path: Path, clock: Clock) -> None:
    """Between sweeps an expired claim still counts: the sweep is batched, not run on every claim."""
    dedupe = SqliteDedupe(tmp_path / "events.sqlite3", ttl_seconds=30)
    assert dedupe.claim("Ev1")  # the first claim sweeps (none before): the next sweep is 60 s later
    clock.now += 40  # Ev1 is 40 s old, past its TTL, but the last sweep was only 40 s ago
    assert dedupe.claim("Ev1") is False
    clock.now += 20  # exactly 60 s after the sweep: still not more than a minute
    assert dedupe.claim("Ev1") is False
    clock.now += 1  # 61 s: the sweep runs and Ev1 (61 s old) is gone
    assert dedupe.claim("Ev1") is True


def test_a_store_whose_last_sweep_is_recent_does_not_sweep(tmp_path: Path, clock: Clock) -> None:
    dedupe = SqliteDedupe(tmp_path / "events.sqlite3", ttl_seconds=10)
    assert dedupe.claim("Ev1")
    clock.now += 11
    assert dedupe.claim("Ev2")  # 11 s after the first sweep: no sweep yet, Ev1 stays claimed
    assert dedupe.claim("Ev1") is False
