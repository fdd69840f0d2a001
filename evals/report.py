"""The report of one eval run (one model): JSON to keep and compare, Markdown to read.

Pass rate overall and by tag, with its spread over `--runs` (the pass rate of each run's round of cases:
min, max and standard deviation), median and p95 latency per case, tokens in/out and (with prices given)
estimated cost per case, and tool calls per case. `compare` puts two reports side by side and lists the
cases whose outcome changed.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evals.cases import Case
from evals.run import Outcome
from evals.score import Score, tool_calls

VERSION = 1


@dataclass(frozen=True)
class Prices:
    """USD per million tokens in and out (the provider's price list: the bot does not guess prices)."""

    tokens_in: float
    tokens_out: float


def _percentile(values: Sequence[float], q: float) -> float:
    """Nearest rank: the smallest value with at least `q` of the values at or under it (p95 of 34 runs is
    the 33rd fastest, so at most one run, under 5%, took longer)."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    rank = math.ceil(round(q * len(ordered), 9))  # 0.95 × 20 is 18.999…: still rank 19
    return ordered[min(len(ordered), max(1, rank)) - 1]


def build(
    model: str,
    cases: Sequence[Case],
    results: Sequence[tuple[Outcome, Score]],
    runs: int,
    *,
    scripted: bool = False,
    prices: Prices | None = None,
    judge: dict[str, Any] | None = None,
    world: str = "offline",
) -> dict[str, Any]:
    """The JSON report of one run over `cases`; `world`: `offline`, or `live:CONTEXT` (a real cluster)."""
    by_case: dict[str, list[tuple[Outcome, Score]]] = {}
    for outcome, score in results:
        by_case.setdefault(outcome.case, []).append((outcome, score))
    tags = {c.id: c.tag_names for c in cases}
    rounds = [
        [s.passed for o, s in results if o.run == r] for r in range(1, runs + 1)
    ]  # each round: every case once
    rates = [sum(r) / len(r) for r in rounds if r]
    outcomes = [o for o, _ in results]
    n = max(1, len(outcomes))
    tokens_in = sum(o.tokens_in for o in outcomes) / n
    tokens_out = sum(o.tokens_out for o in outcomes) / n
    summary = {
        "pass_rate": sum(s.passed for _, s in results) / max(1, len(results)),
        "spread": {
            "min": min(rates, default=0.0),
            "max": max(rates, default=0.0),
            "stdev": statistics.pstdev(rates) if len(rates) > 1 else 0.0,
        },
        "latency_median_s": statistics.median([o.seconds for o in outcomes]) if outcomes else 0.0,
        "latency_p95_s": _percentile([o.seconds for o in outcomes], 0.95),
        "tokens_in_per_case": tokens_in,
        "tokens_out_per_case": tokens_out,
        "cost_per_case_usd": (
            (tokens_in * prices.tokens_in + tokens_out * prices.tokens_out) / 1e6 if prices else None
        ),
        "tool_calls_per_case": sum(tool_calls(o) for o in outcomes) / n,
    }
    by_tag: dict[str, dict[str, Any]] = {}
    for tag in sorted({t for ts in tags.values() for t in ts}):
        scored = [s for o, s in results if tag in tags.get(o.case, [])]
        by_tag[tag] = {
            "pass_rate": sum(s.passed for s in scored) / max(1, len(scored)),
            "cases": len({s.case for s in scored}),
        }
    return {
        "version": VERSION,
        "model": model,
        "scripted": scripted,  # the CI model: checks the harness and cases, not a quality figure
        "world": world,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cases": len(cases),
        "runs": runs,
        "summary": summary,
        "by_tag": by_tag,
        "results": [
            {
                "case": case_id,
                "tags": tags.get(case_id, []),
                "pass_rate": sum(s.passed for _, s in pairs) / len(pairs),
                "runs": [{**s.to_json(), "outcome": o.to_json()} for o, s in pairs],
            }
            for case_id, pairs in sorted(by_case.items())
        ],
        **({"judge": judge} if judge is not None else {}),
    }


def _live(report: dict[str, Any]) -> bool:
    return str(report.get("world", "offline")).startswith("live:")


def _pct(value: float) -> str:
    return f"{100 * value:.0f}%"


def markdown(report: dict[str, Any]) -> str:
    """The report as Markdown: the model's table, by tag, and each failing case with its reasons."""
    s = report["summary"]
    cost = s["cost_per_case_usd"]
    spread = s["spread"]
    lines = [
        f"## {report['model']}"
        + (" (scripted: checks the harness, not a model)" if report["scripted"] else ""),
        "",
        f"{report['cases']} cases × {report['runs']} run(s), {report['date']}"
        + (f", against the cluster of context {report['world'].split(':', 1)[1]}" if _live(report) else ""),
        "",
        "| metric | value |",
        "|---|---|",
        f"| pass rate | {_pct(s['pass_rate'])} (runs: {_pct(spread['min'])}–{_pct(spread['max'])}, "
        f"sd {100 * spread['stdev']:.1f} pts) |",
        f"| latency median / p95 | {s['latency_median_s']:.1f} s / {s['latency_p95_s']:.1f} s |",
        f"| tokens in / out per case | {s['tokens_in_per_case']:,.0f} / {s['tokens_out_per_case']:,.0f} |",
        f"| estimated cost per case | {f'${cost:.4f}' if cost is not None else '— (give --price-in/--price-out)'} |",
        f"| tool calls per case | {s['tool_calls_per_case']:.1f} |",
        "",
        "| tag | pass rate | cases |",
        "|---|---|---|",
        *(f"| {tag} | {_pct(v['pass_rate'])} | {v['cases']} |" for tag, v in report["by_tag"].items()),
    ]
    failing = [r for r in report["results"] if r["pass_rate"] < 1]
    if failing:
        lines += ["", "Failing cases:", ""]
        for r in failing:
            reasons = sorted(
                {f"{c['name']}: {c['detail']}" for run in r["runs"] for c in run["checks"] if not c["ok"]}
            )
            lines.append(f"- `{r['case']}` ({_pct(r['pass_rate'])}): " + "; ".join(reasons))
    judge = report.get("judge")
    if judge:
        lines += [
            "",
            f"LLM judge ({judge['model']}, reported apart): {_pct(judge['pass_rate'])} of "
            f"{judge['judged']} judged run(s)",
        ]
        failed = [v for v in judge.get("verdicts", []) if not v["passed"]]
        if failed:
            lines += ["", *(f"- `{v['case']}` (run {v['run']}): {v['reason']}" for v in failed)]
    return "\n".join(lines) + "\n"


class ReportError(ValueError):
    """A report file that cannot be compared: one line naming it."""


def load_report(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ReportError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise ReportError(f"{path}: not a JSON report: {exc}") from None
    if not _is_report(data):
        raise ReportError(f"{path}: not an `sre-bot eval --out` report (version {VERSION})")
    return data


def _is_report(data: Any) -> bool:
    """The version, and the parts `compare` reads with the types `build` writes them."""
    return (
        isinstance(data, dict)
        and data.get("version") == VERSION
        and isinstance(data.get("model"), str)
        and isinstance(data.get("summary"), dict)
        and isinstance(data.get("by_tag"), dict)
        and all(isinstance(v, dict) and "pass_rate" in v for v in data["by_tag"].values())
        and isinstance(data.get("results"), list)
        and all(isinstance(r, dict) and "case" in r and "pass_rate" in r for r in data["results"])
    )


def compare(a: dict[str, Any], b: dict[str, Any]) -> str:
    """Two reports side by side (b − a), then the cases whose pass rate changed."""
    sa, sb = a["summary"], b["summary"]

    def row(name: str, key: str, fmt: str, scale: float = 1.0) -> str:
        va, vb = sa.get(key), sb.get(key)
        if va is None or vb is None:  # e.g. a cost in one report only: each figure as the other rows show it
            shown = [f"{v * scale:{fmt}}" if v is not None else "—" for v in (va, vb)]
            return f"| {name} | {shown[0]} | {shown[1]} | |"
        delta = (vb - va) * scale
        return f"| {name} | {va * scale:{fmt}} | {vb * scale:{fmt}} | {delta:+{fmt}} |"

    worlds = [str(r.get("world", "offline")) for r in (a, b)]
    lines = (
        [f"Not comparable as they stand: a ran {worlds[0]}, b ran {worlds[1]}.", ""]
        if len(set(worlds)) > 1
        else []
    )
    lines += [
        f"| metric | a: {a['model']} | b: {b['model']} | b − a |",
        "|---|---|---|---|",
        row("pass rate (%)", "pass_rate", ".0f", 100),
        row("latency median (s)", "latency_median_s", ".1f"),
        row("latency p95 (s)", "latency_p95_s", ".1f"),
        row("tokens in per case", "tokens_in_per_case", ",.0f"),
        row("tokens out per case", "tokens_out_per_case", ",.0f"),
        row("cost per case (USD)", "cost_per_case_usd", ".4f"),
        row("tool calls per case", "tool_calls_per_case", ".1f"),
    ]
    tags = sorted(set(a["by_tag"]) | set(b["by_tag"]))
    lines += ["", "| tag | a | b |", "|---|---|---|"]
    for tag in tags:
        ta, tb = a["by_tag"].get(tag), b["by_tag"].get(tag)
        lines.append(
            f"| {tag} | {_pct(ta['pass_rate']) if ta else '—'} | {_pct(tb['pass_rate']) if tb else '—'} |"
        )
    ra = {r["case"]: r["pass_rate"] for r in a["results"]}
    rb = {r["case"]: r["pass_rate"] for r in b["results"]}
    changed = [
        f"- `{c}`: {_pct(ra[c]) if c in ra else 'absent'} → {_pct(rb[c]) if c in rb else 'absent'}"
        for c in sorted(set(ra) | set(rb))
        if ra.get(c) != rb.get(c)
    ]
    lines += ["", "Cases that changed:" if changed else "No case changed.", *changed]
    return "\n".join(lines) + "\n"
