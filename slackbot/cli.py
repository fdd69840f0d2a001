"""The `sre-bot` command: ask (terminal), doctor (checks), run (the Slack bot).

It lives with the front ends because `run` starts the Slack app; `agents/` knows nothing about Slack.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from agents.logs import setup_logging
from agents.settings import ConfigError, Settings, drop_empty_environment, load_settings
from slackbot.config import SlackSettings

EXIT_CONFIG = 2

DESCRIPTION = """sre-bot: answers questions about your Kubernetes clusters (EKS, K3s) and AWS costs.

commands:
  ask QUESTION   answer one question in the terminal, streaming, with tool steps shown
  doctor         check settings, MCP servers, cluster, AWS and the model; print fixes
  run            run the Slack bot (Socket Mode; needs SLACK_BOT_TOKEN and SLACK_APP_TOKEN)

Settings come from the environment and .env (see .env.example)."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="sre-bot", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", metavar="{ask,doctor,run}")
    p_ask = sub.add_parser("ask", help="answer one question in the terminal")
    p_ask.add_argument("question", nargs="+", help='the question, e.g. "why is crashy-7f9c failing?"')
    p_ask.add_argument("--conversation", "-c", help="conversation id to keep context across asks")
    p_ask.add_argument("--verbose", "-v", action="store_true", help="also show the specialists' own text")
    sub.add_parser("doctor", help="check settings, MCP servers, cluster, AWS and the model")
    sub.add_parser("run", help="run the Slack bot over Socket Mode")
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return EXIT_CONFIG

    drop_empty_environment([*Settings.model_fields, *SlackSettings.model_fields])
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"sre-bot: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    setup_logging(
        settings.log_level
        if args.command == "run"
        else "WARNING"
        if settings.log_level != "DEBUG"
        else "DEBUG"
    )

    try:
        if args.command == "ask":
            question = " ".join(args.question).strip()
            if not question:
                print(
                    'sre-bot: the question is empty; try: sre-bot ask "list the pods in default"',
                    file=sys.stderr,
                )
                return EXIT_CONFIG
            from agents.terminal import ask

            return asyncio.run(ask(settings, question, args.conversation, args.verbose))
        if args.command == "doctor":
            from agents.doctor import format_table, run_checks

            checks = run_checks(settings)
            print(format_table(checks))
            return 1 if any(c.status == "FAIL" for c in checks) else 0
        from slackbot.app import run as run_slack

        return run_slack(settings)
    except ConfigError as exc:
        print(f"sre-bot: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
