"""Logging set-up: one-line records on the terminal; tracebacks only at DEBUG.

Libraries (Strands, the MCP client) log exceptions with tracebacks on paths we already handle and turn
into a clear message; users must not see those as if the bot had crashed.
"""

from __future__ import annotations

import logging
import sys


class _OneLine(logging.Formatter):
    def __init__(self, with_traceback: bool) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.with_traceback = with_traceback

    def format(self, record: logging.LogRecord) -> str:
        if self.with_traceback:
            return super().format(record)
        # the record is shared with every other handler (pytest's, a log shipper's): change it only here
        saved = record.msg, record.exc_info, record.exc_text, record.stack_info
        if record.exc_info and record.exc_info[1] is not None:
            record.msg = f"{record.msg} ({type(record.exc_info[1]).__name__}: {record.exc_info[1]})"
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        try:
            return super().format(record).replace("\n", " ⏎ ")
        finally:
            record.msg, record.exc_info, record.exc_text, record.stack_info = saved


LIBRARIES = ("strands", "mcp", "botocore", "urllib3", "httpx", "asyncio")
"""The agents' libraries, chatty at INFO; a front end adds its own (`also_quiet`)."""


def setup_logging(
    level: str = "INFO", quiet_libraries: bool = True, also_quiet: tuple[str, ...] = ()
) -> None:
    """Configure the root logger once; `level` is LOG_LEVEL."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLine(with_traceback=level == "DEBUG"))
    root.addHandler(handler)
    root.setLevel(level)
    if quiet_libraries and level != "DEBUG":
        for name in (*LIBRARIES, *also_quiet):
            logging.getLogger(name).setLevel(
                logging.CRITICAL if name in ("strands", "mcp") else logging.WARNING
            )
