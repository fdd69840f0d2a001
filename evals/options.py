"""The options of `sre-bot eval`, apart from its code so `sre-bot --help` loads none of the benchmark."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--cases", type=Path, default=Path("bench/evals"), help="a case file or folder (default bench/evals)"
    )
    p.add_argument("--runs", type=int, default=1, help="runs of each case (pass rate with its spread)")
    p.add_argument(
        "--tags",
        action="append",
        default=[],
        help="only cases with this tag (area:pods, hard, ...); repeatable",
    )
    p.add_argument("--out", type=Path, help="write the JSON report here")
    p.add_argument("--markdown", type=Path, help="also write the Markdown report here")
    p.add_argument("--compare", nargs=2, type=Path, metavar=("A.json", "B.json"), help="compare two reports")
    p.add_argument(
        "--scripted",
        action="store_true",
        help="the scripted model that follows each case's expected path (CI): checks harness and cases, no model",
    )
    p.add_argument(
        "--judge", action="store_true", help="also ask the configured model to judge cases with a rubric"
    )
    p.add_argument(
        "--live",
        metavar="CONTEXT",
        help="run the cases that have a live block against this kubeconfig context (a real cluster), each in "
        "a namespace it creates and deletes",
    )
    p.add_argument("--price-in", type=float, help="USD per million input tokens (for the cost column)")
    p.add_argument("--price-out", type=float, help="USD per million output tokens")
    p.add_argument("--min-pass-rate", type=float, default=0.0, help="exit 1 below this pass rate (0-1)")
