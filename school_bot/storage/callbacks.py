"""Deliveries a messenger repeats: each is handled once.

Viber retries a callback it got no 200 for, for an hour. The turn runner claims the
callback's key in the same unit of work as the turn's own writes, so the turn and the
claim commit together: a repeat finds the key taken and is not handled again, and a
turn that failed leaves the key free for the retry.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from school_bot.storage.models import ProcessedCallback, utc_now
from school_bot.storage.writes import changed_rows, upsert


async def claim(session: AsyncSession, key: str) -> bool:
    """Take the key in the caller's unit of work; False when it was taken before."""
    statement = upsert(session, ProcessedCallback).values(key=key[:128], at=utc_now())
    return bool(await changed_rows(session, statement.on_conflict_do_nothing(index_elements=["key"])))
