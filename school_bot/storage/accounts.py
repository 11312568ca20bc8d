"""Chats that can no longer be written to."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from school_bot.storage.models import Account, OutboxMessage
from school_bot.storage.outbox_status import DUE, OutboxStatus


async def deactivate(session: AsyncSession, account_id: int) -> int:
    """The user blocked the bot or unsubscribed: mark the chat inactive and stop its queue.

    Returns how many queued notifications were dropped (marked `blocked`).
    """
    await session.execute(update(Account).where(Account.id == account_id).values(active=False))
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.account_id == account_id, OutboxMessage.status.in_(DUE))
        .values(status=OutboxStatus.BLOCKED, last_error="recipient unsubscribed or blocked the bot")
    )
    return result.rowcount or 0


async def find_account(session: AsyncSession, platform: str, chat_id: str) -> Account | None:
    return await session.scalar(
        select(Account).where(Account.platform == platform, Account.chat_id == chat_id)
    )

