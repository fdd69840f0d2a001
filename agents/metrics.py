"""Prometheus metrics of the bot (served on /metrics by the health server of `sre-bot run`).

One private registry, so tests and several bots in one process never collide with the default one.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

QUESTIONS = Counter("sre_bot_questions", "Questions received", registry=REGISTRY)
TOOL_CALLS = Counter(
    "sre_bot_tool_calls",
    "Tool calls by tool, outcome and cluster (a fleet name, or (none))",
    ["tool", "outcome", "cluster"],
    registry=REGISTRY,
)
ERRORS = Counter(
    "sre_bot_errors",
    "Answers that ended in an error, by kind and cluster (the request's fleet names, comma-joined, or (none))",
    ["kind", "cluster"],
    registry=REGISTRY,
)
APPROVALS = Counter("sre_bot_approvals", "Approval outcomes", ["outcome"], registry=REGISTRY)
FIRST_REPLY = Histogram(
    "sre_bot_first_reply_seconds",
    "From a question's arrival to the first visible reply",
    buckets=(0.05, 0.1, 0.2, 0.3, 0.5, 1, 2, 5),
    registry=REGISTRY,
)
ANSWER = Histogram(
    "sre_bot_answer_seconds",
    "From a question to its complete answer",
    buckets=(1, 2, 5, 10, 20, 30, 60, 120, 300),
    registry=REGISTRY,
)
