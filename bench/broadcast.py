#!/usr/bin/env python3
"""An announcement to 3,000 parents against a Bot API that enforces 30 messages a second.

    python bench/broadcast.py [--parents 3000] [--rate 30] [--postgres]
                              [--absence-interval 20] [--absence-at 0.5]

The fake Telegram Bot API runs in a process of its own (`python -m
tests.fakes.telegram_api --rate 30 --per-chat 1 --log FILE`, real HTTP on 127.0.0.1, as
Telegram is another machine) and answers 429 `retry_after` above `--rate` messages a
second overall and above 1 a second per chat. The real pieces run against it: a fresh SQLite file (or, with --postgres, a fresh database at
TEST_POSTGRES_URL), `create_announcement`, the NotificationService (dispatcher and jobs)
with the Telegram deliverer over an aiogram Bot. Half way through (`--absence-at`), a
pupil is marked absent as the import marks it; the absence job (every
`--absence-interval` seconds, 20 in production) finds it and the alert goes through the
urgent lane. Printed:

* achieved rate ÷ limit (goal ≥ 0.95), over the announcement's send window;
* 429 answers received; duplicates (goal 0) and lost copies (goal 0), from the server's
  log of accepted requests;
* the absence alert's latency: mark → delivered and queued → delivered (goal: seconds).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, time as clock_time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from sqlalchemy import func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from school_bot.bot.telegram.front_door import build_bot  # noqa: E402
from school_bot.bot.telegram_delivery import TelegramDeliverer  # noqa: E402
from school_bot.notifications.announcements import create_announcement, operator  # noqa: E402
from school_bot.notifications.config import NotifyConfig  # noqa: E402
from school_bot.notifications.outbox import FINAL  # noqa: E402
from school_bot.notifications.service import NotificationService  # noqa: E402
from school_bot.storage.db import Database, create_engine  # noqa: E402
from school_bot.storage.migrate import upgrade  # noqa: E402
from school_bot.storage.models import (  # noqa: E402
    Account, Attendance, Guardian, GuardianStudent, Lesson, OutboxMessage, School, SchoolClass,
    Student,
)
from school_bot.shared.settings import Settings  # noqa: E402

TOKEN = "777:broadcast-bench"
FIRST_CHAT = 500_000
ABSENT_CHAT = 499_999
DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


async def build_city(db: Database, parents: int) -> None:
    """One launched school: `parents` families, plus the pupil who will miss a lesson."""
    today = datetime.now(UTC).astimezone(Settings(_env_file=None).zone).date()  # type: ignore[call-arg]
    async with db.unit_of_work() as s:
        s.add(School(id="S", name="Ліцей №7", launched=True, timezone="Europe/Kyiv"))
        await s.flush()
        s.add(SchoolClass(id="C", school_id="S", name="9-А"))
        await s.flush()
        s.add_all(Student(id=f"P{n}", class_id="C", full_name=f"Учень{n} Іван")
                  for n in range(-1, parents))
        s.add_all(Guardian(id=f"G{n}", consent=True) for n in range(-1, parents))
        s.add(Lesson(id="L", class_id="C", subject="Фізика", teacher_id="T", date=today,
                     starts_at=clock_time(0, 0), ends_at=clock_time(0, 45), number=1))
        await s.flush()
        s.add_all(GuardianStudent(guardian_id=f"G{n}", student_id=f"P{n}")
                  for n in range(-1, parents))
        s.add_all(Account(platform="telegram", guardian_ids=[f"G{n}"],
                          chat_id=str(ABSENT_CHAT if n < 0 else FIRST_CHAT + n))
                  for n in range(-1, parents))


async def fresh_database(postgres: bool, folder: Path) -> tuple[Database, str | None]:
    if not postgres:
        return Database.connect(f"sqlite+aiosqlite:///{folder / 'bench.sqlite3'}"), None
    admin_url = os.environ.get("TEST_POSTGRES_URL", DEFAULT_PG)
    name = f"bench_broadcast_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url).execution_options(isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    return Database.connect(url), name


async def drop_database(name: str) -> None:
    admin = create_engine(os.environ.get("TEST_POSTGRES_URL", DEFAULT_PG)).execution_options(
        isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()


async def waiting_rows(db: Database) -> int:
    async with db.unit_of_work() as s:
        return int(await s.scalar(select(func.count()).select_from(OutboxMessage)
                                  .where(OutboxMessage.status.not_in(FINAL))) or 0)


async def absence_queued_at(db: Database) -> datetime | None:
    async with db.unit_of_work() as s:
        return await s.scalar(select(OutboxMessage.created_at).where(OutboxMessage.kind == "absence"))


async def bench(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db, pg_name = await fresh_database(args.postgres, Path(tmp))
        try:
            await upgrade(db.engine)
            await build_city(db, args.parents)
            async with fake_telegram(args.rate, Path(tmp) / "telegram.jsonl") as (url, log):
                await run(db, args, url, log)
        finally:
            await db.dispose()
            if pg_name:
                await drop_database(pg_name)


@asynccontextmanager
async def fake_telegram(rate: float, log: Path) -> AsyncIterator[tuple[str, Path]]:
    """The standalone fake Bot API in a process of its own; yields its URL and log."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.fakes.telegram_api", "--port", "0", "--token", TOKEN,
        "--rate", str(rate), "--per-chat", "1", "--log", str(log), cwd=ROOT,
        stdout=asyncio.subprocess.PIPE)
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()  # type: ignore[union-attr]
        if not line.startswith("READY"):
            raise RuntimeError("the fake Bot API did not start")
        yield line.split()[1], log
    finally:
        proc.terminate()
        await proc.wait()


def accepted(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line]


async def rejected_429(url: str) -> int:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
        async with http.get(f"{url}/_fake/stats") as answer:
            return int((await answer.json())["rejected_429"])


async def run(db: Database, args: argparse.Namespace, url: str, log: Path) -> None:
    settings = Settings(_env_file=None, database_url=db.url, telegram_bot_token=TOKEN,  # type: ignore[call-arg]
                        telegram_api_url=url, quiet_hours="", telegram_rate_per_second=args.rate)
    config = NotifyConfig.from_settings(settings, absence_interval=args.absence_interval)
    async with db.unit_of_work() as s:
        announcement = await create_announcement(
            s, author=operator("bench"), school_id="S", audience="school", audience_value=None,
            text="Шановні батьки! Завтра батьківські збори о 18:00.", urgent=False)
    print(f"{db.url.split(':')[0]}: announcement to {announcement.recipients} chats, "
          f"limit {args.rate:g}/s")
    bot = build_bot(settings, timeout=10.0)
    service = NotificationService(db, settings, {"telegram": TelegramDeliverer(bot)}, config=config)
    started = time.time()
    await service.start()
    try:
        marked_at = await inject_absence(db, log, announcement.recipients, args.absence_at)
        while await waiting_rows(db):
            await asyncio.sleep(0.5)
    finally:
        await service.stop()
        await bot.session.close()
    report(accepted(log), await rejected_429(url), announcement.recipients, args,
           time.time() - started, marked_at, await absence_queued_at(db))


async def inject_absence(db: Database, log: Path, total: int, share: float) -> float:
    """Mark the pupil absent once `share` of the announcement went out; returns when."""
    while (log.read_bytes().count(b"\n") if log.exists() else 0) < total * share:
        await asyncio.sleep(0.05)
    async with db.unit_of_work() as s:
        s.add(Attendance(student_id="P-1", lesson_id="L", status="absent"))
    return time.time()


def report(sends: list[dict[str, Any]], too_many: int, total: int, args: argparse.Namespace,
           elapsed: float, marked_at: float, queued_at: datetime | None) -> None:
    sends = [r for r in sends if r["method"] == "sendMessage"]
    announced = [r for r in sends if "збори" in (r["text"] or "")]
    copies = Counter(r["chat_id"] for r in announced)
    expected = {ABSENT_CHAT} | {FIRST_CHAT + n for n in range(total - 1)}
    first, last = min(r["at"] for r in announced), max(r["at"] for r in announced)
    window = last - first
    in_window = sum(1 for r in sends if first <= r["at"] <= last)
    achieved = (in_window - 1) / window if window > 0 else float("nan")
    alert = next(r for r in sends if r["chat_id"] == ABSENT_CHAT and "Фізика" in (r["text"] or ""))
    queued = "?" if queued_at is None else f"{alert['ts'] - queued_at.timestamp():.2f} s"
    print(f"messages sent           {len(sends)} in {window:.1f} s ({elapsed:.1f} s in all)")
    print(f"achieved rate / limit   {achieved:.2f}/s / {args.rate:g}/s = {achieved / args.rate:.3f}"
          f"   (goal >= 0.95)")
    print(f"429 answers received    {too_many}")
    print(f"duplicates              {sum(n - 1 for n in copies.values() if n > 1)}   (goal 0)")
    print(f"lost                    {len(expected - set(copies))}   (goal 0)")
    print(f"absence alert latency   mark -> delivered {alert['ts'] - marked_at:.2f} s "
          f"(the absence job runs every {args.absence_interval:g} s); "
          f"queued -> delivered {queued}   (goal: seconds)")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parents", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=30.0)
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL at TEST_POSTGRES_URL")
    parser.add_argument("--absence-interval", type=float, default=20.0)
    parser.add_argument("--absence-at", type=float, default=0.5, help="share sent before the mark")
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(bench(parse()))
