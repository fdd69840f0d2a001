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
