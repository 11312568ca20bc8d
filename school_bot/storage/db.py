"""Engine and session factory, built by the composition root and passed in."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from enum import Enum
from typing import TypeVar

from sqlalchemy import event
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from school_bot.storage import speed_paths
from school_bot.storage.erasure import install_sqlite_purge
from school_bot.storage.fast import (
    READER_KEY,
    Reader,
    UnitOfWorkSession,
    has_work,
    holds_connection,
    reader_for,
)
from school_bot.storage.sqlalchemy_internals import close_idle

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=15000",
    "PRAGMA secure_delete=ON",
    "PRAGMA synchronous=NORMAL",
)


T = TypeVar("T")


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def _apply_sqlite_pragmas(dbapi_conn: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    # PRAGMAs must run outside a transaction; afterwards the driver stays in
    # autocommit mode and SQLAlchemy's "begin" event below issues BEGIN itself.
    dbapi_conn.isolation_level = None  # type: ignore[attr-defined]
    cursor = dbapi_conn.cursor()
    for pragma in SQLITE_PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


def _begin_immediate(conn) -> None:  # type: ignore[no-untyped-def]
    # Take the write lock at BEGIN so two writers queue on busy_timeout instead of
    # failing with "database is locked" when a read transaction upgrades to a write.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def create_engine(url: str, *, echo: bool = False, pool_size: int = 10) -> AsyncEngine:
    if is_sqlite(url):
        # One connection: SQLite has one writer at a time, and every transaction here
        # takes the write lock at BEGIN, so more connections in one process would only
        # queue in SQLite's busy handler (which sleeps); the pool hands the connection
        # over at once. Other processes (an import) still wait on busy_timeout.
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 15},
                                     pool_size=1, max_overflow=0, pool_timeout=60)
        event.listen(engine.sync_engine, "connect", _apply_sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _begin_immediate)
        install_sqlite_purge(engine)
        return engine
    return create_async_engine(url, echo=echo, pool_size=pool_size, max_overflow=pool_size,
                               pool_pre_ping=True)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, sync_session_class=UnitOfWorkSession)


class Reads(Enum):
    """Where a unit of work's answer-path reads (`storage.fast.rows`) are made."""

    IN_TRANSACTION = "in transaction"  # on its own connection: they see what it wrote
    COMMITTED = "committed"  # on the process's reader, outside any transaction: the last
    #                          committed data, not what this unit of work wrote (a diary
    #                          answer, which writes at most the chat's chosen pupil)


async def _close(session: AsyncSession) -> None:
    """Close a session as `async with` would. One that holds no connection has nothing
    to give back and closes without I/O: with the speed paths on, directly
    (`sqlalchemy_internals.close_idle`)."""
    if speed_paths.enabled() and not holds_connection(session.sync_session):
        close_idle(session)
    else:
        await session.__aexit__(None, None, None)  # runs to completion even if cancelled


@dataclass
class Database:
    """The engine and its session factory: one per running program."""

    url: str
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    reader: Reader | None = None

    @classmethod
    def connect(cls, url: str, **kw: object) -> Database:
        engine = create_engine(url, **kw)  # type: ignore[arg-type]
        reader = reader_for(engine)
        return cls(url=url, engine=engine, sessions=session_factory(engine), reader=reader)

    @property
    def sqlite(self) -> bool:
        return is_sqlite(self.url)

    @asynccontextmanager
    async def unit_of_work(self, reads: Reads = Reads.IN_TRANSACTION) -> AsyncIterator[AsyncSession]:
        """One session, committed once at the end (if it has anything to commit),
        rolled back on error; `reads` says where its answer-path reads go."""
        session = self.sessions()
        if reads is Reads.COMMITTED and self.reader is not None:
            session.info[READER_KEY] = self.reader
        try:
            yield session
            if has_work(session):
                await session.commit()
        except BaseException:
            await session.rollback()
            raise
        finally:
            await _close(session)

    async def dispose(self) -> None:
        if self.reader is not None:
            await self.reader.close()
        await self.engine.dispose()


def run_in_unit_of_work(url: str, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """For a command-line tool: connect, run `work` in one unit of work, dispose."""

    async def _go() -> T:
        database = Database.connect(url)
        try:
            async with database.unit_of_work() as session:
                return await work(session)
        finally:
            await database.dispose()

    return asyncio.run(_go())
