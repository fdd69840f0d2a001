"""The process's log setup: the agents' and the front end's chatty libraries are quiet unless DEBUG."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from agents.logs import LIBRARIES, setup_logging


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    names = (*LIBRARIES, "slack_bolt", "slack_sdk")
    levels = {n: logging.getLogger(n).level for n in names}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, old in levels.items():
        logging.getLogger(name).setLevel(old)


def test_front_end_libraries_are_quieted_with_the_agents_ones() -> None:
    setup_logging("INFO", also_quiet=("slack_bolt", "slack_sdk"))
    assert logging.getLogger("slack_bolt").level == logging.WARNING
    assert logging.getLogger("slack_sdk").level == logging.WARNING
    assert logging.getLogger("botocore").level == logging.WARNING
    assert logging.getLogger("strands").level == logging.CRITICAL
    assert logging.getLogger("mcp").level == logging.CRITICAL


def test_debug_keeps_every_library_talking() -> None:
    for name in ("strands", "slack_bolt"):
        logging.getLogger(name).setLevel(logging.NOTSET)
    setup_logging("DEBUG", also_quiet=("slack_bolt",))
    assert logging.getLogger("strands").level == logging.NOTSET
    assert logging.getLogger("slack_bolt").level == logging.NOTSET


def test_the_one_line_format_leaves_the_record_as_other_handlers_see_it() -> None:
    """A record goes to every handler (pytest's, a log shipper's): folding the exception into our one
    line must not change the message they get."""
    from agents.logs import _OneLine

    try:
        raise ValueError("corrupt session file")
    except ValueError:
        import sys

        record = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "could not recover %s", ("turn1",), sys.exc_info()
        )
    line = _OneLine(with_traceback=False).format(record)
    assert line.endswith("x: could not recover turn1 (ValueError: corrupt session file)")
    assert record.getMessage() == "could not recover turn1" and record.exc_info is not None
