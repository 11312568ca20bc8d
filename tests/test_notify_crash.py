"""Crash and resume: a delivering process is SIGKILLed in the middle of a 1,000-chat
announcement and started again; the fake Bot API's own log then shows that every chat
got exactly one copy, except at most the few whose request was in flight at the kill.

Real processes: the standalone fake server (`python -m tests.fakes.telegram_api --log`)
and the worker, `python run_bot.py run --role worker` (with NOTIFY_JOBS=false: it only
delivers); the announcement is written as the command line writes it.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from school_bot.notifications.announcements import create_announcement, operator
from school_bot.storage.db import Database
from school_bot.storage.models import Account, OutboxMessage
from tests.support.school_world import SchoolWorld, many_families

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "5151:crash-resume"
CHATS = 1000
MAX_IN_FLIGHT = 8


@asynccontextmanager
async def process(*args: str, env: dict[str, str],
                  ready: str | None = None) -> AsyncIterator[tuple[asyncio.subprocess.Process, str]]:
    """A child process; yields it with its ready line (when one is awaited: else its
    output is not read). Killed at the end if still alive."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, *args, cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE if ready else asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL)
    line = ""
    try:
        async with asyncio.timeout(30):
            while ready is not None:
                assert proc.stdout is not None  # piped while a ready line is awaited
                line = (await proc.stdout.readline()).decode()
                if not line:
                    raise RuntimeError(f"{args[0:2]} exited before it was ready")
                if line.startswith(ready):
                    break
        yield proc, line.strip()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


def sent_lines(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def line_count(log: Path) -> int:
    return log.read_bytes().count(b"\n") if log.exists() else 0


async def statuses(db: Database) -> Counter[str]:
    async with db.unit_of_work() as s:
        rows = await s.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))
        return Counter(dict(rows.tuples().all()))


async def test_a_killed_worker_resumes_without_losing_or_doubling(db, db_url, tmp_path) -> None:
    world = await SchoolWorld(db).build()
    chats = await many_families(db, CHATS)
    log = tmp_path / "telegram.jsonl"
    env = {**os.environ, "DATABASE_URL": db_url, "QUIET_HOURS": "", "LOG_LEVEL": "WARNING"}

    async with process("-m", "tests.fakes.telegram_api", "--port", "0", "--token", TOKEN,
                       "--log", str(log), env=env, ready="READY") as (_, ready):
        env.update(TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_URL=ready.split()[1],
                   TELEGRAM_RATE_PER_SECOND="300", TELEGRAM_CHAT_RATE_PER_SECOND="1",
                   NOTIFY_SENDING_LEASE="2", NOTIFY_POLL_INTERVAL="0.1",
                   NOTIFY_MAX_IN_FLIGHT=str(MAX_IN_FLIGHT), NOTIFY_JOBS="false")
        async with db.unit_of_work() as s:
            announcement = await create_announcement(
                s, author=operator("test"), school_id=world.school_id, audience="school",
                audience_value=None, text="Шановні батьки! Завтра уроки за скороченим розкладом.",
                urgent=False)
        assert announcement.recipients == CHATS

        async with process("run_bot.py", "run", "--role", "worker", env=env) as (worker, _):
            async with asyncio.timeout(60):
                while line_count(log) < CHATS // 3:
                    await asyncio.sleep(0.02)
            worker.send_signal(signal.SIGKILL)
            await worker.wait()
        at_kill = await statuses(db)
        sent_at_kill = line_count(log)
        assert at_kill["sent"] < CHATS and sent_at_kill < CHATS  # killed in the middle
        assert at_kill["sending"] <= MAX_IN_FLIGHT + 10

        async with process("run_bot.py", "run", "--role", "worker", env=env) as (worker, _):
            async with asyncio.timeout(90):
                while (await statuses(db))["sent"] < CHATS:
                    await asyncio.sleep(0.1)
            worker.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(worker.wait(), 30) == 0

    copies = Counter(r["chat_id"] for r in sent_lines(log) if r["method"] == "sendMessage")
    assert set(copies) == set(chats)                          # none lost
    doubled = {chat for chat, n in copies.items() if n > 1}
    assert all(n <= 2 for n in copies.values())
    assert len(doubled) <= at_kill["sending"]                 # only those in flight at the kill
    assert await statuses(db) == Counter({"sent": CHATS})
    async with db.unit_of_work() as s:
        assert (await s.scalar(select(func.count()).select_from(Account)
                               .where(Account.active.is_(False)))) == 0
