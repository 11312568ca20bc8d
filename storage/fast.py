"""The answer path's reads: statements compiled once, run on the driver in one call.

A parent's "Оцінки" costs two reads (the chat's account with its family, the grades).
Through the ORM each read builds a select, computes its cache key, sets up a result
and, on SQLite, crosses to aiosqlite's thread four times (cursor, execute, fetch,
close); that was most of the bot's CPU per answer. A `Query` is written once as a
SQLAlchemy Core select over the typed models, compiled once per dialect, and run
straight on the driver connection: one `execute_fetchall` (one thread hop) on
SQLite, one `fetch` on asyncpg. Values go in and come out through the same type
processors SQLAlchemy itself uses for that dialect, so a date or a JSON column
reads exactly as it would through the ORM.

Where a read runs (`rows`):

* SQLite, while the unit of work has not started a transaction (it has written
  nothing): on the process's **reader**, a second connection with `query_only` on.
  In WAL mode it reads the last committed snapshot without waiting for the write
  lock, so answers keep flowing while an import or the worker writes;
* otherwise (PostgreSQL, an in-memory SQLite, or a unit of work that already wrote):
  on the unit of work's own connection, inside its transaction, so it sees what the
  unit of work wrote.
"""

from __future__ import annotations

import asyncio
from collections import namedtuple
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import aiosqlite
from sqlalchemy import bindparam, inspect
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.sql import Select

READER_KEY = "storage.fast.reader"  # session.info: the Reader of the unit of work's database


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple[tuple[str, Any, Callable[[Any], Any] | None], ...]  # name, default, processor
    results: tuple[Callable[[Any], Any] | None, ...]
    converting: bool


class Query:
    """One read of the answer path; its rows are namedtuples (type `name`) of the columns' keys."""

    def __init__(self, statement: Select[Any], name: str = "Row") -> None:
        self.statement = statement
        keys = [column.key or f"c{n}" for n, column in enumerate(statement.selected_columns)]
        self.row = namedtuple(name, keys, rename=True)  # type: ignore[misc]  # noqa: PYI024
        self._compiled: dict[str, _Compiled] = {}

    def compiled(self, dialect: Dialect) -> _Compiled:
        found = self._compiled.get(dialect.name)
        if found is None:
            found = self._compiled[dialect.name] = self._compile(dialect)
        return found

    def _compile(self, dialect: Dialect) -> _Compiled:
        compiled = self.statement.compile(dialect=dialect)
        if any(bind.expanding for bind in compiled.binds.values()):
            # An expanding IN is rendered per call; a fixed list goes in as `fixed_in`.
            raise ValueError(f"{self.row.__name__}: write IN lists with fixed_in()")
        params = []
        for name in compiled.positiontup or []:
            bind = compiled.binds[name]
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            params.append((name, bind.value, processor))
        results = tuple(column.type.dialect_impl(dialect).result_processor(dialect, None)
                        for column in self.statement.selected_columns)
        return _Compiled(compiled.string, tuple(params), results,
                         any(p is not None for p in results))

    def arguments(self, dialect: Dialect, values: dict[str, Any]) -> list[Any]:
        out = []
        for name, default, processor in self.compiled(dialect).params:
            value = values.get(name, default)
            out.append(processor(value) if processor is not None else value)
        return out

    def convert(self, dialect: Dialect, raw: Sequence[Sequence[Any]]) -> list[Any]:
        compiled = self.compiled(dialect)
        make = self.row._make
        if not compiled.converting:
            return [make(row) for row in raw]
        processors = compiled.results
        return [make([value if p is None or value is None else p(value)
                      for p, value in zip(processors, row, strict=True)]) for row in raw]


def fixed_in(column: Any, values: Sequence[Any]) -> Any:
    """`column IN (...)` over a list known when the query is written: one bound
    parameter per value, so the statement compiles once."""
    return column.in_([bindparam(f"{column.key}_{n}", value, type_=column.type)
                       for n, value in enumerate(values)])


class Reader:
    """The SQLite reader connection of one process: opened on first use, in WAL mode it
    never waits for writers. Re-opened if the event loop changed (tests run several)."""

    def __init__(self, path: str, dialect: Dialect) -> None:
        self.path = path
        self.dialect = dialect
        self._connection: aiosqlite.Connection | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._opening = asyncio.Lock()

    async def connection(self) -> aiosqlite.Connection:
        loop = asyncio.get_running_loop()
        if self._connection is not None and self._loop is loop:
            return self._connection
        if self._loop is not loop:  # first use, or a new loop (tests): start afresh
            if self._connection is not None:
                self._connection.stop()  # its thread must end, or the process cannot exit
            self._opening, self._connection, self._loop = asyncio.Lock(), None, loop
        async with self._opening:  # concurrent first answers open one connection
            if self._connection is None:
                connection = await aiosqlite.connect(self.path, timeout=15, isolation_level=None)
                await connection.execute("PRAGMA query_only=ON")
                await connection.execute("PRAGMA busy_timeout=15000")
                self._connection = connection
        return self._connection

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and self._loop is asyncio.get_running_loop():
            await connection.close()
        elif connection is not None:
            connection.stop()


def has_work(session: AsyncSession) -> bool:
    """Is there anything for a commit to do: changes to flush, or an open database
    transaction? (A diary answer that changed nothing has neither.)"""
    sync = session.sync_session
    return _pending(sync) or _holds_connection(sync)


def _pending(sync: Any) -> bool:
    """Has the unit of work changes not yet flushed?"""
    return bool(sync.new or sync.dirty or sync.deleted)


def _holds_connection(sync: Any) -> bool:
    """Has the unit of work opened a database transaction (not merely autobegun the
    session's bookkeeping, as `session.add` does)? Unknown counts as yes."""
    transaction = sync.get_transaction()
    if transaction is None:
        return False
    return bool(getattr(transaction, "_connections", True))


async def rows(session: AsyncSession, query: Query, **values: Any) -> list[Any]:
    """The query's rows (namedtuples), read where the module docstring says."""
    reader: Reader | None = session.info.get(READER_KEY)
    sync = session.sync_session
    pending = _pending(sync)
    if reader is not None and not pending and not _holds_connection(sync):
        connection = await reader.connection()
        raw = await connection.execute_fetchall(query.compiled(reader.dialect).sql,
                                                query.arguments(reader.dialect, values))
        return query.convert(reader.dialect, raw)  # type: ignore[arg-type]
    if pending:
        await session.flush()
    connection = await session.connection()
    dialect = connection.dialect
    driver = (await connection.get_raw_connection()).driver_connection
    sql, arguments = query.compiled(dialect).sql, query.arguments(dialect, values)
    if dialect.name == "postgresql":
        raw = await driver.fetch(sql, *arguments)  # type: ignore[union-attr]
    else:
        raw = await driver.execute_fetchall(sql, arguments)  # type: ignore[union-attr]
    return query.convert(dialect, raw)


def attach(session: AsyncSession, model: type[Any], row: Any) -> Any:
    """An ORM object for a row (or a dict by column key) of all the model's columns, in the
    session as if the ORM had loaded it (no SQL): changes to it are flushed as usual.
    An object the session already holds for that key wins."""
    mapper = inspect(model)
    values = row if isinstance(row, dict) else row._asdict()
    key = mapper.identity_key_from_primary_key([values[c.key] for c in mapper.primary_key])
    held = session.sync_session.identity_map.get(key)
    if held is not None:
        return held
    instance = mapper.class_manager.new_instance()
    instance.__dict__.update(values)
    make_transient_to_detached(instance)
    session.add(instance)
    return instance
