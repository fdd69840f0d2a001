"""The audit log redacts what it is given: whatever a caller passes, no secret value reaches the file."""

from __future__ import annotations

import io
import json
import threading
from pathlib import Path

import pytest

from agents.gate.audit import JsonlAuditLog, StreamAuditLog, open_audit_log
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


def test_audit_log_path_dash_writes_redacted_json_lines_to_standard_output(
    agent_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Replicas share no disk: `AUDIT_LOG_PATH=-` sends the records to the pod's log pipeline, on standard
    output (the bot's own logs are on standard error), redacted like the file, and writes no file."""
    workdir = tmp_path / "work"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    monkeypatch.setenv("AUDIT_LOG_PATH", "-")
    from agents.settings import load_settings

    settings = load_settings()
    assert not [p for p in settings.problems() if p.variable == "AUDIT_LOG_PATH"]
    log = open_audit_log(settings.audit_log_path)
    log.write("question", user="U1", question=f"is {SLACK_TOKEN} valid?")
    log.write("tool_call", tool="list_k8s_resources", arguments={"kind": "Pod"})
    out, err = capsys.readouterr()
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["event"] for r in records] == ["question", "tool_call"] and err == ""
    assert SLACK_TOKEN not in out and records[0]["question"] == f"is {REDACTED} valid?"
    assert not (workdir / "-").exists() and not (workdir / "var" / "audit.jsonl").exists()


def test_records_from_many_threads_stay_whole_lines_on_a_stream() -> None:
    """Threads write at once (each tool call audits from its worker thread): no record is split."""
    stream = io.StringIO()
    log = StreamAuditLog(stream)

    def writer(n: int) -> None:
        for i in range(150):
            log.write("tool_call", thread=n, i=i, output="x" * 3000)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 8 * 150
    assert {(r["thread"], r["i"]) for r in map(json.loads, lines)} == {
        (n, i) for n in range(8) for i in range(150)
    }
