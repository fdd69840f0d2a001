"""The `sre-bot` command: ask (terminal), doctor (checks), run (the Slack bot), eval (the benchmark).

The top of the tree: it picks the front end (`run` starts the Slack app in slackbot/); `agents/` knows
nothing about any of them.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from agents.compose import load_settings
from agents.logs import setup_logging
from agents.settings import ConfigError, Settings, drop_empty_environment
from slackbot.config import SlackSettings, SlackUnreachable

EXIT_CONFIG = 2
EXIT_UNREACHABLE = 1
SLACK_LIBRARIES = ("slack_bolt", "slack_sdk")  # quiet at INFO, like the agents' libraries

DESCRIPTION = """sre-bot: answers questions about your Kubernetes clusters (EKS, K3s) and AWS costs.

commands:
  ask QUESTION   answer one question in the terminal, streaming, with tool steps shown
                 (--cluster NAME: about that cluster of the fleet, CLUSTERS_FILE)
  doctor         check settings, MCP servers, cluster, AWS and the model; print fixes
  run            run the Slack bot (Socket Mode; needs SLACK_BOT_TOKEN and SLACK_APP_TOKEN)
  state init     STATE_BACKEND=aws: create the DynamoDB table and the S3 bucket when missing
  eval           run the investigation benchmark (bench/evals) with the configured model

Settings come from the environment and .env (see .env.example)."""

EXIT_CODES = """exit codes:
  0    ask: answered; doctor: no check failed
  1    ask: no answer, the model failed (unreachable, throttled, credentials); doctor: a check failed
  1    run: Slack could not be reached (the network, DNS or a proxy; not a setting)
  1    state init: AWS refused or could not be reached (credentials, permissions, network)
  2    configuration error (a setting missing or wrong), an empty question, or an unknown --cluster
  3    ask: answered, but a tool failed (cluster unreachable, MCP server not installed, ...);
       the warning under the answer says what failed and what to check
  130  interrupted (Ctrl-C)"""


def _slack_checks() -> list[Any]:
    """`run`'s Slack settings, for doctor (agents/ knows nothing about Slack)."""
    from frontends.doctor import settings_checks
    from slackbot.config import load_slack_settings

    return settings_checks(
        "slack",
        SlackSettings,
        load_slack_settings,
        needed_by="sre-bot run",
        required=("slack_bot_token", "slack_app_token"),
    )


def _alert_checks() -> list[Any]:
    """The alert listener's settings (off unless ALERTS_PORT is set: then OK says so)."""
    from frontends.doctor import Check, settings_checks
    from slackbot.alerts.settings import AlertSettings, load_alert_settings

    checks = settings_checks("alerts", AlertSettings, load_alert_settings, needed_by="sre-bot run (alerts)")
    if any(c.status != "OK" for c in checks):
        return checks
    alerts = AlertSettings()
    if not alerts.enabled:
        return [Check("alerts", "SKIP", "ALERTS_PORT is 0: no alert listener (README: Alerts)")]
    sources = [name for name, on in (("Alertmanager", alerts.token), ("SNS", alerts.topics)) if on]
    return [
        Check(
            "alerts",
            "OK",
            f"listening on port {alerts.alerts_port} for {' and '.join(sources)}; threads in {alerts.alert_channel}",
        )
    ]


def parser() -> argparse.ArgumentParser:
    """`sre-bot {ask,doctor,run}` with its help and exit codes."""
    raw = argparse.RawDescriptionHelpFormatter
    top = argparse.ArgumentParser(
        prog="sre-bot", description=DESCRIPTION, epilog=EXIT_CODES, formatter_class=raw
    )
    sub = top.add_subparsers(dest="command", metavar="{ask,doctor,run,state,eval}")
    p_ask = sub.add_parser(
        "ask",
        help="answer one question in the terminal",
        description="Answer one question: the answer on stdout, tool steps and warnings on stderr.",
        epilog=EXIT_CODES,
        formatter_class=raw,
    )
    p_ask.add_argument("question", nargs="+", help='the question, e.g. "why is crashy-7f9c failing?"')
    p_ask.add_argument("--conversation", "-c", help="conversation id to keep context across asks")
    p_ask.add_argument(
        "--cluster",
        action="append",
        default=[],
        metavar="NAME",
        help="the cluster the question is about: a name in CLUSTERS_FILE (without that file, the one "
        "cluster of DEFAULT_CLUSTER or the kubeconfig's current context); repeat it to compare clusters "
        "(default: the cluster the question names, else the conversation's, else the fleet's default)",
    )
    p_ask.add_argument("--verbose", "-v", action="store_true", help="also show the specialists' own text")
    sub.add_parser("doctor", help="check settings, MCP servers, cluster, AWS and the model")
    sub.add_parser("run", help="run the Slack bot over Socket Mode")
    p_state = sub.add_parser(
        "state",
        help="the shared state of several replicas (STATE_BACKEND=aws)",
        description="init: create STATE_TABLE (TTL on) and SESSION_BUCKET when missing; says what it "
        "created and what already existed. Safe to run again.",
    )
    p_state.add_argument("action", choices=["init"])
    from evals.options import add_arguments as eval_arguments

    p_eval = sub.add_parser(
        "eval",
        help="run the investigation benchmark with the configured model",
        description="Run each case (bench/evals) through the real bot against an offline cluster and score it. "
        "Exit codes: 0 done (with --scripted: every case passed), 1 a case failed (--scripted) or the pass "
        "rate is under --min-pass-rate, 2 a bad case file, report, setting or option.",
    )
    eval_arguments(p_eval)
    return top


def main(argv: list[str] | None = None) -> int:
    command = parser()
    args = command.parse_args(argv)
    if not args.command:
        command.print_help()
        return EXIT_CONFIG
    question = " ".join(args.question).strip() if args.command == "ask" else ""
    if args.command == "ask" and not question:
        # before the settings: an empty question is the mistake to fix first, whatever .env holds
        print(
            'sre-bot: the question is empty; try: sre-bot ask "list the pods in default"',
            file=sys.stderr,
        )
        return EXIT_CONFIG
    drop_empty_environment([*Settings.model_fields, *SlackSettings.model_fields])
    if args.command == "doctor":  # before load_settings: doctor lists every bad setting, not the first
        return _doctor()
    if args.command == "state":  # needs the state's settings only, not a model or a cluster
        return _state_init()
    if args.command == "eval":  # its world sets the cluster settings itself; the model's are the user's
        return _eval(args)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"sre-bot: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    quiet = "WARNING" if settings.log_level != "DEBUG" else "DEBUG"
    setup_logging(settings.log_level if args.command == "run" else quiet, also_quiet=SLACK_LIBRARIES)
    return _start(settings, args, question)


def _doctor() -> int:
    from frontends.doctor import main as doctor

    setup_logging("WARNING", also_quiet=SLACK_LIBRARIES)
    try:
        return doctor(front_ends=[_slack_checks, _alert_checks])
    except KeyboardInterrupt:
        return 130


def _state_init() -> int:
    """`sre-bot state init`: one line per thing created or found, or one line saying what stopped it."""
    from agents.settings import load_state_settings

    try:
        settings = load_state_settings()
    except ConfigError as exc:
        print(f"sre-bot: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if settings.state_backend != "aws" or not (settings.state_table and settings.session_bucket):
        print("sre-bot: STATE_BACKEND=local: nothing to create (its files are made on first use)")
        return 0
    from botocore.exceptions import BotoCoreError, ClientError

    from agents.state.aws.setup import init

    try:
        for line in init(settings.state_table, settings.session_bucket, settings.aws_region or ""):
            print(f"sre-bot: {line}")
    except ConfigError as exc:
        print(f"sre-bot: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except (ClientError, BotoCoreError) as exc:
        print(f"sre-bot: AWS refused or could not be reached: {str(exc)[:240]}", file=sys.stderr)
        return EXIT_UNREACHABLE
    return 0


def _eval(args: argparse.Namespace) -> int:
    from evals.cli import main as evaluate

    setup_logging("WARNING", also_quiet=(*SLACK_LIBRARIES, "werkzeug"))  # werkzeug: moto's request lines
    try:
        return evaluate(args)
    except KeyboardInterrupt:
        return 130


def _start(settings: Settings, args: argparse.Namespace, question: str) -> int:
    """The terminal or the Slack bot, with their failures as one line and an exit code."""
    try:
        if args.command == "ask":
            from frontends.terminal import ask

            if settings.audit_log_path == Path("-"):  # the answer is on stdout: records would mix with it
                raise ConfigError(
                    "AUDIT_LOG_PATH",
                    "`-` (standard output) is for `sre-bot run`; `ask` writes its answer there: give a file",
                )
            return asyncio.run(ask(settings, question, args.conversation, args.verbose, args.cluster))
        from slackbot.app import run as run_slack

        return run_slack(settings)
    except ConfigError as exc:
        print(f"sre-bot: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except SlackUnreachable as exc:  # the network, not a setting: fixing .env would not help
        print(f"sre-bot: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
