"""Driver-level statements for the bulk paths, built once per table and dialect.

A city's first load is millions of rows; SQLAlchemy's per-row parameter handling for
an executemany costs more than SQLite's own work per row. So the bulk upserts send
plain INSERT/UPDATE/SELECT text with positional parameters (`?` for SQLite, `$n` for
asyncpg) through the session's connection, with values already in the database's
form: each column's own SQLAlchemy bind processor is applied once, here, so the
stored values are exactly what the ORM would have written. Rows read back for the
comparison stay in that form too, and the comparison is made there.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, time
from itertools import islice
from operator import methodcaller
from weakref import WeakKeyDictionary
from typing import Any

from asyncpg.exceptions import IntegrityConstraintViolationError
from sqlalchemy import Table
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from school_bot.storage.models import UTCDateTime

QUERY_SLICE = 5_000  # ids per IN (...): well under SQLite's and asyncpg's parameter limits
Processor = Callable[[Any], Any]


class TableSQL:
    """Statement text and value conversion for one table on one dialect."""

    def __init__(self, table: Table, dialect: Dialect) -> None:
        if dialect.paramstyle not in ("qmark", "numeric_dollar"):
            raise NotImplementedError(f"bulk ingest does not support {dialect.paramstyle!r} parameters")
        self.table = table
        self.dialect = dialect
        self._numeric = dialect.paramstyle == "numeric_dollar"
        preparer = dialect.identifier_preparer
        self._name = preparer.format_table(table)
        self._quoted = {column.key: preparer.quote(column.name) for column in table.columns}
        self.processors: dict[str, Processor] = {}
        for column in table.columns:
            processor = column.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                self.processors[column.key] = _faster(processor)
        self._cache: dict[tuple[Any, ...], str] = {}

    def to_db(self, attr: str, value: Any) -> Any:
        processor = self.processors.get(attr)
        return value if processor is None or value is None else processor(value)

    def _marks(self, count: int, start: int = 1) -> list[str]:
        if self._numeric:
            return [f"${i}" for i in range(start, start + count)]
        return ["?"] * count

    def _columns(self, attrs: Iterable[str]) -> str:
        return ", ".join(self._quoted[attr] for attr in attrs)

    def insert(self, attrs: Sequence[str], rows: int = 1) -> str:
        """INSERT of `rows` rows at once (parameters row after row)."""
        key = ("insert", tuple(attrs), rows)
        if key not in self._cache:
            width = len(attrs)
            values = ", ".join(f"({', '.join(self._marks(width, 1 + i * width))})" for i in range(rows))
            self._cache[key] = f"INSERT INTO {self._name} ({self._columns(attrs)}) VALUES {values}"
        return self._cache[key]

    def update(self, set_attrs: Sequence[str], key_attrs: Sequence[str]) -> str:
        """UPDATE ... SET the set_attrs WHERE the key_attrs: parameters in that order."""
        key = ("update", tuple(set_attrs), tuple(key_attrs))
        if key not in self._cache:
            marks = self._marks(len(set_attrs) + len(key_attrs))
            sets = ", ".join(f"{self._quoted[a]} = {m}" for a, m in zip(set_attrs, marks, strict=False))
            where = " AND ".join(f"{self._quoted[a]} = {m}"
                                 for a, m in zip(key_attrs, marks[len(set_attrs):], strict=True))
            self._cache[key] = f"UPDATE {self._name} SET {sets} WHERE {where}"
        return self._cache[key]

    def select_any(self, attrs: Sequence[str], by: str) -> str:
        """PostgreSQL: SELECT ... WHERE by = ANY($1), the values as one array."""
        return (f"SELECT {self._columns(attrs)} FROM {self._name} "
                f"WHERE {self._quoted[by]} = ANY($1)")

    def select_in(self, attrs: Sequence[str], by: str, count: int) -> str:
        key = ("select", tuple(attrs), by, count)
        if key not in self._cache:
            self._cache[key] = (f"SELECT {self._columns(attrs)} FROM {self._name} "
                                f"WHERE {self._quoted[by]} IN ({', '.join(self._marks(count))})")
        return self._cache[key]


_SAMPLES = {
    "date": (date(2025, 3, 1), date(1999, 12, 31)),
    "time": (time(8, 30), time(23, 59, 58, 1234)),
}
_CANDIDATES = {"date": date.isoformat, "time": methodcaller("isoformat", "microseconds")}


def _faster(processor: Processor) -> Processor:
    """C-speed isoformat where it gives exactly what SQLAlchemy's processor gives
    (SQLite stores dates and times as text): dates and times are most of a diary."""
    for kind, samples in _SAMPLES.items():
        try:
            if all(processor(sample) == _CANDIDATES[kind](sample) for sample in samples):
                return _CANDIDATES[kind]
        except (TypeError, ValueError, AttributeError):
            continue
    return processor


_BY_DIALECT: WeakKeyDictionary[Dialect, dict[Table, TableSQL]] = WeakKeyDictionary()


def table_sql(connection: AsyncConnection | Dialect, table: Table) -> TableSQL:
    dialect = connection if isinstance(connection, Dialect) else connection.dialect
    tables = _BY_DIALECT.setdefault(dialect, {})
    if table not in tables:
        tables[table] = TableSQL(table, dialect)
    return tables[table]


def db_timestamp(connection: AsyncConnection, value: datetime) -> Any:
    """An aware datetime as a UTCDateTime column stores it on this connection's database."""
    dialect = connection.dialect
    processor = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    return value if processor is None else processor(value)


def placeholders(connection: AsyncConnection, count: int) -> str:
    if connection.dialect.paramstyle == "numeric_dollar":
        return ", ".join(f"${i}" for i in range(1, count + 1))
    return ", ".join("?" * count)


def padded(values: Sequence[Any]) -> tuple[Any, ...]:
    """The values repeated up to a size of a few fixed sizes, so statements are reused."""
    size = next(s for s in _SIZES if s >= len(values)) if len(values) <= _SIZES[-1] else len(values)
    return (*values, *([values[0]] * (size - len(values))))


_SIZES = (1, 4, 16, 64, 256, 1024, 2048, QUERY_SLICE)


async def insert_rows(connection: AsyncConnection, table: Table, attrs: Sequence[str],
                      rows: list[tuple[Any, ...]]) -> None:
    """Rows in the database's form, in `attrs` order: one executemany."""
    if rows:
        await executemany(connection, table_sql(connection, table).insert(attrs), rows)


# ---------------------------------------------------------------- straight to the driver
#
# The bulk paths hand their rows to the driver connection of the session's own
# connection, inside the transaction the session has begun: SQLAlchemy's executemany
# and result rows cost about as much per row as SQLite's own work. A constraint that
# fails is raised as SQLAlchemy's IntegrityError all the same.


async def _driver(connection: AsyncConnection) -> tuple[str, Any]:
    """("sqlite" | "asyncpg" | "", the driver connection), inside the transaction."""
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    name = connection.dialect.driver
    if name == "aiosqlite" and driver is not None and driver.in_transaction:
        return "sqlite", driver
    if name == "asyncpg" and driver is not None:
        if not driver.is_in_transaction():
            await connection.exec_driver_sql("SELECT 1")  # SQLAlchemy begins its transaction
        if driver.is_in_transaction():
            return "asyncpg", driver
    return "", None


def _integrity(exc: Exception, statement: str) -> Exception | None:
    if isinstance(exc, sqlite3.IntegrityError | IntegrityConstraintViolationError):
        return IntegrityError(statement, None, exc)
    return None


async def wal_autocheckpoint(session: Any, pages: int | None) -> int | None:
    """SQLite: checkpoint the WAL every `pages` pages from now on, on this connection;
    returns the setting before (None: not SQLite, or `pages` None). A big import's
    chunks each write megabytes to the WAL; checkpointing (and syncing) after every
    one of them costs more than the writing. The setting is the connection's, not the
    file's: nothing else changes, and the import puts the old value back at its end."""
    if pages is None:
        return None
    connection = await session.connection()
    kind, driver = await _driver(connection)
    if kind != "sqlite":
        return None
    before = (await driver.execute_fetchall("PRAGMA wal_autocheckpoint"))[0][0]
    await driver.execute_fetchall(f"PRAGMA wal_autocheckpoint={int(pages)}")
    return int(before)


async def executemany(connection: AsyncConnection, statement: str, rows: list[tuple[Any, ...]]) -> None:
    """One statement for many rows of parameters (in the dialect's placeholders)."""
    kind, driver = await _driver(connection)
    try:
        if kind == "sqlite":
            async with driver.executemany(statement, rows):
                pass
        elif kind == "asyncpg":
            await driver.executemany(statement, rows)
        else:
            await connection.exec_driver_sql(statement, rows)
    except Exception as exc:
        translated = _integrity(exc, statement)
        if translated is None:
            raise
        raise translated from exc


async def fetch(connection: AsyncConnection, statement: str, params: Sequence[Any]) -> list[Sequence[Any]]:
    """The rows of a query (tuples, or records that index and compare like them)."""
    kind, driver = await _driver(connection)
    if kind == "sqlite":
        return list(await driver.execute_fetchall(statement, params))
    if kind == "asyncpg":
        return list(await driver.fetch(statement, *params))
    return list((await connection.exec_driver_sql(statement, tuple(params))).all())


async def copy_columns(connection: AsyncConnection, table: Table, attrs: Sequence[str],
                       columns: Sequence[Sequence[Any]], count: int) -> None:
    """New rows, given column by column (a column may be any iterable of `count` values),
    as fast as the database takes them.

    PostgreSQL: COPY. SQLite: INSERTs of thousands of rows each, with the parameters laid
    out by slicing the columns: SQLite then works for tens of milliseconds per statement
    without Python's lock, so the next chunk is parsed meanwhile (an executemany takes
    and gives back the lock for every row, and waits for it each time).
    """
    if not count:
        return
    kind, driver = await _driver(connection)
    if kind == "sqlite":
        await _sqlite_insert_columns(driver, table_sql(connection, table), attrs,
                                     [column if isinstance(column, list) else list(islice(column, count))
                                      for column in columns], count)
        return
    rows = list(zip(*columns))
    if kind != "asyncpg":
        await insert_rows(connection, table, attrs, rows)
        return
    try:
        await driver.copy_records_to_table(table.name, records=rows,
                                           columns=[table.c[a].name for a in attrs],
                                           schema_name=table.schema)
    except Exception as exc:
        translated = _integrity(exc, f"COPY {table.name}")
        if translated is None:
            raise
        raise translated from exc


SQLITE_PARAMETERS = 32_766 if sqlite3.sqlite_version_info >= (3, 32) else 999


async def _sqlite_insert_columns(driver: Any, sql: TableSQL, attrs: Sequence[str],
                                 columns: list[list[Any]], count: int) -> None:
    width = len(attrs)
    per = max(1, SQLITE_PARAMETERS // width)
    groups: dict[int, list[list[Any]]] = {}  # rows per statement -> the statements' parameters
    for start in range(0, count, per):
        rows = min(per, count - start)
        flat: list[Any] = [None] * (rows * width)
        for j, column in enumerate(columns):
            flat[j::width] = column[start:start + rows]
        groups.setdefault(rows, []).append(flat)
    try:
        for rows, params in groups.items():  # one call into the driver's thread each
            async with driver.executemany(sql.insert(attrs, rows=rows), params):
                pass
    except sqlite3.IntegrityError as exc:
        raise IntegrityError(sql.insert(attrs), None, exc) from exc


async def load_tuples(
    connection: AsyncConnection, table: Table, key_attrs: Sequence[str], attrs: Sequence[str],
    keys: Sequence[tuple[Any, ...]],
) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    """Like `load_rows`, the stored rows among `keys`, but each as a tuple of `attrs`
    (values in the database's form), straight from the driver."""
    sql = table_sql(connection, table)
    columns = (*key_attrs, *attrs)
    width = len(key_attrs)
    if width == 1:
        by, values = 0, list({key[0] for key in keys})
    else:
        by, values = min(((i, list({key[i] for key in keys})) for i in range(width)),
                         key=lambda pair: len(pair[1]))
    found: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    wanted = None if width == 1 else set(keys)
    any_of = connection.dialect.name == "postgresql"  # one array parameter, one plan
    for start in range(0, len(values), QUERY_SLICE):
        if any_of:
            rows = await fetch(connection, sql.select_any(columns, key_attrs[by]),
                               [values[start:start + QUERY_SLICE]])
        else:
            part = padded(values[start:start + QUERY_SLICE])
            rows = await fetch(connection, sql.select_in(columns, key_attrs[by], len(part)), part)
        if width == 1:
            found.update((tuple(row[:1]), tuple(row[1:])) for row in rows)
        else:
            for row in rows:
                key = tuple(row[:width])
                if key in wanted:  # type: ignore[operator]
                    found[key] = tuple(row[width:])
    return found


async def load_rows(
    connection: AsyncConnection, table: Table, key_attrs: Sequence[str], attrs: Sequence[str],
    keys: Iterable[tuple[Any, ...]],
) -> dict[tuple[Any, ...], dict[str, Any]]:
    """The stored rows among `keys` (in the database's form), by key.

    A two-column key is looked up by the one of its columns with fewer distinct values
    (each has an index) and filtered here: SQLite answers a row-value `IN` list with a
    full scan.
    """
    sql = table_sql(connection, table)
    wanted = set(keys)
    positions = [attrs.index(a) for a in key_attrs]
    if len(key_attrs) == 1:
        by, values = 0, [key[0] for key in wanted]
    else:
        by, values = min(((i, list({key[i] for key in wanted})) for i in range(len(key_attrs))),
                         key=lambda pair: len(pair[1]))
    found: dict[tuple[Any, ...], dict[str, Any]] = {}
    for start in range(0, len(values), QUERY_SLICE):
        part = padded(values[start:start + QUERY_SLICE])
        statement = sql.select_in(attrs, key_attrs[by], len(part))
        for row in await fetch(connection, statement, part):
            key = tuple(row[i] for i in positions)
            if key in wanted:
                found[key] = dict(zip(attrs, row, strict=True))
    return found
