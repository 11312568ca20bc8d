"""Storage commands: migrate, import, demo-data."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from pathlib import Path

from school_bot.shared.settings import Settings
from school_bot.storage.db import Database
from school_bot.storage.migrate import upgrade


def register(commands: argparse._SubParsersAction) -> None:
    migrate = commands.add_parser("migrate", help="bring the database schema up to date")
    migrate.set_defaults(handler=run_migrate)

    load = commands.add_parser(
        "import", help="import a folder of the school system's CSV files (data-format.md)")
    load.add_argument("folder", type=Path)
    load.set_defaults(handler=run_import)

    demo = commands.add_parser("demo-data", help="write a made-up city's CSV folder")
    demo.add_argument("folder", type=Path)
    demo.add_argument("--schools", type=int, default=2)
    demo.add_argument("--students", type=int, default=60, help="pupils per school")
    demo.add_argument("--seed", type=int, default=1)
    demo.add_argument("--weeks", type=int, default=2, help="school weeks of diary")
    demo.set_defaults(handler=run_demo_data)


async def _migrated(settings: Settings) -> Database:
    database = Database.connect(settings.database_url)
    await upgrade(database.engine)
    return database


def run_migrate(_args: argparse.Namespace, settings: Settings) -> int:
    async def _go() -> None:
        database = await _migrated(settings)
        await database.dispose()

    asyncio.run(_go())
    print("database schema is up to date")
    return 0


def run_import(args: argparse.Namespace, settings: Settings) -> int:
    """Per file: the counts; then every rejected line; then the total. Exit 1 if any.

    A running bot's worker hears of each file once it is committed and runs the scans
    of what it causes (absence alerts, ...) at once: on PostgreSQL told by a NOTIFY
    sent here, on SQLite by itself (notifications/watchers.py)."""
    from school_bot.notifications.wake import WRITTEN, tell_workers
    from school_bot.storage.ingest import FileReport, import_folder

    folder: Path = args.folder
    if not folder.is_dir():
        print(f"import: {folder} is not a folder", file=sys.stderr)
        return 2

    async def _go():
        database = await _migrated(settings)

        async def written(_file: FileReport) -> None:
            await tell_workers(database, WRITTEN)

        try:
            return await import_folder(database, folder, actor=f"import:{_user()}",
                                       after_file=written)
        finally:
            await database.dispose()

    report = asyncio.run(_go())
    if not report.files:
        print(f"import: no data files in {folder} (expected e.g. schools.csv, grades.csv)",
              file=sys.stderr)
        return 2
    width = max(len(f.file) for f in report.files)
    for file in report.files:
        status = "not imported" if file.error else file.result.summary()
        print(f"{file.file:<{width}}  {status}")
    for name in report.ignored:
        print(f"{name:<{width}}  ignored (not a file of the data contract)")
    problems = report.problems()
    if problems:
        print()
        print("\n".join(problems))
    print()
    print(f"total: {report.total.summary()}")
    return 0 if report.ok else 1


def run_demo_data(args: argparse.Namespace, settings: Settings) -> int:
    from school_bot.storage.demo import generate_demo_data

    async def _go() -> None:
        database = await _migrated(settings)
        await database.dispose()

    asyncio.run(_go())
    try:
        summary = generate_demo_data(args.folder, schools=args.schools, students=args.students,
                                     seed=args.seed, weeks=args.weeks)
    except ValueError as exc:
        print(f"demo-data: {exc}", file=sys.stderr)
        return 2
    print(summary.describe())
    print(f"import it with: python run_bot.py import {args.folder}")
    return 0


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in a container
        return "cli"
