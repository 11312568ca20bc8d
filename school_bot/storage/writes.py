"""Statements that change rows in the caller's unit of work: how many a statement
changed, and the INSERT ... ON CONFLICT of the session's database."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable


async def changed_rows(session: AsyncSession, statement: Executable) -> int:
    """Run an INSERT, UPDATE or DELETE; the number of rows it changed (0 when the
    driver cannot tell). Such a statement's result is a `CursorResult`, which
    `AsyncSession.execute`'s declared `Result` does not say."""
    result = cast("CursorResult[Any]", await session.execute(statement))
    return result.rowcount or 0


def on_postgresql(session: AsyncSession) -> bool:
    """Whether the session's database is PostgreSQL (else SQLite)."""
    return session.get_bind().dialect.name == "postgresql"


def upsert(session: AsyncSession, table: Any) -> postgresql.Insert | sqlite.Insert:
    """An INSERT into `table` that takes ON CONFLICT clauses, for the session's database
    (both dialects spell `on_conflict_do_nothing` / `on_conflict_do_update` alike)."""
    return (postgresql.insert if on_postgresql(session) else sqlite.insert)(table)
