"""A statement that changes rows, run in the caller's unit of work, and how many it changed."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable


async def changed_rows(session: AsyncSession, statement: Executable) -> int:
    """Run an INSERT, UPDATE or DELETE; the number of rows it changed (0 when the
    driver cannot tell). Such a statement's result is a `CursorResult`, which
    `AsyncSession.execute`'s declared `Result` does not say."""
    result = cast("CursorResult[Any]", await session.execute(statement))
    return result.rowcount or 0
