"""Chats that can no longer be written to."""

from __future__ import annotations

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.fast import Query, attach, rows
from storage.models import Account, OutboxMessage

PENDING = ("queued", "failed")


async def deactivate(session: AsyncSession, account_id: int) -> int:
    """The user blocked the bot or unsubscribed: mark the chat inactive and stop its queue.

    Returns how many queued notifications were dropped (marked `blocked`).
    """
    await session.execute(update(Account).where(Account.id == account_id).values(active=False))
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.account_id == account_id, OutboxMessage.status.in_(PENDING))
        .values(status="blocked", last_error="recipient unsubscribed or blocked the bot")
    )
    return result.rowcount or 0


async def find_account(session: AsyncSession, platform: str, chat_id: str) -> Account | None:
    return await session.scalar(
        select(Account).where(Account.platform == platform, Account.chat_id == chat_id)
    )


ACCOUNT = Query(select(*Account.__table__.c).where(Account.platform == bindparam("platform"),
                                                    Account.chat_id == bindparam("chat_id")),
                "AccountRow")


async def read_account(session: AsyncSession, platform: str, chat_id: str) -> Account | None:
    """`find_account` on the answer path: read through storage/fast.py (no ORM query; on
    SQLite, no write lock) and attached to the session, so a change is still flushed."""
    found = await rows(session, ACCOUNT, platform=platform, chat_id=chat_id)
    return attach(session, Account, found[0]) if found else None
