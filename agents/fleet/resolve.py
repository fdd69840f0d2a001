"""Which cluster a question is about, decided in code before any model sees it.

The order (the issue's contract): a `--cluster NAME` flag, else the clusters named in the question (all
of them, in order of mention, so "compare prod and staging" reaches both), else the cluster the thread
was already about, else the one the front end binds to the place the question was asked in, else the
fleet's default. A name matches only as a
whole word, case-insensitively: "production" is not "prod", "kube-prod" is not "prod". Free text never
errs (an unknown word is just a word); an unknown cluster given with the flag does, listing the known.
A front end with a `--cluster` option of its own (a command line) passes its values as `flagged`: they
are the same flag, not text glued onto the question.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from agents.fleet.config import Fleet

# "place": the cluster the front end binds to where the question was asked. The seam: a chat front end
# maps its channel to a cluster with keys of its own in the fleet file; the agents see only the result.
Source = Literal["flag", "question", "thread", "place", "default"]

# `--cluster prod`, `--cluster=prod`, and `-c prod` is deliberately not one: `-c` means too much already.
FLAG = re.compile(r"(?<!\S)--cluster(?:=|\s+)(?P<name>\S*)", re.IGNORECASE)
# Punctuation a flag's value may carry in prose: "--cluster prod," or "`--cluster prod`".
TRAILING = "`'\".,;:!?)]}"
# "default namespace", "namespace monitoring", "-n dev": a namespace that shares a cluster's name.
NAMESPACE_BEFORE = re.compile(r"(?:\bnamespaces?|\bns|(?<!\S)-n|--namespace=?)\s*$", re.IGNORECASE)
NAMESPACE_AFTER = re.compile(r"^\s*(?:namespaces?|ns)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Resolution:
    """The clusters a question is about (fleet names, in order of mention) and what decided them.

    `error` is set only for an unknown `--cluster`; then `clusters` is empty and the answer is the error.
    """

    clusters: tuple[str, ...]
    source: Source
    error: str | None = None

    @property
    def cluster(self) -> str:
        """The first (for one-cluster questions, the only) cluster; raises on an error resolution."""
        if not self.clusters:
            raise ValueError(self.error or "no cluster resolved")
        return self.clusters[0]


def resolve(
    fleet: Fleet[Any],
    text: str,
    *,
    thread_cluster: str | None,
    place_cluster: str | None,
    flagged: Sequence[str] = (),
) -> Resolution:
    """The clusters `text` is about, by the order in the module docstring; never one outside `fleet`.

    `thread_cluster` and `place_cluster` are fleet names (a name the file no longer has falls through).
    `flagged` are `--cluster` values given apart from the text; they come before the text's own flags.
    """
    flag = flag_resolution(fleet, [*flagged, *flag_values(text)])
    if flag is not None:
        return flag
    named = mentioned(fleet, text)
    if named:
        return Resolution(named, "question")
    if thread_cluster in fleet.clusters:  # a thread's cluster the file no longer has falls through
        return Resolution((str(thread_cluster),), "thread")
    if place_cluster in fleet.clusters:
        return Resolution((str(place_cluster),), "place")
    return Resolution((fleet.default_cluster,), "default")


def flag_values(text: str) -> list[str]:
    """The values of the `--cluster` flags written in `text`, in order."""
    return [m.group("name") for m in FLAG.finditer(text)]


def flag_resolution(fleet: Fleet[Any] | None, values: Sequence[str]) -> Resolution | None:
    """The clusters given with `--cluster` (None when none was); one unknown value makes it an error.

    Values match fleet names case-insensitively, as a name in the question does. Without a fleet (the
    settings name no cluster at all) every value is unknown.
    """
    names = [v.strip().strip(TRAILING).lower() for v in values]
    if not names:
        return None
    unknown = [n for n in names if fleet is None or n not in fleet.clusters]
    if unknown:
        shown = unknown[0] or "(nothing)"
        known = (
            fleet.known()
            if fleet is not None
            else "none (this bot has no CLUSTERS_FILE, DEFAULT_CLUSTER or kubeconfig current-context)"
        )
        return Resolution(
            (), "flag", f"There is no cluster {shown!r} in this bot's fleet. Known clusters: {known}."
        )
    return Resolution(tuple(dict.fromkeys(names)), "flag")


def mentioned(fleet: Fleet[Any], text: str) -> tuple[str, ...]:
    """The fleet's clusters named in `text` as whole words, in order of first mention."""
    found: list[tuple[int, str]] = []
    for name in fleet.clusters:
        for match in _word(name).finditer(text):
            if not _is_namespace(text, match.start(), match.end()):
                found.append((match.start(), name))
                break
    return tuple(name for _, name in sorted(found))


def _word(name: str) -> re.Pattern[str]:
    """`name` as a whole word: not inside a longer word, a hyphenated name, or a dotted host name.

    "prod's", "prod," and "`prod`" match; "production", "kube-prod", "prod-eu", "prod_1", "db.prod" and
    "prod.example.com" do not (a trailing full stop, "in prod.", still does).
    """
    return re.compile(rf"(?<![\w.-]){re.escape(name)}(?![\w-]|\.\w)", re.IGNORECASE)


def _is_namespace(text: str, start: int, end: int) -> bool:
    return bool(NAMESPACE_BEFORE.search(text[:start]) or NAMESPACE_AFTER.match(text[end:]))
