"""`python run_bot.py report coverage|diary|absences|delivery (--school ID | --all) ...`"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from school_bot.reports.service import ReportFile, read_report, render_file
from school_bot.reports.spec import FORMATS, REPORTS, ReportRequest
from school_bot.storage.db import Database
from school_bot.shared.settings import Settings


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    report = commands.add_parser(
        "report", help="a report file for a director or the department (audited)",
        description="coverage: parents linked per class; diary: fill rate per teacher; "
                    "absences: per class and week; delivery: notifications by kind.")
    report.add_argument("report", choices=REPORTS)
    scope = report.add_mutually_exclusive_group(required=True)
    scope.add_argument("--school", metavar="ID", help="one school")
    scope.add_argument("--all", action="store_true", help="every school of the city")
    report.add_argument("--from", dest="start", metavar="YYYY-MM-DD", type=date.fromisoformat,
                        help="first day (default: four weeks before --to)")
    report.add_argument("--to", dest="end", metavar="YYYY-MM-DD", type=date.fromisoformat,
                        help="last day, included (default: today)")
    report.add_argument("--format", choices=FORMATS, default="csv")
    report.add_argument("--out", metavar="PATH",
                        help="the file, or a folder for it (an existing one, or ending in /); "
                             "default: a file named after the report, here")
    report.add_argument("--lang", choices=("uk", "en"), help="headers' language (default: the bot's)")
    report.set_defaults(handler=run_report_command)


def cli_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"[:128]
    except (KeyError, OSError):  # no user name in this environment
        return "cli"


def run_report_command(args: argparse.Namespace, settings: Settings) -> int:
    locale = args.lang or settings.default_locale
    try:
        request = ReportRequest.build(args.report, None if args.all else args.school, zone=settings.zone,
                                      now=datetime.now(UTC), start=args.start, end=args.end)
    except ValueError as exc:
        print(f"report: {exc}", file=sys.stderr)
        return 2

    if request.snapshot and (args.start or args.end):
        print("report: coverage is who is linked today; --from and --to do not apply", file=sys.stderr)

    async def _go() -> tuple[ReportFile, int]:
        database = Database.connect(settings.database_url)
        try:
            async with database.unit_of_work() as session:
                table = await read_report(session, request, [args.format], actor=cli_actor(), locale=locale)
        finally:
            await database.dispose()
        return render_file(table, args.format, locale), len(table.rows)

    try:
        file, rows = asyncio.run(_go())
    except LookupError as exc:
        print(f"report: {exc.args[0]}", file=sys.stderr)
        return 2
    path = Path(args.out or file.filename)
    if args.out and (args.out.endswith(("/", os.sep)) or path.is_dir()):
        path = path / file.filename
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(file.content)
    print(f"{args.report} report, {rows} rows: {path}")
    return 0
