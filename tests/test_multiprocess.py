"""A city on PostgreSQL: two worker and two web processes of `run_bot.py run --role`.

The worker holding the lease is SIGKILLed in the middle of an announcement; the other
takes over. The fake Bot API's own log must show every parent with exactly one copy
(but for the few requests in flight at the kill) and no 429: the two workers never
dispatched at the same time, so the rate limit held. Meanwhile both web processes
answer parents through the Telegram webhook.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import func, select

from school_bot.notifications.announcements import create_announcement, operator
from school_bot.notifications.service import LEASE
from school_bot.storage.db import Database
from school_bot.storage.models import Lease, OutboxMessage
from tests.support.processes import child, free_port
from tests.support.school_world import SchoolWorld, many_families

TOKEN = "6161:city"
SECRET = "city-webhook-secret"
CHATS = 600
RATE = 40          # what the workers allow themselves
SERVER_RATE = 50   # what the fake Bot API enforces: two dispatchers at once would exceed it


def _log(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


async def _sent(db: Database) -> int:
    async with db.unit_of_work() as s:
        return int(await s.scalar(select(func.count()).select_from(OutboxMessage)
                                  .where(OutboxMessage.status == "sent")) or 0)


async def _lease_pid(db: Database) -> int:
    async with db.unit_of_work() as s:
        holder = await s.scalar(select(Lease.holder).where(Lease.name == LEASE))
    assert holder is not None
    return int(holder.split(":")[1])


async def test_two_workers_two_web_processes_a_killed_worker_and_one_copy_each(
        pg_db: Database, postgres_url: str, tmp_path: Path) -> None:
    """Several processes on one database is the PostgreSQL shape (docs/deploy.md)."""
    db, db_url = pg_db, postgres_url
    world = await SchoolWorld(db).build()
    chats = await many_families(db, CHATS)
    log = tmp_path / "telegram.jsonl"
    env = {**os.environ, "DATABASE_URL": db_url, "QUIET_HOURS": "", "LOG_LEVEL": "INFO"}
    async with child("-m", "tests.fakes.telegram_api", "--port", "0", "--token", TOKEN,
                     "--rate", str(SERVER_RATE), "--log", str(log), "--log-rejected",
                     env=env, ready="READY") as (_, ready):
        api = ready.split()[-1]
        env.update(TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_URL=api,
                   TELEGRAM_RATE_PER_SECOND=str(RATE), NOTIFY_WORKER_LEASE="3",
                   NOTIFY_SENDING_LEASE="2", NOTIFY_POLL_INTERVAL="0.1",
                   TELEGRAM_MODE="webhook", TELEGRAM_WEBHOOK_SECRET=SECRET)
        ports = [free_port(), free_port()]
        async with child("run_bot.py", "run", "--role", "worker", env=env, ready="running role=",
                         stream="stderr") as (w1, _), \
                child("run_bot.py", "run", "--role", "worker", env=env, ready="running role=",
                      stream="stderr") as (w2, _), \
                child("run_bot.py", "run", "--role", "web", env={**env, "WEB_PORT": str(ports[0])},
                      ready="running role=", stream="stderr"), \
                child("run_bot.py", "run", "--role", "web", env={**env, "WEB_PORT": str(ports[1])},
                      ready="running role=", stream="stderr"):
            async with db.unit_of_work() as s:
                await create_announcement(
                    s, author=operator("test"), school_id=world.school_id, audience="school",
                    audience_value=None, text="Завтра батьківські збори о 18:00.", urgent=False)
            async with asyncio.timeout(60):
                while await _sent(db) < CHATS // 3:
                    await asyncio.sleep(0.05)
            active = await _lease_pid(db)
            assert active in (w1.pid, w2.pid)
            os.kill(active, signal.SIGKILL)
            assert await _sent(db) < CHATS  # killed in the middle of the announcement
            await _answers_through_both_web_processes(ports, log)
            async with asyncio.timeout(90):
                while await _sent(db) < CHATS:
                    await asyncio.sleep(0.2)
            assert await _lease_pid(db) == ({w1.pid, w2.pid} - {active}).pop()
    entries = _log(log)
    wanted = {str(chat) for chat in chats}
    copies = Counter(str(e["chat_id"]) for e in entries
                     if e.get("method") == "sendMessage" and e.get("ok") and str(e["chat_id"]) in wanted)
    assert set(copies) == wanted                                       # nobody lost
    assert sum(n - 1 for n in copies.values()) <= 16                   # only in-flight repeats
    assert [e for e in entries if e.get("status") == 429] == []        # the rate limit held


async def _answers_through_both_web_processes(ports: list[int], log: Path) -> None:
    async with aiohttp.ClientSession() as http:
        for n, port in enumerate(ports):
            update = {"update_id": 900 + n, "message": {
                "message_id": 1, "date": 1764300000, "text": "/help",
                "chat": {"id": 990000 + n, "type": "private"},
                "from": {"id": 990000 + n, "is_bot": False, "first_name": "Олена", "language_code": "uk"}}}
            headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
            async with http.post(f"http://127.0.0.1:{port}/telegram/webhook", json=update,
                                 headers=headers) as response:
                assert response.status == 200
    async with asyncio.timeout(20):
        while not {"990000", "990001"} <= {str(e.get("chat_id")) for e in _log(log)}:
            await asyncio.sleep(0.1)
