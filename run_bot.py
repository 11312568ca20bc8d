#!/usr/bin/env python3
"""The parents' bot of the city's Online School: the command line and composition root.

`python run_bot.py` (or `run`) starts every configured front end, the scheduler and
the web server in one process; `python run_bot.py --help` lists the other commands.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from storage import speed_paths
from storage.settings import SettingsError, load_settings

# Each module adds its sub-commands with `register(subparsers)`; a command's handler
# is `handler(args, settings) -> int` (the exit status).
COMMAND_MODULES = (
    "bot.cli",
    "bot.console_cli",
    "storage.cli",
    "storage.backup_cli",
    "storage.audit_cli",
    "storage.pg_roles",
    "reports.cli",
    "storage.invites_cli",
    "storage.erase_cli",
    "web.cli",
    "notifications.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="run_bot.py",
        description="Telegram and Viber bot for parents of the city's Online School.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv or ["run"])
    if args.command is None:
        parser.print_help()
        return 2
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    speed_paths.configure(settings.speed_paths)  # before any command imports aiogram
    try:
        return int(args.handler(args, settings) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
