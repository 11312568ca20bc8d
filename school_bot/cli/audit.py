"""`audit verify` walks the hash chain; `audit show` lists entries, newest last."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime, time
from typing import TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from school_bot.storage.audit import ChainReport, verify_chain
from school_bot.storage.db import run_in_unit_of_work
from school_bot.storage.models import AuditEntry, AuditHead
from school_bot.shared.settings import Settings

T = TypeVar("T")
COLUMNS = ("id", "time", "actor", "action", "school", "entity", "entity id", "details")


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    audit = commands.add_parser("audit", help="check and read the hash-chained audit log")
    actions = audit.add_subparsers(dest="audit_command", metavar="ACTION", required=True)

    verify = actions.add_parser("verify", help="walk the chain; name the first entry that does not fit")
    verify.set_defaults(handler=run_verify)

    show = actions.add_parser("show", help="list entries (the newest LIMIT that match, oldest first)")
    show.add_argument("--school", metavar="ID", help="only this school's entries")
    show.add_argument("--since", metavar="YYYY-MM-DD", type=date.fromisoformat,
                      help="from this day on (in the configured time zone)")
    show.add_argument("--actor", metavar="A", help="only entries by this actor")
    show.add_argument("--action", metavar="X", help="only this action, e.g. report.generated")
    show.add_argument("--limit", metavar="N", type=int, default=100, help="at most N entries (100)")
    show.set_defaults(handler=run_show)


def _run(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    return run_in_unit_of_work(settings.database_url, work)


# ---------------------------------------------------------------- verify


def describe(report: ChainReport, head: AuditHead | None) -> str:
    if report.ok:
        line = f"audit log OK: {report.checked} entries"
        if head is not None and report.checked:
            line += f"\nlast entry {head.last_id}, hash {head.last_hash}"
        return line
    return (f"audit log BROKEN at entry {report.first_bad_id}: {report.reason}\n"
            f"{report.checked} entries before it are intact")


def run_verify(_args: argparse.Namespace, settings: Settings) -> int:
    async def work(session: AsyncSession) -> tuple[ChainReport, AuditHead | None]:
        report = await verify_chain(session)
        return report, await session.get(AuditHead, 1)

    report, head = _run(settings, work)
    print(describe(report, head), file=sys.stdout if report.ok else sys.stderr)
    return 0 if report.ok else 1


# ---------------------------------------------------------------- show


def entries_query(args: argparse.Namespace, zone: ZoneInfo) -> Select[tuple[AuditEntry]]:
    query = select(AuditEntry)
    if args.school:
        query = query.where(AuditEntry.school_id == args.school)
    if args.since:
        query = query.where(AuditEntry.at >= datetime.combine(args.since, time(), tzinfo=zone))
    if args.actor:
        query = query.where(AuditEntry.actor == args.actor)
    if args.action:
        query = query.where(AuditEntry.action == args.action)
    return query.order_by(AuditEntry.id.desc()).limit(max(args.limit, 0))


def entry_row(entry: AuditEntry, zone: ZoneInfo) -> tuple[str, ...]:
    details = json.dumps(entry.details, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return (str(entry.id), entry.at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"), entry.actor,
            entry.action, entry.school_id or "-", entry.entity or "-", entry.entity_id or "-", details)


def format_table(rows: Sequence[tuple[str, ...]]) -> str:
    table = [COLUMNS, *rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(COLUMNS) - 1)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[-1] for row in table]
    return "\n".join(line.rstrip() for line in lines)


def run_show(args: argparse.Namespace, settings: Settings) -> int:
    zone = settings.zone

    async def work(session: AsyncSession) -> list[tuple[str, ...]]:
        entries = (await session.scalars(entries_query(args, zone))).all()
        return [entry_row(entry, zone) for entry in reversed(entries)]

    rows = _run(settings, work)
    if not rows:
        print("no audit entries match")
        return 0
    print(format_table(rows))
    return 0
