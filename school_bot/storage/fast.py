"""The answer path's reads: statements compiled once, run on the driver in one call.

A parent's "Оцінки" costs two reads (the chat's account with its family, the grades).
Through the ORM each read builds a select, computes its cache key, sets up a result
and, on SQLite, crosses to aiosqlite's thread four times (cursor, execute, fetch,
close); that was most of the bot's CPU per answer. A `Query` is written once as a
SQLAlchemy Core select over the typed models, compiled once per dialect, and run
straight on a driver connection: one execute on SQLite, one `fetch` on asyncpg. Values go
in and come out through the same type processors SQLAlchemy itself uses for that dialect,
so a date or a JSON column reads exactly as it would through the ORM.

Where a read runs (`rows`) is the unit of work's choice (`storage.db.Reads`), made
when it is opened (the turn runner asks the core: a diary view reads committed data):

* `Reads.COMMITTED`: on the process's **reader**, outside any transaction, so it sees
  the last committed data, as a read inside a READ COMMITTED transaction would, and
  not what the unit of work itself wrote.
  - SQLite (`SqliteReader`): a thread of its own with a second connection, `query_only`
    on. In WAL mode it reads without waiting for the write lock, so answers keep
    flowing while an import or the worker writes.
  - PostgreSQL (`PostgresReader`): a small asyncpg pool of its own, in autocommit.
    A read is one round trip (its statement is prepared once per connection), where
    the engine's pool costs a pre-ping (three round trips) at checkout, then BEGIN
    and COMMIT around the reads. A connection the server dropped (a restart, a
    terminated backend) is replaced, and the read is tried once more: a read is
    safe to repeat.
* `Reads.IN_TRANSACTION` (and wherever there is no reader: an in-memory SQLite): on
  the unit of work's own connection, inside its transaction, so it sees what it wrote.

Whether the unit of work holds a connection is noted by its session class
(`UnitOfWorkSession`) through SQLAlchemy's public `after_begin` event. `attach` and
`loaded` take the speed paths of `storage/sqlalchemy_internals.py` unless
`SPEED_PATHS=false`.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import queue
import sqlite3
import threading
from collections import namedtuple
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy import Connection, bindparam, event, inspect
from sqlalchemy.engine import URL, Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Session, SessionTransaction, make_transient_to_detached
from sqlalchemy.sql import Select

from school_bot.storage import speed_paths, sqlalchemy_internals

log = logging.getLogger(__name__)

READER_KEY = "school_bot.storage.fast.reader"  # session.info: the reader, in a Reads.COMMITTED unit of work
_BEGAN_KEY = "school_bot.storage.fast.began"  # session.info: the transaction that began on a connection


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple[tuple[str, Any, Callable[[Any], Any] | None], ...]  # name, default, processor
    results: tuple[Callable[[Any], Any] | None, ...]
    converting: bool


def _row_type(name: str, keys: list[str]) -> type[Any]:
    """A namedtuple of the query's columns (`typing.NamedTuple` needs them written out)."""
    return namedtuple(name, keys, rename=True)  # noqa: PYI024 - its fields are known at run time


class Query:
    """One read of the answer path; its rows are namedtuples (type `name`) of the columns' keys."""

    def __init__(self, statement: Select[Any], name: str = "Row") -> None:
        self.statement = statement
        keys = [column.key or f"c{n}" for n, column in enumerate(statement.selected_columns)]
        self.row = _row_type(name, keys)
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
    """The process's connection(s) for reads outside a transaction (module docstring)."""

    dialect: Dialect

    async def fetch(self, query: Query, values: dict[str, Any]) -> list[Any]:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError


class SqliteReader(Reader):
    """The SQLite reader of one process: a thread of its own with a `query_only`
    connection, opened on first use (again if the event loop changed: tests run several).
    In WAL mode it never waits for writers.

    Reads queue for the thread; it takes all that are waiting, runs them, and hands the
    results back to the event loop in one call. A hop to a thread and back costs about
    60 µs of CPU (a wake-up each way); with aiosqlite's one hop per read that was 37 µs a
    read even with 50 reads waiting, and here it is about 4 (bench/answers: the city's
    parents in a burst)."""

    def __init__(self, path: str, dialect: Dialect) -> None:
        self.path = path
        self.dialect = dialect
        self._thread: _ReadThread | None = None

    def _current(self) -> _ReadThread:
        loop = asyncio.get_running_loop()
        thread = self._thread
        if thread is None or thread.loop is not loop:
            if thread is not None:  # a new loop (tests): the old one's thread ends
                thread.stop()
            thread = self._thread = _ReadThread(self.path, loop)
        return thread

    async def fetch(self, query: Query, values: dict[str, Any]) -> list[Any]:
        raw = await self._current().read(query.compiled(self.dialect).sql,
                                         query.arguments(self.dialect, values))
        return query.convert(self.dialect, raw)

    async def close(self) -> None:
        thread, self._thread = self._thread, None
        if thread is None:
            return
        stopped = thread.stop()
        if thread.loop is asyncio.get_running_loop():
            await stopped


_STOP: Any = object()  # the job that ends the thread
_Job = tuple[asyncio.Future[Any], str, Sequence[Any]]


class _ReadThread:
    """One reader thread and its connection; results go back to `loop`."""

    def __init__(self, path: str, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._path = path
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        # A daemon: a program that forgot to close its database can still exit.
        threading.Thread(target=self._run, name="sqlite-reader", daemon=True).start()

    def read(self, sql: str, arguments: Sequence[Any]) -> asyncio.Future[Any]:
        future = self.loop.create_future()
        self._jobs.put((future, sql, arguments))
        return future

    def stop(self) -> asyncio.Future[Any]:
        """The thread closes its connection and ends; the future is done when it has."""
        future = self.loop.create_future()
        self._jobs.put((future, _STOP, ()))
        return future

    def _run(self) -> None:
        connection: sqlite3.Connection | None = None
        try:
            while True:
                batch = [self._jobs.get()]
                while not self._jobs.empty():
                    batch.append(self._jobs.get_nowait())
                results: list[tuple[asyncio.Future[Any], Any, BaseException | None]] = []
                for future, sql, arguments in batch:
                    if sql is _STOP:
                        if connection is not None:
                            connection.close()
                            connection = None
                        results.append((future, None, None))
                        self._hand_back(results)
                        return
                    try:
                        if connection is None:
                            connection = _open_reader(self._path)
                        results.append((future, connection.execute(sql, arguments).fetchall(),
                                        None))
                    except Exception as error:  # noqa: BLE001 - it is the read's outcome
                        results.append((future, None, error))
                self._hand_back(results)
        except RuntimeError:  # the event loop was closed under us: nobody waits any more
            if connection is not None:
                connection.close()

    def _hand_back(self, results: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
        self.loop.call_soon_threadsafe(_settle, results)


def _open_reader(path: str) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=15, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA query_only=ON")
    connection.execute("PRAGMA busy_timeout=15000")
    return connection


def _settle(results: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    for future, result, error in results:
        if future.cancelled():  # the answer was given up (a timeout, a shutdown)
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)


# What a read on a connection the server dropped raises (before the reader notices).
_CONNECTION_LOST = (asyncpg.ConnectionDoesNotExistError, asyncpg.InterfaceError,
                    asyncpg.AdminShutdownError, asyncpg.CannotConnectNowError,
                    ConnectionError)

# Keys of SQLAlchemy's asyncpg URL that are its own, not asyncpg.connect()'s.
_ENGINE_ONLY = ("async_creator_fn", "prepared_statement_name_func")


def asyncpg_options(engine_url: URL, dialect: Dialect, application_name: str,
                    timeout: float) -> dict[str, Any]:
    """`asyncpg.connect()`'s arguments for a connection of the engine's database outside
    its pool, named `application_name` in pg_stat_activity."""
    _, options = dialect.create_connect_args(engine_url)
    options = {k: v for k, v in options.items() if k not in _ENGINE_ONLY}
    if "prepared_statement_cache_size" in options:
        options["statement_cache_size"] = options.pop("prepared_statement_cache_size")
    settings = dict(options.pop("server_settings", None) or {})
    settings.setdefault("application_name", application_name)
    return {**options, "server_settings": settings, "timeout": timeout, "command_timeout": timeout}


class PostgresReader(Reader):
    """The PostgreSQL readers of one process: up to `size` asyncpg connections in
    autocommit, opened as reads need them (afresh if the event loop changed: tests run
    several). Their sessions show in pg_stat_activity as `APPLICATION_NAME`.

    The connections are kept in a plain list, not an `asyncpg.Pool`: a reader runs
    single SELECTs and leaves no session state to reset, and the pool's acquire and
    release cost 42 µs of CPU per read (a third of the read). A connection whose read
    failed other than with a PostgreSQL error (cancelled, timed out, dropped) is closed,
    not kept."""

    APPLICATION_NAME = "school-bot reader"

    def __init__(self, engine_url: URL, dialect: Dialect, *, size: int = 4,
                 timeout: float = 30) -> None:
        self.dialect = dialect
        self._size = size
        self._timeout = timeout
        self._options = asyncpg_options(engine_url, dialect, self.APPLICATION_NAME, timeout)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._idle: list[asyncpg.Connection] = []
        self._busy: set[asyncpg.Connection] = set()
        self._opening = 0  # connections being opened
        self._waiting: collections.deque[asyncio.Future[asyncpg.Connection | None]] = \
            collections.deque()

    async def fetch(self, query: Query, values: dict[str, Any]) -> list[Any]:
        compiled = query.compiled(self.dialect)
        arguments = query.arguments(self.dialect, values)
        try:
            raw = await self._fetch(compiled.sql, arguments)
        except _CONNECTION_LOST as error:
            # That connection is closed now; another one is opened for the second try.
            log.warning("reader: connection lost (%s); reading once more", type(error).__name__)
            raw = await self._fetch(compiled.sql, arguments)
        return query.convert(self.dialect, raw)

    async def _fetch(self, sql: str, arguments: list[Any]) -> list[Any]:
        connection = await self._acquire()
        try:
            found = await connection.fetch(sql, *arguments)
        except asyncpg.PostgresError:  # the statement failed; the session is fine
            self._release(connection)
            raise
        except BaseException:
            self._discard(connection)
            raise
        self._release(connection)
        return found

    async def _acquire(self) -> asyncpg.Connection:
        self._check_loop()
        while True:
            while self._idle:
                connection = self._idle.pop()
                if not connection.is_closed():
                    self._busy.add(connection)
                    return connection
            if len(self._busy) + self._opening < self._size:
                return await self._open()
            waiter = asyncio.get_running_loop().create_future()
            self._waiting.append(waiter)
            try:
                connection = await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled() and waiter.result() is not None:
                    self._release(waiter.result())  # handed over just as we were cancelled
                raise
            if connection is not None:
                return connection  # handed over by a release, already counted as busy

    async def _open(self) -> asyncpg.Connection:
        self._opening += 1
        try:
            connection = await asyncpg.connect(**self._options)
            try:
                await self._codecs(connection)
            except BaseException:
                connection.terminate()
                raise
        except BaseException:
            self._opening -= 1
            self._wake_one(None)  # a reader waiting for room tries (and fails) itself
            raise
        self._opening -= 1
        self._busy.add(connection)
        return connection

    def _release(self, connection: asyncpg.Connection) -> None:
        if connection.is_closed() or self._loop is None:
            self._discard(connection)
            return
        if self._wake_one(connection):
            return  # it stays busy: it changes hands
        self._busy.discard(connection)
        self._idle.append(connection)

    def _discard(self, connection: asyncpg.Connection) -> None:
        self._busy.discard(connection)
        connection.terminate()
        self._wake_one(None)  # room for one more connection: a waiter opens it

    def _wake_one(self, connection: asyncpg.Connection | None) -> bool:
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(connection)
                return True
        return False

    def _check_loop(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # first use, or a new loop (tests): start afresh
            self._terminate_all()
            self._loop = loop

    def _terminate_all(self) -> None:
        for connection in (*self._idle, *self._busy):
            with contextlib.suppress(Exception):  # on a closed loop: drop the socket
                connection.terminate()
        self._idle, self._busy = [], set()
        for waiter in self._waiting:
            if not waiter.done():
                waiter.cancel()
        self._waiting.clear()

    async def _codecs(self, connection: asyncpg.Connection) -> None:
        """JSON and JSONB decoded as SQLAlchemy's asyncpg dialect decodes them (`json.loads`;
        the engine sets no deserializer of its own), so a JSON column reads here as it
        does through the ORM. A value bound to one arrives serialized already, as there."""
        for typename in ("json", "jsonb"):
            await connection.set_type_codec(typename, schema="pg_catalog", format="text",
                                            encoder=str, decoder=json.loads)

    async def close(self) -> None:
        """Close the connections; a read still running fails (the program stops answering
        before it closes its database)."""
        if self._loop is asyncio.get_running_loop():  # idle ones say goodbye to the server
            idle, self._idle = self._idle, []
            await asyncio.gather(*(asyncio.wait_for(c.close(), self._timeout) for c in idle),
                                 return_exceptions=True)
        self._terminate_all()
        self._loop = None


def reader_for(engine: AsyncEngine) -> Reader | None:
    """The answer path's reader for the engine's database, if it has one: a SQLite
    file (an in-memory database is private to its connection), or PostgreSQL."""
    url = engine.url
    if url.get_backend_name() == "postgresql" and url.get_driver_name() == "asyncpg":
        return PostgresReader(url, engine.dialect)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:") \
            or url.database.startswith("file:"):
        return None
    return SqliteReader(url.database, engine.dialect)


def has_work(session: AsyncSession) -> bool:
    """Is there anything for a commit to do: changes to flush, or an open database
    transaction? (A diary answer that changed nothing has neither.)"""
    sync = session.sync_session
    return _pending(sync) or holds_connection(sync)


def _pending(sync: Any) -> bool:
    """Has the unit of work changes not yet flushed?"""
    return bool(sync.new or sync.dirty or sync.deleted)


class UnitOfWorkSession(Session):
    """The session of a unit of work (`storage.db.session_factory`): it notes when its
    transaction begins on a connection, for `holds_connection`."""


@event.listens_for(UnitOfWorkSession, "after_begin")
def _began(session: Session, transaction: SessionTransaction, connection: Connection) -> None:
    session.info[_BEGAN_KEY] = session.get_transaction()


def holds_connection(sync: Any) -> bool:
    """Has the unit of work opened a database transaction (not merely autobegun the
    session's bookkeeping, as `session.add` does)? Unknown counts as yes."""
    transaction = sync.get_transaction()
    if transaction is None:
        return False
    if not isinstance(sync, UnitOfWorkSession):
        return True
    return sync.info.get(_BEGAN_KEY) is transaction


async def rows(session: AsyncSession, query: Query, **values: Any) -> list[Any]:
    """The query's rows (namedtuples), read where the unit of work chose (module docstring)."""
    reader: Reader | None = session.info.get(READER_KEY)
    if reader is not None:
        return await reader.fetch(query, values)
    if _pending(session.sync_session):
        await session.flush()
    connection = await session.connection()
    dialect = connection.dialect
    driver = (await connection.get_raw_connection()).driver_connection
    assert driver is not None  # a connection in use has its driver's connection
    sql, arguments = query.compiled(dialect).sql, query.arguments(dialect, values)
    if dialect.name == "postgresql":
        raw = await driver.fetch(sql, *arguments)
    else:
        raw = await driver.execute_fetchall(sql, arguments)
    return query.convert(dialect, raw)


def attach(session: AsyncSession, model: type[Any], row: Any, *, add: bool = True) -> Any:
    """An ORM object for a row (or a dict by column key) of all the model's columns, in the
    session as if the ORM had loaded it (no SQL): changes to it are flushed as usual.
    An object the session already holds for that key wins. With `add=False` it is left
    detached, for a collection of an attached object (`set_committed_value`): the
    session takes it in only if a flush cascades to it, and then as loaded (no INSERT)."""
    mapper = inspect(model)
    values = row if isinstance(row, dict) else row._asdict()
    key = mapper.identity_key_from_primary_key([values[c.key] for c in mapper.primary_key])
    held = session.sync_session.identity_map.get(key)
    if held is not None:
        return held
    if speed_paths.enabled():
        instance = sqlalchemy_internals.loaded_instance(mapper, values)
    else:
        instance = model(**values)
    make_transient_to_detached(instance)  # what was set is now as loaded: no changes
    if add:
        session.add(instance)
    return instance


def loaded(instance: Any, key: str) -> bool:
    """Is the attribute `key` of this ORM object loaded (attached objects load no
    relationship: `attach`'s caller fills it)?"""
    if speed_paths.enabled():
        return sqlalchemy_internals.is_loaded(instance, key)
    return key not in inspect(instance).unloaded
