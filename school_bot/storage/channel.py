"""How the processes of one database learn that another committed something.

* PostgreSQL: `notify` inside a transaction (`pg_notify`: the listeners get it when the
  transaction commits, never if it rolls back); `listen` opens a connection of its own,
  outside the engine's pool, that LISTENs on a channel.
* SQLite has no channel. `data_version` reads SQLite's counter of the commits made by
  other connections (another process: an import), on the engine's connection: the
  process's own commits, all made on that connection, do not move it.
"""

from __future__ import annotations

from collections.abc import Callable

import asyncpg
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from school_bot.storage.db import Database
from school_bot.storage.fast import asyncpg_options
from school_bot.storage.writes import on_postgresql

LISTENER_NAME = "school-bot listener"  # application_name in pg_stat_activity


async def notify(session: AsyncSession, channel: str, payload: str) -> None:
    """On PostgreSQL, send `payload` on `channel` when the session's transaction commits."""
    if on_postgresql(session):
        await session.execute(select(func.pg_notify(channel, payload)))


async def listen(database: Database, channel: str, callback: Callable[[str], None], *,
                 timeout: float = 10.0) -> asyncpg.Connection:
    """A connection of its own to the database (PostgreSQL), LISTENing on `channel`:
    `callback(payload)` is called in the event loop for each notification. The caller
    closes it."""
    engine = database.engine
    options = asyncpg_options(engine.url, engine.dialect, LISTENER_NAME, timeout)
    connection = await asyncpg.connect(**options)
    try:
        await connection.add_listener(
            channel, lambda _connection, _pid, _channel, payload: callback(payload))
    except BaseException:
        await connection.close(timeout=timeout)
        raise
    return connection


async def data_version(database: Database) -> int:
    """SQLite's `PRAGMA data_version` on the engine's connection, read outside any
    transaction (no BEGIN: the write lock is not taken). It changes when another
    connection commits."""
    async with database.engine.connect() as connection:
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None  # a live connection of the pool
        rows = await driver.execute_fetchall("PRAGMA data_version")
    return int(rows[0][0])
