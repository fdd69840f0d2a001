"""An `AuditLog` that keeps its records in memory, as written (tests assert on exact fields)."""

from __future__ import annotations

from typing import Any


class Audit:
    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def write(self, event: str, **fields: Any) -> None:
        self.records.append({"event": event, **fields})
