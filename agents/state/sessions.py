"""Conversation memory: one Strands SessionManager per conversation id.

Behind `SessionStore` so several replicas can share memory (S3, DynamoDB) without the runner or the front
ends knowing; the local default is Strands' FileSessionManager under SESSION_STORAGE_PATH.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Protocol

from strands.session import FileSessionManager, SessionManager


class SessionStore(Protocol):
    """Where conversation memory lives; one SessionManager per conversation id."""

    def manager(self, conversation_id: str) -> SessionManager: ...


class FileSessionStore:
    """Local default: Strands' FileSessionManager under a folder (survives restarts)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def manager(self, conversation_id: str) -> SessionManager:
        return FileSessionManager(session_id=safe_id(conversation_id), storage_dir=str(self.root))


def safe_id(conversation_id: str) -> str:
    """Front-end ids such as "T1:C123:1700000000.000100" → a file-name-safe, still readable id."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", conversation_id)[:200] or "default"
