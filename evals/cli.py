"""`sre-bot eval`: run the cases through the real bot with the configured model and print the report.

Kept apart from frontends/cli.py (which only parses and hands over) so the benchmark's pieces load only
when it runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import threading
from typing import TextIO

from agents.models import build_model, retry_strategy
from agents.settings import ConfigError
from evals import judge as judging
from evals.cases import Case, CaseError, load_cases
from evals.live import LiveError, LiveWorld
from evals.prometheus import PrometheusMissing
from evals.report import Prices, ReportError, build, compare, load_report, markdown
from evals.run import SCRIPTED_SETTINGS, Outcome, Suite
from evals.score import Score, score
from evals.scripted import ScriptHolder, scripted_models
from evals.world import OfflineWorld, WorldError

EXIT_PASSED = 0
EXIT_FAILED = 1  # a case failed (--scripted), or the pass rate is under --min-pass-rate
EXIT_CONFIG = 2  # a bad case file, report, setting or option


def main(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run (or compare) as the options say; returns the exit code. Problems are one line on `err`."""
    out, err = out or sys.stdout, err or sys.stderr
    if args.compare:
        try:
            a, b = (load_report(p) for p in args.compare)
        except ReportError as exc:
            err.write(f"sre-bot eval: {exc}\n")
            return EXIT_CONFIG
        out.write(compare(a, b))
        return EXIT_PASSED
    if args.runs < 1:
        err.write("sre-bot eval: --runs must be 1 or more\n")
        return EXIT_CONFIG
    if (args.price_in is None) != (args.price_out is None):
        err.write("sre-bot eval: give both --price-in and --price-out, or neither\n")
        return EXIT_CONFIG
    tags = [t.strip() for spec in args.tags for t in spec.split(",") if t.strip()]
    try:
        cases = load_cases(args.cases, tags)
    except CaseError as exc:
        err.write(f"sre-bot eval: {exc}\n")
        return EXIT_CONFIG
    if not cases:
        err.write(f"sre-bot eval: no case in {args.cases} has the tags {', '.join(tags)}\n")
        return EXIT_CONFIG
    if args.live:
        offline = [c.id for c in cases if c.live is None]
        cases = [c for c in cases if c.live is not None]
        if not cases:
            err.write(f"sre-bot eval: --live: no case in {args.cases} has a live block\n")
            return EXIT_CONFIG
        if offline:
            err.write(f"- {len(offline)} case(s) without a live block left out: {', '.join(offline)}\n")
    try:
        return asyncio.run(_evaluate(args, cases, out, err))
    except (ConfigError, WorldError, PrometheusMissing, LiveError) as exc:
        err.write(f"sre-bot eval: {exc}\n")
        return EXIT_CONFIG


async def _evaluate(args: argparse.Namespace, cases: list[Case], out: TextIO, err: TextIO) -> int:
    task = asyncio.current_task()
    if task is not None and threading.current_thread() is threading.main_thread():
        # stopped (docker stop, a CI cancel): end as Ctrl-C does, through every clean-up
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    holder = ScriptHolder(args.live) if args.live else ScriptHolder()
    world: OfflineWorld | LiveWorld = (
        LiveWorld(args.live) if args.live else await asyncio.to_thread(OfflineWorld, cases)
    )
    suite = Suite(
        world,
        scripted_models(holder) if args.scripted else None,
        on_case_start=lambda case: setattr(holder, "case", case),
        overrides=SCRIPTED_SETTINGS if args.scripted else None,
    )
    try:
        settings = suite.settings()  # a wrong model setting is one line before any case runs
        if isinstance(world, LiveWorld):
            world.check(settings.kubeconfig_paths())
    except BaseException:
        await asyncio.to_thread(world.close)
        raise
    model = "scripted" if args.scripted else f"{settings.model_provider}:{settings.resolved_model_id}"
    results: list[tuple[Outcome, Score]] = []
    verdicts: list[judging.Verdict] = []
    try:
        for run in range(1, args.runs + 1):
            for case in cases:
                outcome = await suite.run(case, run)
                scored = score(case, outcome)
                results.append((outcome, scored))
                mark = "✓" if scored.passed else "✗"
                why = "; ".join(f"{c.name}: {c.detail}" for c in scored.failures)
                err.write(
                    f"{mark} {case.id} (run {run}, {outcome.seconds:.1f} s){': ' + why if why else ''}\n"
                )
                if args.judge and not args.scripted:
                    verdict = await judging.judge(
                        build_model(settings, "judge"),
                        case,
                        outcome,
                        retry_strategy(settings.model_max_wait_seconds),
                    )
                    if verdict is not None:
                        verdicts.append(verdict)
    finally:
        try:
            await asyncio.to_thread(suite.close)
        finally:  # the live world's folder holds a copy of the context's credentials
            await asyncio.to_thread(world.close)
    prices = Prices(args.price_in, args.price_out) if args.price_in is not None else None
    judged = judging.summary(model, verdicts) if verdicts else None
    report = build(
        model,
        cases,
        results,
        args.runs,
        scripted=args.scripted,
        prices=prices,
        judge=judged,
        world=f"live:{args.live}" if args.live else "offline",
    )
    text = markdown(report)
    out.write(text)
    if args.out:
        args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if args.markdown:
        args.markdown.write_text(text, encoding="utf-8")
    failed = any(not s.passed for _, s in results)
    if (args.scripted and failed) or report["summary"]["pass_rate"] < args.min_pass_rate:
        return EXIT_FAILED
    return EXIT_PASSED
