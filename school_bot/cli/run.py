"""The `run` command: the whole product in one process, or one role of it.

`python run_bot.py` with no command is `run --role all`. Without a Telegram or Viber
token, `run` says so in one line, suggests `python run_bot.py demo` and exits 2; an
explicit `run --role web` still serves the web server alone (ingest API, /healthz,
/metrics), for a process that only receives the school system's data.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from school_bot.shared.settings import Settings

EXIT_CONFIG = 2  # the settings cannot work: nothing was started
EXIT_FAILED = 1  # a start failed (the Bot API refused or unreachable, port taken)


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    run = commands.add_parser(
        "run", help="start the front ends, notifications and the web server (the default)",
        description="Run the bot until SIGTERM/SIGINT. Roles: web = Telegram/Viber front "
                    "doors and the web server (ingest API, /healthz, /metrics); worker = "
                    "notifications (outbox dispatcher and scheduled jobs); all = both.",
    )
    run.add_argument("--role", choices=("all", "web", "worker"), default="all",
                     help="what this process does (default: all)")
    run.add_argument("--log-format", choices=("kv", "json"), default="kv",
                     help="one line per event as key=value (default) or JSON")
    run.set_defaults(handler=run_command, role="all", log_format="kv")


def run_command(args: argparse.Namespace, settings: Settings) -> int:
    from school_bot.bot.app import ConfigurationError, check_configuration, run
    from school_bot.bot.logs import setup_logging
    from school_bot.bot.telegram.front_door import StartupError

    role = getattr(args, "role", "all")
    try:
        check_configuration(settings, role)
    except ConfigurationError as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG
    setup_logging(settings.log_level, getattr(args, "log_format", "kv"))
    try:
        return asyncio.run(run(settings, role))
    except StartupError as exc:
        print(f"cannot start: {exc}", file=sys.stderr)
        return EXIT_FAILED
