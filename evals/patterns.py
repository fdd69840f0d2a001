"""The regexes of case files (findings, quotes, forbidden patterns, live waits), checked and run by one
engine with a time limit: a case file may be someone else's, and a pattern that backtracks for ever must
not hang a run (Python's `re` cannot be interrupted, not even by Ctrl-C)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import regex

logger = logging.getLogger(__name__)

SECONDS = 1.0  # per search: far more than any sane pattern needs over an answer or an object


def check(pattern: str) -> str:
    """The pattern, if it compiles; ValueError saying why not."""
    try:
        regex.compile(pattern)
    except regex.error as exc:
        raise ValueError(f"not a regular expression ({exc}): {pattern!r}") from None
    return pattern


def search(pattern: str, text: str, *, ignore_case: bool = False, seconds: float | None = None) -> Any:
    """The first match, or None; a search over its time counts as no match (and is logged)."""
    seconds = SECONDS if seconds is None else seconds
    try:
        return regex.search(pattern, text, regex.IGNORECASE if ignore_case else 0, timeout=seconds)
    except TimeoutError:
        logger.warning("a case's regex took over %.1f s and counts as no match: %s", seconds, pattern[:80])
        return None


def finditer(
    pattern: str, text: str, *, ignore_case: bool = False, seconds: float = SECONDS
) -> Iterator[Any]:
    """Every match, stopping (logged) when the search runs over its time."""
    try:
        yield from regex.finditer(pattern, text, regex.IGNORECASE if ignore_case else 0, timeout=seconds)
    except TimeoutError:
        logger.warning("a case's regex took over %.1f s; matches so far kept: %s", seconds, pattern[:80])
