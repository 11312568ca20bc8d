"""Named sequences whose values are handed out in commit order.

`next_value` increments the counter's row and keeps it locked until the caller's unit
of work ends, so a second writer waits for the first to commit (or roll back) before it
takes the next value: a reader that has seen value N has already seen every value below
N that will ever exist. That is what a cursor (`?after=N`) needs; an autoincrement id
gives no such promise on PostgreSQL, where a lower id may commit after a higher one.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from school_bot.storage.models import Counter
from school_bot.storage.writes import upsert


async def next_value(session: AsyncSession, name: str) -> int:
    """The counter's next value (1, 2, ...), taken in the caller's unit of work."""
    value = await session.scalar(update(Counter).where(Counter.name == name)
                                 .values(value=Counter.value + 1).returning(Counter.value))
    if value is None:  # the first value ever: two writers may race to create the row
        await session.execute(upsert(session, Counter).values(name=name, value=0)
                              .on_conflict_do_nothing(index_elements=["name"]))
        value = await session.scalar(update(Counter).where(Counter.name == name)
                                     .values(value=Counter.value + 1).returning(Counter.value))
    assert value is not None
    return int(value)


async def current_value(session: AsyncSession, name: str) -> int:
    return int(await session.scalar(select(Counter.value).where(Counter.name == name)) or 0)
