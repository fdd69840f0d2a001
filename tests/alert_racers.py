"""Racers for tests/test_alert_store.py, in a module of their own: a spawned process imports only this
and the store (about 0.3 s), not the test module with pytest and hypothesis (about 3 s per process)."""

from __future__ import annotations

import multiprocessing
import threading
import uuid
from pathlib import Path
from typing import Any

from agents.state.alerts import SqliteAlertGroups

KEYS = [f'{{}}:{{alertname="Down{i}"}}' for i in range(40)]  # groupKey-like; several, so the races overlap
PROCESSES = 4


def one_racer(path: Path, barrier: Any, what: str) -> list[str]:
    """Its own connection, as another worker or replica has; released together with the others."""
    groups = SqliteAlertGroups(path)
    barrier.wait(timeout=60)
    if what == "claim":
        return [key for key in KEYS if groups.claim_new(key, "C1", 50.0)]
    if what == "record":  # each racer its own deliveries: every one must count
        return [groups.record(key, "firing", 60.0, f"{key}/{uuid.uuid4()}").group_key for key in KEYS]
    return [key for key in KEYS if groups.note_investigation(key)]


def _process_racer(path: str, barrier: Any, results: Any, what: str) -> None:
    results.put(one_racer(Path(path), barrier, what))


def race_threads(path: Path, what: str, racers: int = 8) -> list[list[str]]:
    """The keys each of `racers` threads won, every thread with its own store on `path`."""
    barrier = threading.Barrier(racers)
    won: list[list[str]] = [[] for _ in range(racers)]

    def run(i: int) -> None:
        won[i] = one_racer(path, barrier, what)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return won


def race_processes(path: Path, what: str) -> list[list[str]]:
    """The keys each of PROCESSES processes won (in-process locks cannot serialise these)."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(PROCESSES)
    results = context.Queue()
    processes = [
        context.Process(target=_process_racer, args=(str(path), barrier, results, what))
        for _ in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    won = [results.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    return won
