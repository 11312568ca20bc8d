"""End to end across processes: a write committed by one process wakes the worker of
another at once, not at the worker's next scan or poll (both set an hour apart).

* PostgreSQL: `run --role web` (no messenger) takes an absence through the ingest API;
  `run --role worker`, told by NOTIFY, delivers it to the fake Bot API.
* `run_bot.py import` run beside `run_bot.py run`: the bot hears of it (SQLite: its
  data_version moves; PostgreSQL: the import's NOTIFY), runs its scans and delivers.
"""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import aiohttp
from sqlalchemy import select

from school_bot.storage.db import Database
from school_bot.storage.models import OutboxMessage
from tests.fakes.telegram_api import FakeTelegramBotAPI
from tests.support.api import new_key
from tests.support.notify import KYIV
from tests.support.processes import ROOT, child, free_port
from tests.support.school_world import Family, SchoolWorld

TOKEN = "5151:wake"
HOUR = "3600"


def _env(database_url: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": database_url, "QUIET_HOURS": "", "LOG_LEVEL": "INFO",
            "NOTIFY_ABSENCE_INTERVAL": HOUR, "NOTIFY_POLL_INTERVAL": HOUR,
            "TELEGRAM_BOT_TOKEN": "", "VIBER_AUTH_TOKEN": "", "WEB_HOST": "127.0.0.1"}


def _today() -> date:
    return datetime.now(UTC).astimezone(KYIV).date()


async def _a_pupil_with_a_lesson_today(db: Database) -> tuple[SchoolWorld, Family]:
    world = await SchoolWorld(db).build()
    olena = await world.family(1)
    await world.add_lesson("L1", 1, "Математика", day=_today())
    return world, olena


async def _absence_rows(db: Database) -> list[tuple[str, str]]:
    async with db.unit_of_work() as session:
        rows = (await session.scalars(select(OutboxMessage))).all()
        return [(row.kind, row.status) for row in rows]


async def test_on_postgresql_the_web_process_wakes_the_worker_process(
        pg_db: Database, postgres_url: str) -> None:
    world, olena = await _a_pupil_with_a_lesson_today(pg_db)
    key = await new_key(pg_db, world.school_id)
    port = free_port()
    async with FakeTelegramBotAPI(token=TOKEN) as telegram:
        env = _env(postgres_url)
        worker = {**env, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": telegram.base_url}
        async with child("run_bot.py", "run", "--role", "worker", env=worker,
                         ready="listening for writes", stream="stderr"), \
                child("run_bot.py", "run", "--role", "web", env={**env, "WEB_PORT": str(port)},
                      ready="running role=web", stream="stderr"), \
                aiohttp.ClientSession() as http:
            async with http.post(f"http://127.0.0.1:{port}/api/v1/attendance",
                                 headers={"Authorization": f"Bearer {key}"},
                                 json=[{"student_id": olena.student_id, "lesson_id": "L1",
                                        "status": "absent"}]) as answer:
                assert answer.status == 200, await answer.text()
            alert = await telegram.wait_for(
                lambda r: r.method == "sendMessage" and r.chat_id == olena.chat_id, timeout=30)
            async with asyncio.timeout(20):
                while await _absence_rows(pg_db) != [("absence", "sent")]:
                    await asyncio.sleep(0.05)
    assert "Математика" in (alert.text or "")
    assert len(telegram.messages_to(olena.chat_id)) == 1


async def test_an_import_beside_the_running_bot_reaches_the_parent(db: Database,
                                                                   tmp_path: Path) -> None:
    """SQLite: the bot sees data_version move; PostgreSQL: the import sends a NOTIFY."""
    _, olena = await _a_pupil_with_a_lesson_today(db)
    folder = tmp_path / "diary"
    folder.mkdir()
    (folder / "attendance.csv").write_text(
        f"student_id,lesson_id,status\n{olena.student_id},L1,absent\n", encoding="utf-8")
    ready = "watching for other processes" if db.sqlite else "listening for writes"
    async with FakeTelegramBotAPI(token=TOKEN, max_poll_wait=0.5) as telegram:
        env = {**_env(db.url), "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": telegram.base_url,
               "TELEGRAM_MODE": "polling", "WEB_PORT": "0"}
        async with child("run_bot.py", "run", env=env, ready=ready, stream="stderr"):
            imported = await asyncio.create_subprocess_exec(
                sys.executable, "run_bot.py", "import", str(folder), cwd=ROOT, env=env,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            out, err = await asyncio.wait_for(imported.communicate(), 60)
            assert imported.returncode == 0, (out + err).decode()[-2000:]
            alert = await telegram.wait_for(
                lambda r: r.method == "sendMessage" and r.chat_id == olena.chat_id, timeout=30)
    assert "Математика" in (alert.text or "")
    assert len(telegram.messages_to(olena.chat_id)) == 1
