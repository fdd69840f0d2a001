"""Append-only audit log: one JSON line per question, tool call, approval decision and execution.

Local default is a file at AUDIT_LOG_PATH; `AUDIT_LOG_PATH=-` writes the same JSON lines to standard output
instead, for a cluster's log pipeline (replicas share no disk; the bot's own logs go to standard error).
Every record is redacted here, whatever the caller already did: the log is a place secrets must never reach.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import threading
from pathlib import Path
from typing import Any, Protocol, TextIO

from agents.redact import redact


class AuditLog(Protocol):
    def write(self, event: str, **fields: Any) -> None: ...


STDOUT = Path("-")


def audit_line(event: str, fields: dict[str, Any]) -> str:
    """One record as a JSON line: the time, the event, and the fields redacted."""
    record = {
        "time": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
        "event": event,
        **redact(fields),
    }
    return json.dumps(record, default=str, ensure_ascii=False) + "\n"


def open_audit_log(path: Path) -> AuditLog:
    """The audit log AUDIT_LOG_PATH names: a file, or standard output for `-`."""
    return StreamAuditLog(sys.stdout) if path == STDOUT else JsonlAuditLog(path)


class JsonlAuditLog:
    """Appends with O_APPEND and one write per record, so lines from threads never interleave."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def write(self, event: str, **fields: Any) -> None:
        line = audit_line(event, fields)
        with self._lock, self.path.open("a", encoding="utf-8") as handle:
            handle.write(line)

    def records(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [
            json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines() if line.strip()
        ]


class StreamAuditLog:
    """JSON lines on a stream (standard output): one write and a flush per record, under a lock, so a
    record is never split by another thread's nor held back in a buffer when the pod stops."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._lock = threading.Lock()

    def write(self, event: str, **fields: Any) -> None:
        line = audit_line(event, fields)
        with self._lock:
            self.stream.write(line)
            self.stream.flush()


class NullAuditLog:
    def write(self, event: str, **fields: Any) -> None:
        return None
