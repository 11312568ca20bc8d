"""Deliveries a messenger repeats: each is handled once.

Viber retries a callback it got no 200 for, for an hour. The turn runner claims the
callback's key in the same unit of work as the turn's own writes, so the turn and the
claim commit together: a repeat finds the key taken and is not handled again, and a
turn that failed leaves the key free for the retry.
"""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from school_bot.storage.models import ProcessedCallback, utc_now


async def claim(session: AsyncSession, key: str) -> bool:
    """Take the key in the caller's unit of work; False when it was taken before."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(ProcessedCallback).values(key=key[:128], at=utc_now())
    result = await session.execute(statement.on_conflict_do_nothing(index_elements=["key"]))
    return bool(result.rowcount)  # type: ignore[attr-defined]
