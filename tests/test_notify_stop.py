"""Stopping the notifications while a scheduled job is running: the job finishes within
NOTIFY_JOB_STOP_GRACE, or is cancelled and rolled back; either way the log has no
error line and no traceback, and nothing is left half-written. On SQLite and PostgreSQL.

The job held mid-run is the retention purge, stopped from outside the bot: on
PostgreSQL a transaction holds the audit log's head row (the purge has deleted a
round's rows and waits to append its entry), on SQLite one holds the database's write
lock (the purge waits to begin).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from school_bot.bot.app import run
from school_bot.notifications.service import NotificationService
from school_bot.storage import audit
from school_bot.storage.db import Database
from school_bot.storage.models import AuditEntry, OutboxMessage
from tests.fakes.telegram_api import FakeTelegramBotAPI
from tests.support.notify import config, settings
from tests.support.school_world import SchoolWorld
from tests.support.world import notification

OLD = datetime.now(UTC) - timedelta(days=40)
LONG = 3600.0  # the other jobs run once, at the start


class PurgeHold:
    """Holds the purge mid-run from outside the bot, until `release`."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._pg: AsyncConnection | None = None
        self._sqlite: sqlite3.Connection | None = None

    async def before_start(self) -> None:
        if not self.db.sqlite:
            self._pg = await self.db.engine.connect()
            await self._pg.execute(text("SELECT last_id FROM audit_head WHERE id = 1 FOR UPDATE"))

    def after_start(self) -> None:
        """SQLite: at once, before the loop runs the jobs (the service holds no transaction)."""
        if self.db.sqlite:
            self._sqlite = sqlite3.connect(make_url(self.db.url).database or "", isolation_level=None)
            self._sqlite.execute("BEGIN IMMEDIATE")

    async def wait_until_held(self, caplog: pytest.LogCaptureFixture) -> None:
        await until(lambda: logged(caplog, 'Running job "purge_expired'))
        if self._pg is not None:  # it has deleted and waits for the head row
            waiting = text("SELECT count(*) FROM pg_stat_activity "
                           "WHERE datname = current_database() AND wait_event_type = 'Lock'")
            async with self.db.engine.connect() as conn:
                while not await conn.scalar(waiting):
                    await asyncio.sleep(0.02)

    async def release(self) -> None:
        if self._pg is not None:
            await self._pg.rollback()
            await self._pg.close()
        if self._sqlite is not None:
            self._sqlite.rollback()
            self._sqlite.close()


def logged(caplog: pytest.LogCaptureFixture, words: str) -> bool:
    return any(words in record.getMessage() for record in caplog.records)


async def until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(30):
        while not condition():
            await asyncio.sleep(0.02)


async def old_messages(db: Database) -> int:
    """Five sent messages forty days old; an audit entry (the head row exists)."""
    world = await SchoolWorld(db).build()
    olena = await world.family(1)
    await world.add([notification(olena.account_id, "grades", f"old-{n}", status="sent",
                                  created_at=OLD, next_attempt_at=OLD) for n in range(5)])
    async with db.unit_of_work() as s:
        await audit.record(s, actor="system", action="test")
    return 5


async def messages_and_purges(db: Database) -> tuple[int, list[AuditEntry], bool]:
    async with db.unit_of_work() as s:
        rows = len((await s.scalars(select(OutboxMessage.id))).all())
        entries = (await s.scalars(select(AuditEntry).where(AuditEntry.action == "retention.purged"))).all()
        verified = (await audit.verify_chain(s)).ok
    return rows, list(entries), verified


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records
            if r.levelno >= logging.ERROR or r.exc_info or "exception" in r.getMessage()]


async def stop_while_purging(db: Database, caplog: pytest.LogCaptureFixture, *, grace: float,
                             release_on: str) -> None:
    """Start the service, hold its purge mid-run, stop it; release the hold once the
    stop has logged `release_on`."""
    caplog.set_level(logging.INFO)
    service = NotificationService(
        db, settings(), {}, config=config(
            job_stop_grace=grace, worker_lease=LONG, retention_chunk=2, absence_interval=LONG,
            grades_interval=LONG, events_interval=LONG, teachers_interval=LONG,
            launch_interval=LONG, evening_interval=LONG, reports_interval=LONG,
            housekeeping_interval=LONG, retention_interval=LONG))
    hold = PurgeHold(db)
    await hold.before_start()
    await service.start()
    hold.after_start()
    stopping: asyncio.Task[None] | None = None
    try:
        await hold.wait_until_held(caplog)
        stopping = asyncio.create_task(service.stop())
        await until(lambda: logged(caplog, release_on))
    finally:
        await hold.release()
        await (service.stop() if stopping is None else stopping)
    assert not service.running


async def test_a_job_cut_short_by_the_stop_is_rolled_back_quietly(
        db: Database, caplog: pytest.LogCaptureFixture) -> None:
    sent = await old_messages(db)

    await stop_while_purging(db, caplog, grace=0.05, release_on="cancelling")

    assert errors(caplog) == []
    assert logged(caplog, "job purge_expired stopped before it finished")
    rows, entries, verified = await messages_and_purges(db)
    assert (rows, entries, verified) == (sent, [], True)  # no deletion without its entry


async def test_a_job_that_ends_within_the_grace_period_is_waited_for(
        db: Database, caplog: pytest.LogCaptureFixture) -> None:
    await old_messages(db)

    await stop_while_purging(db, caplog, grace=60, release_on="waiting up to 60s for")

    assert errors(caplog) == []
    assert not logged(caplog, "stopped before it finished")
    rows, entries, verified = await messages_and_purges(db)
    assert rows == 0 and sum(e.details["outbox"] for e in entries) == 5 and verified


async def test_run_stopped_while_a_job_runs_stops_cleanly(
        pg_db: Database, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """`run --role worker`, stopped (as SIGTERM does) while the purge waits mid-round:
    PostgreSQL, where one transaction outside the bot can hold a job there from the start."""
    sent = await old_messages(pg_db)
    caplog.set_level(logging.INFO)
    monkeypatch.setenv("NOTIFY_JOB_STOP_GRACE", "0.05")
    monkeypatch.setenv("NOTIFY_RETENTION_CHUNK", "2")
    hold = PurgeHold(pg_db)
    await hold.before_start()
    stop = asyncio.Event()
    async with FakeTelegramBotAPI(token="31337:stop-test") as api:
        bot = asyncio.create_task(run(settings(database_url=pg_db.url, telegram_bot_token="31337:stop-test",
                                               telegram_api_url=api.base_url), "worker", stop=stop))
        try:
            await hold.wait_until_held(caplog)
            stop.set()
            await until(lambda: logged(caplog, "cancelling"))
        finally:
            await hold.release()
            stop.set()
        assert await bot == 0

    assert errors(caplog) == []
    assert logged(caplog, "stopped role=worker")
    assert await messages_and_purges(pg_db) == (sent, [], True)
