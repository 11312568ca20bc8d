"""The command line: `python run_bot.py [COMMAND]` (or the `school-bot` script).

`run` (the default) starts every configured front end, the scheduler and the web
server in one process; `--help` lists the other commands. Each module of this package
adds its sub-commands with `register(subparsers)`; a command's handler is
`handler(args, settings) -> int` (the exit status).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from school_bot.shared.settings import SettingsError, load_settings
from school_bot.storage import speed_paths

COMMAND_MODULES = (
    "school_bot.cli.run",
    "school_bot.cli.demo",
    "school_bot.cli.data",
    "school_bot.cli.backup",
    "school_bot.cli.audit",
    "school_bot.cli.roles",
    "school_bot.cli.report",
    "school_bot.cli.invites",
    "school_bot.cli.erase",
    "school_bot.cli.apikey",
    "school_bot.cli.announce",
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
