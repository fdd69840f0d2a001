"""Append-only audit log: one JSON line per question, tool call, approval decision and execution.

Local default is a file at AUDIT_LOG_PATH (ship it with the pod's logs or a sidecar); several replicas
append to their own file or implement `AuditLog` over a shared sink. Every record is redacted here, whatever
the caller already did: the log is a place secrets must never reach.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from pathlib import Path
from typing import Any, Protocol

from agents.redact import redact


class AuditLog(Protocol):
    def write(self, event: str, **fields: Any) -> None: ...


class JsonlAuditLog:
    """Appends with O_APPEND and one write per record, so lines from threads never interleave."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def write(self, event: str, **fields: Any) -> None:
        record = {
            "time": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
            "event": event,
            **redact(fields),
        }
        line = json.dumps(record, default=str, ensure_ascii=False) + "\n"
        with self._lock, self.path.open("a", encoding="utf-8") as handle:
            handle.write(line)

    def records(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [
            json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines() if line.strip()
        ]


class NullAuditLog:
    def write(self, event: str, **fields: Any) -> None:
        return None
