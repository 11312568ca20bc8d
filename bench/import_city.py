#!/usr/bin/env python3
"""How long a whole city's first load and nightly re-sync take.

    python bench/import_city.py [--data FOLDER] [--schools 60] [--students 667] [--weeks 16]

Generates the city (60 schools of 667 pupils, 16 weeks of diary, about a million grades)
into a temporary folder, or reuses `--data`; imports it into a fresh SQLite file and,
when a server answers at TEST_POSTGRES_URL (default: the local one), into a freshly
created PostgreSQL database; then imports it once more (the idempotent re-sync). Prints
a table per backend and run: rows, seconds and rows per second per file, and the
database's size. The target: the first load on SQLite in under 60 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import os
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text
from sqlalchemy.engine import make_url

from school_bot.storage.db import Database, create_engine
from school_bot.storage.demo import generate_demo_data
from school_bot.storage.ingest import ENTITIES, import_file
from school_bot.storage.migrate import upgrade

DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
GRADES_PER_DAY = 0.33  # 40,000 pupils x 80 school days x 0.33: about a million grades
TODAY = date(2025, 3, 14)


def generate(folder: Path, args: argparse.Namespace) -> None:
    options = {"schools": args.schools, "students": args.students, "weeks": args.weeks,
               "seed": 1, "today": TODAY}
    if "grades_per_day" in inspect.signature(generate_demo_data).parameters:
        options["grades_per_day"] = GRADES_PER_DAY
    started = time.perf_counter()
    generate_demo_data(folder, **options)
    print(f"generated {folder} in {time.perf_counter() - started:.1f} s")


async def run_import(database: Database, folder: Path, label: str) -> None:
    rows: list[tuple[str, int, float]] = []
    started, cpu = time.perf_counter(), time.process_time()
    rejected = 0
    for entity in ENTITIES:
        path = folder / f"{entity}.csv"
        if not path.exists():
            continue
        t0 = time.perf_counter()
        report = await import_file(database, path, entity, actor="bench", progress=False)
        rows.append((path.name, report.result.total, time.perf_counter() - t0))
        rejected += len(report.result.rejected) + bool(report.error)
        outcome = report.result
        if label.endswith("re-sync") and (outcome.created or outcome.updated):
            print(f"  !! {path.name}: {outcome.summary()} on a re-sync")
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    total = sum(count for _, count, _ in rows)
    print(f"\n{label}")
    print(f"  {'file':<16} {'rows':>10} {'seconds':>9} {'rows/s':>10}")
    for name, count, seconds in rows:
        print(f"  {name:<16} {count:>10,} {seconds:>9.1f} {count / seconds:>10,.0f}")
    print(f"  {'total':<16} {total:>10,} {wall:>9.1f} {total / wall:>10,.0f}")
    print(f"  CPU time of this process (all threads): {cpu:.1f} s; a wall time well above it"
          " means waiting for the database server or for a CPU busy with other work")
    print(f"  database size: {await database_size(database) / 2**20:,.0f} MiB"
          + (f"; {rejected} rows rejected" if rejected else ""))
    print("  load average (1, 5, 15 min) at the end: " + ", ".join(f"{x:.2f}" for x in os.getloadavg())
          + f"; {os.cpu_count()} CPUs")


async def database_size(database: Database) -> int:
    if database.sqlite:
        path = Path(make_url(database.url).database or "")
        return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
    async with database.engine.connect() as conn:
        return int(await conn.scalar(text("SELECT pg_database_size(current_database())")) or 0)


async def bench(url: str, folder: Path, name: str) -> None:
    database = Database.connect(url)
    try:
        await upgrade(database.engine)
        await run_import(database, folder, f"{name}: first load")
        await run_import(database, folder, f"{name}: re-sync (same files again)")
    finally:
        await database.dispose()


async def postgres(admin_url: str, folder: Path) -> None:
    name = f"bench_import_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url).execution_options(isolation_level="AUTOCOMMIT")
    try:
        async with asyncio.timeout(10), admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    except (OSError, TimeoutError, Exception) as exc:  # noqa: BLE001 - any failure: no server
        print(f"\nPostgreSQL skipped: no server at {make_url(admin_url).render_as_string()} ({exc})")
        await admin.dispose()
        return
    try:
        url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        await bench(url, folder, "PostgreSQL")
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, help="a folder generated before (kept)")
    parser.add_argument("--schools", type=int, default=60)
    parser.add_argument("--students", type=int, default=667, help="pupils per school")
    parser.add_argument("--weeks", type=int, default=16)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="import_city_") as scratch:
        folder = args.data or Path(scratch) / "city"
        if args.data is None or not (folder / "schools.csv").exists():
            generate(folder, args)
        asyncio.run(bench(f"sqlite+aiosqlite:///{Path(scratch) / 'city.sqlite3'}", folder, "SQLite"))
        if not args.no_postgres:
            asyncio.run(postgres(os.environ.get("TEST_POSTGRES_URL") or DEFAULT_PG, folder))
    return 0


if __name__ == "__main__":
    sys.exit(main())
