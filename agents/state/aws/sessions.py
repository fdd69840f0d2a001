"""Conversation memory in S3: Strands' S3SessionManager under SESSION_BUCKET / SESSION_PREFIX.

The manager writes without conditions and numbers messages in process memory, so a thread must be
answered by one replica at a time (`ThreadLeases`) and re-read by the next one; that is the runner's.
Every manager uses the process's one S3 client: S3SessionManager makes its client from the boto3
session it is given, so it is given one that hands out the shared client.
"""

from __future__ import annotations

from typing import Any, cast

from strands.session import S3SessionManager, SessionManager

from agents.state.aws.table import client
from agents.state.sessions import safe_id


class _SharedClient:
    """Stands in for a boto3 Session: its `client()` is the process's S3 client, whatever is asked."""

    def __init__(self, s3: Any) -> None:
        self.s3 = s3

    def client(self, *args: Any, **kwargs: Any) -> Any:
        return self.s3


class S3SessionStore:
    """SessionStore over one bucket and prefix; conversation ids made safe as the file store does."""

    def __init__(self, bucket: str, prefix: str = "", s3: Any | None = None) -> None:
        self.bucket, self.prefix = bucket, prefix
        self.s3 = s3 if s3 is not None else client("s3")

    def manager(self, conversation_id: str) -> SessionManager:
        return S3SessionManager(
            session_id=safe_id(conversation_id),
            bucket=self.bucket,
            prefix=self.prefix,
            boto_session=cast(Any, _SharedClient(self.s3)),
        )
