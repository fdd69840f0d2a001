"""Translate Strands' raw stream dicts (including specialists' nested events) into typed events.

Tool steps are read from the messages the agents add: an assistant message with toolUse blocks means
those calls are about to run; the next toolResult message means they finished. Specialists' events arrive
wrapped in `tool_stream_event` by the agent-as-tool adapter and are translated recursively.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from agents.capabilities import by_name
from agents.events import (
    COORDINATOR,
    AgentEvent,
    CapabilityNotice,
    ChartReady,
    TextDelta,
    ToolFinished,
    ToolStarted,
)
from agents.failures import classify_tool_error
from agents.gate.arguments import coerce_arguments
from agents.redact import redact

MAX_SUMMARY = 90
MAX_QUERY_SUMMARY = 200  # a step that shows a query (PromQL): the query is what a person checks


def _clip(text: str, limit: int = MAX_SUMMARY) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _plural(kind: str) -> str:
    """`Pod` -> `pods`, `Ingress` -> `ingresses`, `NetworkPolicy` -> `network policies` (for step lines)."""
    words = " ".join(re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+", kind)).lower() or "resources"
    if words.endswith(("s", "x", "ch", "sh")):
        return words + "es"
    if words.endswith("y") and words[-2:-1] not in "aeiou":
        return words[:-1] + "ies"
    return words + "s"


_VERBS = {
    "read": "Reading",
    "create": "Creating",
    "replace": "Replacing",
    "patch": "Changing",
    "delete": "Deleting",
}


def summarize_call(tool: str, args: Any, agent: str | None = None) -> str:
    """A step line in plain words for the person watching the reply, e.g. "Listing pods in default".

    A capability may word its own tools' steps (`Capability.step`: the metrics one shows the PromQL);
    `agent` is the specialist that makes the call.
    """
    if not isinstance(args, dict):
        return _clip(f"Running {_words(tool)}: {args}")
    own = by_name(agent) if agent else None
    if own is not None and own.step is not None and (line := own.step(tool, args)):
        return _clip(line, MAX_QUERY_SUMMARY)
    ns = args.get("namespace")
    where = f" in {ns}" if ns else ""
    specialist = by_name(tool)
    if specialist is not None and "query" in args:
        return _clip(f"{specialist.asking}: {args['query']}")
    if "query" in args and len(args) == 1:
        return _clip(str(args["query"]))
    if tool == "list_k8s_resources":
        selector = args.get("label_selector") or args.get("field_selector")
        return _clip(
            f"Listing {_plural(str(args.get('kind') or ''))}{where or ' in all namespaces'}"
            + (f" ({selector})" if selector else "")
        )
    if tool == "get_pod_logs":
        return _clip(f"Reading the logs of pod {args.get('pod_name', '?')}{where}")
    if tool == "get_k8s_events":
        subject = f"{args.get('kind', '')} {args.get('name', '')}".strip()
        return _clip(f"Reading the events of {subject or 'the cluster'}{where}")
    if tool == "manage_k8s_resource":
        operation = str(args.get("operation", ""))
        verb = _VERBS.get(operation, f"Running {operation or '?'} on")
        return _clip(f"{verb} {args.get('kind', '')} {args.get('name') or ''}".rstrip() + where)
    if tool == "get_cloudwatch_logs":
        # A Logs Insights query is billed per GB scanned: say what it scans.
        subject = (
            f" of {args.get('resource_type', '')} {args['resource_name']}"
            if args.get("resource_name")
            else ""
        )
        window = (
            f"{args['start_time']} to {args.get('end_time') or 'now'}"
            if args.get("start_time")
            else f"last {args.get('minutes', 15)} min"
        )
        return _clip(
            f"Searching CloudWatch Logs Insights (paid): {args.get('log_type', '?')} logs{subject}, "
            f"{window}, ≤{args.get('limit', 50)} rows",
            120,
        )
    if "operation" in args:
        rest = {k: v for k, v in args.items() if k != "operation"}
        return _clip(
            f"Running {_words(tool)} {args['operation']}"
            + (": " + ", ".join(f"{k}={v}" for k, v in rest.items()) if rest else "")
        )
    return _clip(
        f"Running {_words(tool)}" + (": " + ", ".join(f"{k}={v}" for k, v in args.items()) if args else "")
    )


def _words(tool: str) -> str:
    """A tool's name as words: `get_cost_and_usage` -> `get cost and usage`, `cost-explorer` likewise."""
    return tool.replace("_", " ").replace("-", " ")


# A failed step's detail is a short reason, not a client's error text (the answer's note has the rest).
_FAILURE_REASONS = {
    "unreachable": "could not reach the service",
    "credentials": "the credentials were refused",
    "server_down": "the tool's server is not running",
}


def _result_detail(block: dict[str, Any]) -> str:
    for item in block.get("content", []) or []:
        if isinstance(item, dict) and "text" in item:
            return _clip(str(item["text"]).replace('<untrusted-data source="', "").split('">', 1)[-1], 160)
    return ""


def _short_reason(detail: str, failure: str) -> str:
    """A failed step's reason in a few words: the known kinds named, others their first sentence."""
    if failure in _FAILURE_REASONS:
        return _FAILURE_REASONS[failure]
    first = re.split(
        r"(?<=[.!?])\s|\n|: (?=[A-Z][A-Za-z]+(?:Error|Exception|Pool)\b)", detail.strip(), maxsplit=1
    )[0]
    return _clip(first, 120)


def _chart(agent: str, tool: str, block: dict[str, Any]) -> Iterator[ChartReady]:
    """The chart a specialist's result can be drawn as, by its capability's rule (none for most)."""
    capability = by_name(agent)
    if capability is None or capability.chart is None:
        return
    chart = capability.chart(tool, _result_text(block))
    if chart is not None:
        yield ChartReady(chart, agent)


def _result_text(block: dict[str, Any]) -> str:
    return "\n".join(
        str(item["text"])
        for item in block.get("content", []) or []
        if isinstance(item, dict) and "text" in item
    )


def translate(
    raw: dict[str, Any], agent: str = COORDINATOR, names: dict[str, str] | None = None
) -> Iterator[AgentEvent]:
    """Yield the typed events in one raw Strands event; `names` maps toolUseId → tool name."""
    names = {} if names is None else names
    if "data" in raw and isinstance(raw["data"], str) and not raw.get("reasoning"):
        if raw["data"]:
            yield TextDelta(raw["data"], agent)
        return
    if "capability_unavailable" in raw:
        info = raw["capability_unavailable"]
        yield CapabilityNotice(info["capability"], info["reason"])
        return
    tse = raw.get("tool_stream_event")
    if isinstance(tse, dict):
        data = tse.get("data")
        sub_agent = str((tse.get("tool_use") or {}).get("name") or agent)
        if isinstance(data, dict):
            yield from translate(data, sub_agent, names)
        return
    message = raw.get("message")
    if isinstance(message, dict):
        for block in message.get("content", []) or []:
            if "toolUse" in block:
                use = block["toolUse"]
                names[use["toolUseId"]] = use["name"]
                shown = redact(coerce_arguments(use.get("input")))  # step lines are shown to people
                yield ToolStarted(
                    use["toolUseId"], agent, use["name"], summarize_call(use["name"], shown, agent)
                )
            elif "toolResult" in block:
                res = block["toolResult"]
                tool_id = res.get("toolUseId", "")
                failed = res.get("status") == "error"
                failure = classify_tool_error(_result_text(res)) if failed else ""
                detail = _result_detail(res) if failed else ""
                tool = names.get(tool_id, "tool")
                yield ToolFinished(
                    tool_id,
                    agent,
                    tool,
                    ok=not failed,
                    detail=detail,
                    failure=failure,
                    reason=_short_reason(detail, failure) if failed else "",
                )
                if not failed:
                    yield from _chart(agent, tool, res)
