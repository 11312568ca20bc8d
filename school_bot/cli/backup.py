"""`backup FILE` and `restore FILE`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from school_bot.storage.backup import BackupError, backup, restore
from school_bot.shared.settings import Settings


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    make = commands.add_parser("backup", help="write a consistent copy of the database (safe while running)")
    make.add_argument("file", type=Path)
    make.set_defaults(handler=run_backup)
    back = commands.add_parser("restore", help="replace the database with a backup (stop the bot first)")
    back.add_argument("file", type=Path)
    back.set_defaults(handler=run_restore)


def run_backup(args: argparse.Namespace, settings: Settings) -> int:
    try:
        asyncio.run(backup(settings.database_url, args.file))
    except BackupError as exc:
        print(f"backup failed: {exc}", file=sys.stderr)
        return 1
    print(f"backup written to {args.file}")
    return 0


def run_restore(args: argparse.Namespace, settings: Settings) -> int:
    try:
        asyncio.run(restore(settings.database_url, args.file))
    except BackupError as exc:
        print(f"restore failed: {exc}", file=sys.stderr)
        return 1
    print(f"database restored from {args.file}")
    return 0
