"""The worker's ears: what another process committed, heard within a second or so.

* PostgreSQL (`Listener`): a connection of its own LISTENs on the wake channel
  (notifications/wake.py) and hands each notification to the process's `Wake`. A
  connection that drops is opened again after a pause that doubles from 0.5 s up to
  30 s while it keeps failing; once it is back, `WRITTEN` is heard once, so the scans
  find whatever was said while nobody listened. A quiet connection is checked every
  15 s (a network that went away does not always close it).
* SQLite (`DataVersionWatcher`): `PRAGMA data_version` on the process's own connection
  about once a second; when it moved, another process committed (an import, a web
  process): `WRITTEN` is heard. The process's own commits do not move it.

`WRITTEN` makes `Rescan` run the scans of what writes cause (absences, grades,
events, the evening homework) at once, then nudge the dispatcher; the scheduler's
periodic runs of the same jobs go on as before, as the safety net.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from contextlib import suppress
from typing import Protocol

import asyncpg
from sqlalchemy.exc import SQLAlchemyError

from school_bot.notifications.jobs.common import JobContext
from school_bot.notifications.scheduler import JobSpec, job_specs, run_job
from school_bot.notifications.wake import CHANNEL, WRITTEN, Wake
from school_bot.storage import channel
from school_bot.storage.db import Database

log = logging.getLogger(__name__)

# The scheduled jobs whose work a write of the school's data causes.
CAUSED_BY_WRITES = ("absence_alerts", "grade_notifications", "event_notifications",
                    "homework_for_tomorrow")
RETRY_FIRST, RETRY_MOST = 0.5, 30.0  # seconds between attempts to connect again
CHECK_EVERY = 15.0  # seconds: a quiet listening connection is asked whether it still works
CHECK_TIMEOUT = 5.0
_LOST = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)


class Watcher(Protocol):
    async def run(self) -> None: ...


class Listener:
    """PostgreSQL LISTEN on a connection of its own, reconnecting with backoff."""

    def __init__(self, database: Database, wake: Wake) -> None:
        self.database = database
        self.wake = wake

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        pause, listened = RETRY_FIRST, False
        while True:
            try:
                connection = await channel.listen(self.database, CHANNEL, self.wake.heard)
            except _LOST as exc:
                log.warning("listener: cannot listen for writes (%s); trying again in %.1f s",
                            type(exc).__name__, pause)
            else:
                log.info("listener: listening for writes on PostgreSQL")
                if listened:  # what was said while nobody listened: the scans find it
                    self.wake.heard(WRITTEN)
                listened, began = True, loop.time()
                try:
                    await self._until_lost(connection)
                finally:
                    await _close(connection)
                if loop.time() - began >= CHECK_EVERY:
                    pause = RETRY_FIRST  # it had worked for a while: not failing again and again
                log.warning("listener: the listening connection was lost; connecting again in %.1f s",
                            pause)
            await asyncio.sleep(pause)
            pause = min(pause * 2, RETRY_MOST)

    async def _until_lost(self, connection: asyncpg.Connection) -> None:
        lost = asyncio.Event()
        connection.add_termination_listener(lambda _connection: lost.set())
        while not connection.is_closed():
            with suppress(TimeoutError):
                await asyncio.wait_for(lost.wait(), CHECK_EVERY)
                return
            try:
                await connection.fetchval("SELECT 1", timeout=CHECK_TIMEOUT)
            except _LOST:
                return


async def _close(connection: asyncpg.Connection) -> None:
    try:
        await asyncio.wait_for(connection.close(), CHECK_TIMEOUT)
    except _LOST:
        connection.terminate()
    except asyncio.CancelledError:
        connection.terminate()
        raise


class DataVersionWatcher:
    """SQLite: another process's commit, seen by `PRAGMA data_version` every `interval`."""

    def __init__(self, database: Database, wake: Wake, interval: float) -> None:
        self.database = database
        self.wake = wake
        self.interval = interval

    async def run(self) -> None:
        seen: int | None = None
        while True:
            try:
                version = await channel.data_version(self.database)
            except (SQLAlchemyError, sqlite3.Error, OSError) as exc:
                log.warning("watcher: cannot read data_version (%s)", type(exc).__name__)
            else:
                if seen is None:
                    log.info("watcher: watching for other processes' commits (SQLite data_version)")
                elif version != seen:
                    self.wake.heard(WRITTEN)
                seen = version
            await asyncio.sleep(self.interval)


def watcher_for(database: Database, wake: Wake, interval: float) -> Watcher:
    if database.sqlite:
        return DataVersionWatcher(database, wake, interval)
    return Listener(database, wake)


class Rescan:
    """The scans of what writes cause, run at once when asked; asked again while they
    run, they run once more after (not once per ask)."""

    def __init__(self, ctx: JobContext) -> None:
        self.ctx = ctx
        specs = {spec.id: spec for spec in job_specs(ctx)}
        self.specs: list[JobSpec] = [specs[name] for name in CAUSED_BY_WRITES]
        self._asked = asyncio.Event()

    def ask(self) -> None:
        self._asked.set()

    async def run(self) -> None:
        while True:
            await self._asked.wait()
            self._asked.clear()
            for spec in self.specs:
                await run_job(self.ctx, spec)
            self.ctx.nudge()  # another process may have queued rows itself
