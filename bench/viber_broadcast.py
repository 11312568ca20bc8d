#!/usr/bin/env python3
"""An announcement to 3,000 Viber parents: in broadcast_message calls, and one by one.

    python bench/viber_broadcast.py [--parents 3000] [--postgres] [--unsubscribed 30]

The real pieces run against the fake Viber REST API (`tests/fakes/viber_api.py`, real
HTTP on 127.0.0.1, in this process): a fresh SQLite file (or, with --postgres, a fresh
database at TEST_POSTGRES_URL), `create_announcement`, the NotificationService's
dispatcher with the Viber deliverer, Viber's pacing (`VIBER_RATE_PER_SECOND`, 50 calls a
second: broadcast_message's 500 requests per 10 seconds). The fake answers
tooManyRequests above that rate and puts `--unsubscribed` parents in each broadcast's
`failed_list` (one by one: their send_message fails alike). The same announcement is
sent twice on fresh data: with broadcasts (NOTIFY_BROADCAST_ANNOUNCEMENTS, the default)
and one send_message per parent. Printed per way:

* calls made (broadcast_message, send_message), seconds from the dispatcher's start to
  the last outcome recorded, messages delivered;
* tooManyRequests answers (goal 0), duplicates and lost copies (goal 0), blocked chats.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from bench.broadcast import drop_database, fresh_database  # noqa: E402
from school_bot.bot.viber.client import ViberClient  # noqa: E402
from school_bot.bot.viber.delivery import ViberDeliverer  # noqa: E402
from school_bot.bot.viber.files import FileStore  # noqa: E402
from school_bot.notifications.announcements import create_announcement, operator  # noqa: E402
from school_bot.notifications.config import NotifyConfig  # noqa: E402
from school_bot.notifications.outbox import FINAL, OutboxStatus  # noqa: E402
from school_bot.notifications.service import NotificationService  # noqa: E402
from school_bot.storage.db import Database  # noqa: E402
from school_bot.storage.migrate import upgrade  # noqa: E402
from school_bot.storage.models import (  # noqa: E402
    Account, Guardian, GuardianStudent, OutboxMessage, School, SchoolClass, Student,
)
from school_bot.shared.settings import Settings  # noqa: E402
from tests.fakes.viber_api import FakeViberAPI  # noqa: E402

TOKEN = "445da6az1s345z78-dazcczb2542zv51a-e0vc5fva17480im9"
WAYS = (("broadcast", True), ("one by one", False))


def chat(n: int) -> str:
    return f"bench{n:06d}AAAAAAAAAAAAA=="


async def build_city(db: Database, parents: int) -> None:
    """One launched school, one class, `parents` families linked on Viber."""
    async with db.unit_of_work() as s:
        s.add(School(id="S", name="Ліцей №7", launched=True, timezone="Europe/Kyiv"))
        await s.flush()
        s.add(SchoolClass(id="C", school_id="S", name="9-А"))
        await s.flush()
        s.add_all(Student(id=f"P{n}", class_id="C", full_name=f"Учень{n} Іван") for n in range(parents))
        s.add_all(Guardian(id=f"G{n}", consent=True) for n in range(parents))
        await s.flush()
        s.add_all(GuardianStudent(guardian_id=f"G{n}", student_id=f"P{n}") for n in range(parents))
        s.add_all(Account(platform="viber", guardian_ids=[f"G{n}"], chat_id=chat(n), language="uk",
                          linked_at=datetime.now(UTC)) for n in range(parents))


async def waiting_rows(db: Database) -> int:
    async with db.unit_of_work() as s:
        return int(await s.scalar(select(func.count()).select_from(OutboxMessage)
                                  .where(OutboxMessage.status.not_in(FINAL))) or 0)


async def blocked_rows(db: Database) -> int:
    async with db.unit_of_work() as s:
        return int(await s.scalar(select(func.count()).select_from(OutboxMessage)
                                  .where(OutboxMessage.status == OutboxStatus.BLOCKED)) or 0)


async def one_way(args: argparse.Namespace, label: str, broadcast: bool) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        db, pg_name = await fresh_database(args.postgres, Path(tmp))
        try:
            await upgrade(db.engine)
            await build_city(db, args.parents)
            return await deliver(db, args, label, broadcast)
        finally:
            await db.dispose()
            if pg_name:
                await drop_database(pg_name)


async def deliver(db: Database, args: argparse.Namespace, label: str,
                  broadcast: bool) -> dict[str, object]:
    settings = Settings(_env_file=None, database_url=db.url, quiet_hours="",  # type: ignore[call-arg]
                        viber_rate_per_second=args.rate)
    config = NotifyConfig.from_settings(settings, broadcast_announcements=broadcast)
    async with db.unit_of_work() as s:
        announcement = await create_announcement(
            s, author=operator("bench"), school_id="S", audience="school", audience_value=None,
            text="Шановні батьки! Завтра батьківські збори о 18:00.", urgent=False)
    gone = {chat(n) for n in range(0, args.parents, max(1, args.parents // max(args.unsubscribed, 1)))
            } if args.unsubscribed else set()
    async with FakeViberAPI(TOKEN, rate_limit_per_second=args.rate) as api, \
            aiohttp.ClientSession() as http:
        api.unsubscribed |= gone
        client = ViberClient(http, api_url=api.base_url, auth_token=TOKEN, bot_name="Ліцей №7")
        service = NotificationService(db, settings, {"viber": ViberDeliverer(client, FileStore(None))},
                                      config=config, jobs=False)
        started = time.perf_counter()
        await service.start()
        try:
            while await waiting_rows(db):
                await asyncio.sleep(0.05)
            seconds = time.perf_counter() - started
        finally:
            await service.stop()
        copies = Counter(r.receiver for r in api.sent if r.endpoint in ("send_message",
                                                                          "broadcast_message"))
    expected = {chat(n) for n in range(args.parents)} - gone
    return {"way": label, "recipients": announcement.recipients,
            "broadcast calls": api.count("broadcast_message"),
            "send_message calls": api.count("send_message"), "seconds": seconds,
            "delivered": sum(copies.values()), "too many": api.rejected_too_many,
            "duplicates": sum(n - 1 for n in copies.values() if n > 1),
            "lost": len(expected - set(copies)), "blocked": await blocked_rows(db)}


def report(backend: str, results: list[dict[str, object]]) -> None:
    print(f"{backend}: an announcement to {results[0]['recipients']} Viber parents")
    for r in results:
        print(f"  {r['way']:<11} calls {r['broadcast calls']} broadcast_message + "
              f"{r['send_message calls']} send_message   seconds {r['seconds']:.2f}   "
              f"delivered {r['delivered']}   tooManyRequests {r['too many']}   "
              f"duplicates {r['duplicates']}   lost {r['lost']}   blocked {r['blocked']}")


async def bench(args: argparse.Namespace) -> None:
    results = [await one_way(args, label, broadcast) for label, broadcast in WAYS]
    report("PostgreSQL" if args.postgres else "SQLite", results)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parents", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=50.0, help="Viber calls a second")
    parser.add_argument("--unsubscribed", type=int, default=30,
                        help="parents who left the bot (in failed_list)")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL at TEST_POSTGRES_URL")
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(bench(parse()))
