#!/usr/bin/env python3
"""How long each report takes for a whole city, on SQLite and on PostgreSQL.

    python bench/reports_city.py [--data FOLDER] [--schools 60] [--students 667] [--weeks 16]
    python bench/reports_city.py --db URL [--db URL]     # databases imported before

Without --db: generates the city with storage.demo (or reuses --data), imports it
with storage.ingest into a fresh SQLite file and, when a server answers at
TEST_POSTGRES_URL (default: the local one), a freshly created PostgreSQL database; then
adds what an import does not bring, the bot's own rows: chats for about two parents in
three and a term of outbox rows (about 20 per chat), and reminders on the lessons
without a topic; on PostgreSQL then VACUUM ANALYZE, as autovacuum would. Each report
runs over the whole term for every school and for one school, three times; the table
shows the median seconds (the query and its audit entry, in one transaction) and the
rows, then what rendering each format takes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.engine import make_url

from school_bot.reports.render import render
from school_bot.reports.service import read_report
from school_bot.reports.spec import FORMATS, REPORTS, ReportRequest, ReportTable
from school_bot.storage.db import Database, create_engine
from school_bot.storage.demo import generate_demo_data
from school_bot.storage.ingest import import_folder
from school_bot.storage.migrate import upgrade
from school_bot.storage.models import Account, Guardian, Lesson, OutboxMessage, School

DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
KYIV = ZoneInfo("Europe/Kyiv")
TODAY = date(2025, 3, 14)  # as bench/import_city.py
NOW = datetime(2025, 3, 14, 18, 0, tzinfo=KYIV)
GRADES_PER_DAY = 0.33
MESSAGES_PER_CHAT = 20
CHUNK = 5000
# The life of 20 notifications of one chat: mostly sent; Viber's also delivered and seen
# (receipts fill their columns; the status stays the dispatcher's).
STATUSES = ["sent"] * 14 + ["queued", "retry", "dead", "blocked", "sending", "sent"]
KINDS = ["absence", "grades", "homework", "event", "announcement", "grade_digest"]


# ---------------------------------------------------------------- the city


def generate(folder: Path, args: argparse.Namespace) -> None:
    started = time.perf_counter()
    # No report reads grades: as few as bench/import_city.py's city (about a million).
    generate_demo_data(folder, schools=args.schools, students=args.students, weeks=args.weeks,
                       seed=1, today=TODAY, grades_per_day=GRADES_PER_DAY)
    print(f"generated {folder} in {time.perf_counter() - started:.0f} s")


async def load(database: Database, folder: Path) -> None:
    started = time.perf_counter()
    await upgrade(database.engine)
    report = await import_folder(database, folder, actor="bench", progress=False)
    print(f"  imported {sum(f.result.total for f in report.files):,} rows in "
          f"{time.perf_counter() - started:.0f} s")
    started = time.perf_counter()
    chats, messages = await add_bot_rows(database)
    print(f"  added {chats:,} chats and {messages:,} outbox rows in {time.perf_counter() - started:.0f} s")
    if not database.sqlite:  # what autovacuum does soon after a bulk load (the test server has it off)
        started = time.perf_counter()
        async with database.engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("VACUUM ANALYZE"))
        print(f"  VACUUM ANALYZE in {time.perf_counter() - started:.0f} s")


async def add_bot_rows(database: Database) -> tuple[int, int]:
    """Chats for two consenting parents in three, and a term of notifications for each."""
    async with database.unit_of_work() as session:
        guardians = (await session.scalars(
            select(Guardian.id).where(Guardian.consent.is_(True)).order_by(Guardian.id))).all()
        await session.execute(update(Lesson).where(Lesson.topic.is_(None), Lesson.date <= TODAY)
                              .values(reminded_at=NOW))
    linked = [g for i, g in enumerate(guardians) if i % 3 != 2]
    chats: list[dict[str, Any]] = [
        {"platform": "viber" if i % 4 == 0 else "telegram", "chat_id": f"bench-{i}",
         "guardian_id": g, "active": i % 50 != 0, "language": "uk", "state": {},
         "notify_grades": "off", "notify_homework": False, "notify_events": True,
         "failed_link_attempts": 0, "created_at": NOW} for i, g in enumerate(linked)]
    for start in range(0, len(chats), CHUNK):
        async with database.unit_of_work() as session:
            await session.execute(insert(Account), chats[start:start + CHUNK])
    async with database.unit_of_work() as session:
        accounts = (await session.execute(select(Account.id, Account.platform)
                                          .where(Account.chat_id.like("bench-%")))).all()
    term = timedelta(weeks=16)
    messages = 0
    batch: list[dict[str, object]] = []
    for account_id, platform in accounts:
        for n in range(MESSAGES_PER_CHAT):
            at = (NOW - term * (n + 1) / (MESSAGES_PER_CHAT + 1)).astimezone(UTC)
            status = STATUSES[(account_id + n) % len(STATUSES)]
            receipt = platform == "viber" and status == "sent"
            batch.append({"account_id": account_id, "kind": KINDS[(account_id * 7 + n) % len(KINDS)],
                          "priority": 1, "dedupe_key": f"bench:{account_id}:{n}", "payload": {},
                          "status": status, "attempts": 1,
                          "next_attempt_at": at, "created_at": at,
                          "sent_at": at if status == "sent" else None,
                          "delivered_at": at if receipt else None,
                          "seen_at": at if receipt and n % 2 else None})
            if len(batch) == CHUNK:
                messages += await _write(database, batch)
    messages += await _write(database, batch)
    return len(chats), messages


async def _write(database: Database, batch: list[dict[str, object]]) -> int:
    if not batch:
        return 0
    async with database.unit_of_work() as session:
        await session.execute(insert(OutboxMessage), batch)
    count = len(batch)
    batch.clear()
    return count


# ---------------------------------------------------------------- timing


async def median_seconds(work: Callable[[], Awaitable[object]], repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = await work()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


async def time_reports(database: Database, repeat: int) -> tuple[dict[tuple[str, str], tuple[float, int]],
                                                                  dict[str, ReportTable]]:
    async with database.unit_of_work() as session:
        first_school = await session.scalar(select(func.min(School.id)))
        start = await session.scalar(select(func.min(Lesson.date))) or TODAY
    timings: dict[tuple[str, str], tuple[float, int]] = {}
    tables: dict[str, ReportTable] = {}
    for report in REPORTS:
        for scope in (None, first_school):
            request = ReportRequest(report, scope, start, TODAY, NOW, KYIV)

            async def once(request: ReportRequest = request) -> ReportTable:
                async with database.unit_of_work() as session:
                    return await read_report(session, request, ["csv"], actor="bench", locale="uk")

            seconds, table = await median_seconds(once, repeat)
            assert isinstance(table, ReportTable)
            timings[(report, "all" if scope is None else "one school")] = (seconds, len(table.rows))
            if scope is None:
                tables[report] = table
    return timings, tables


def render_times(tables: dict[str, ReportTable], repeat: int) -> None:
    print(f"\nrendering the city-wide tables (median of {repeat}, seconds)")
    print(f"  {'report':<10} {'rows':>7} " + " ".join(f"{fmt:>7}" for fmt in FORMATS) + "  sizes")
    for report, table in tables.items():
        cells, sizes = [], []
        for fmt in FORMATS:
            times = []
            for _ in range(repeat):
                started = time.perf_counter()
                content = render(table, fmt, "uk")
                times.append(time.perf_counter() - started)
            cells.append(f"{statistics.median(times):>7.2f}")
            sizes.append(f"{fmt} {len(content) / 1024:,.0f} KiB")
        print(f"  {report:<10} {len(table.rows):>7,} " + " ".join(cells) + "  " + ", ".join(sizes))


def print_table(results: dict[str, dict[tuple[str, str], tuple[float, int]]], repeat: int) -> None:
    backends = list(results)
    print(f"\nreport queries, the whole term (median of {repeat}, seconds; rows in brackets)")
    print(f"  {'report':<10} {'scope':<11} " + " ".join(f"{name:>20}" for name in backends))
    for key in next(iter(results.values())):
        cells = []
        for name in backends:
            seconds, rows = results[name].get(key, (float("nan"), 0))
            cells.append(f"{seconds:>10.3f} ({rows:>6,})")
        print(f"  {key[0]:<10} {key[1]:<11} " + " ".join(f"{c:>20}" for c in cells))


async def measure(url: str, repeat: int
                  ) -> tuple[dict[tuple[str, str], tuple[float, int]], dict[str, ReportTable]]:
    database = Database.connect(url)
    try:
        return await time_reports(database, repeat)
    finally:
        await database.dispose()


async def fresh_postgres(admin_url: str) -> str | None:
    name = f"bench_reports_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url).execution_options(isolation_level="AUTOCOMMIT")
    try:
        async with asyncio.timeout(10), admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    except (OSError, TimeoutError, Exception) as exc:  # noqa: BLE001 - any failure: no server
        print(f"PostgreSQL skipped: no server at {make_url(admin_url).render_as_string()} ({exc})")
        return None
    finally:
        await admin.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


async def drop_postgres(admin_url: str, url: str) -> None:
    admin = create_engine(admin_url).execution_options(isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    finally:
        await admin.dispose()


async def prepare(url: str, folder: Path, label: str) -> None:
    print(f"\n{label}: {make_url(url).render_as_string()}")
    database = Database.connect(url)
    try:
        await load(database, folder)
    finally:
        await database.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", action="append", default=[], metavar="URL",
                        help="an imported database to reuse (repeatable); skips generating and importing")
    parser.add_argument("--data", type=Path, help="a folder generated before (kept), or where to generate")
    parser.add_argument("--schools", type=int, default=60)
    parser.add_argument("--students", type=int, default=667, help="pupils per school")
    parser.add_argument("--weeks", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", action="store_true",
                        help="keep the SQLite file and the PostgreSQL database (and print their URLs)")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    results: dict[str, dict[tuple[str, str], tuple[float, int]]] = {}
    tables: dict[str, ReportTable] = {}
    with tempfile.TemporaryDirectory(prefix="reports_city_") as scratch:
        urls = {f"{'SQLite' if url.startswith('sqlite') else 'PostgreSQL'} #{i + 1}": url
                for i, url in enumerate(args.db)}
        made_pg: str | None = None
        admin = os.environ.get("TEST_POSTGRES_URL") or DEFAULT_PG
        if not urls:
            folder = args.data or Path(scratch) / "city"
            if not (folder / "schools.csv").exists():
                generate(folder, args)
            where = Path(scratch) if not args.keep else Path(tempfile.mkdtemp(prefix="reports_city_"))
            urls["SQLite"] = f"sqlite+aiosqlite:///{where / 'city.sqlite3'}"
            asyncio.run(prepare(urls["SQLite"], folder, "SQLite"))
            if not args.no_postgres and (made_pg := asyncio.run(fresh_postgres(admin))):
                urls["PostgreSQL"] = made_pg
                asyncio.run(prepare(made_pg, folder, "PostgreSQL"))
        try:
            for name, url in urls.items():
                results[name], tables = asyncio.run(measure(url, args.repeat))
        finally:
            if made_pg and not args.keep:
                asyncio.run(drop_postgres(admin, made_pg))
        print_table(results, args.repeat)
        render_times(tables, args.repeat)
        if args.keep:
            print("\nkept: " + "  ".join(f"--db {url}" for url in urls.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
