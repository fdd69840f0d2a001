"""The audit log redacts what it is given: whatever a caller passes, no secret value reaches the file."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from agents.gate.audit import JsonlAuditLog
from agents.redact import REDACTED

SLACK_TOKEN = "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx"
AWS_KEY = "AKIAIOSFODNN7EXAMPLE"


def test_secret_values_never_reach_the_file_and_what_an_auditor_needs_stays(tmp_path: Path) -> None:
    log = JsonlAuditLog(tmp_path / "audit" / "audit.jsonl")
    log.write(
        "question",
        user="U1",
        question=f"why does {SLACK_TOKEN} fail? my key is {AWS_KEY}",  # pasted by a user: callers keep it
    )
    log.write(
        "tool_call",
        tool="manage_k8s_resource",
        arguments={
            "kind": "Secret",
            "name": "db",
            "body": {"kind": "Secret", "metadata": {"name": "db"}, "stringData": {"password": "hunter2"}},
            "env": [{"name": "DB_PASSWORD", "value": "s3cr3t-value"}],
        },
    )
    text = (tmp_path / "audit" / "audit.jsonl").read_text()
    for secret in (SLACK_TOKEN, AWS_KEY, "hunter2", "s3cr3t-value"):
        assert secret not in text
    question, call = log.records()
    assert question["event"] == "question" and question["user"] == "U1"
    assert question["question"] == f"why does {REDACTED} fail? my key is {REDACTED}"
    assert call["tool"] == "manage_k8s_resource" and call["arguments"]["name"] == "db"
    assert call["arguments"]["body"]["stringData"] == {"password": REDACTED}  # the key stays, its value not
    assert call["arguments"]["env"] == [{"name": "DB_PASSWORD", "value": REDACTED}]
    assert question["time"].endswith("+00:00")


def test_records_written_from_many_threads_stay_one_per_line(tmp_path: Path) -> None:
    log = JsonlAuditLog(tmp_path / "audit.jsonl")
    barrier = threading.Barrier(8)

    def writer(n: int) -> None:
        barrier.wait()  # all at once
        for i in range(50):
            log.write("tool_call", writer=n, i=i, padding="x" * 2000)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = (tmp_path / "audit.jsonl").read_text().splitlines()
    assert len(lines) == 400
    assert sorted((r["writer"], r["i"]) for r in map(json.loads, lines)) == [
        (n, i) for n in range(8) for i in range(50)
    ]
