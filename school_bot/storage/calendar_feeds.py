"""Calendar feed links: made, replaced, turned off, and found by their token.

The token is a secret link token (storage/link_tokens.py: shown to the parent once,
only its SHA-256 kept). A chat has at most one link: a new one replaces the old one's
hash (the old link stops at once), turning the feed off deletes the row, and the
chat's deletion takes the row with it (ON DELETE CASCADE).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from school_bot.storage.fast import Query, rows
from school_bot.storage.link_tokens import hash_token, is_token_shaped, new_token
from school_bot.storage.models import Account, CalendarFeed
from school_bot.storage.writes import changed_rows, upsert


async def replace_feed(session: AsyncSession, account_id: int, now: datetime) -> str:
    """A new token for the chat's feed, in the caller's unit of work; any earlier token
    of the chat stops working. The token is returned once and never stored."""
    token = new_token()
    statement = upsert(session, CalendarFeed.__table__).values(
        account_id=account_id, token_hash=hash_token(token), created_at=now)
    await session.execute(statement.on_conflict_do_update(
        index_elements=["account_id"],
        set_={"token_hash": statement.excluded.token_hash, "created_at": statement.excluded.created_at}))
    return token


async def remove_feed(session: AsyncSession, account_id: int) -> bool:
    """Turn the chat's feed off; False when it had none."""
    return bool(await changed_rows(session, delete(CalendarFeed)
                                   .where(CalendarFeed.account_id == account_id)))


async def has_feed(session: AsyncSession, account_id: int) -> bool:
    found = await session.scalar(select(CalendarFeed.account_id)
                                 .where(CalendarFeed.account_id == account_id))
    return found is not None


FEED_CHAT = Query(
    select(Account.platform, Account.chat_id)
    .select_from(CalendarFeed.__table__)
    .join(Account, Account.id == CalendarFeed.account_id)
    .where(CalendarFeed.token_hash == bindparam("token_hash")), "FeedChat")


async def chat_of_token(session: AsyncSession, token: str) -> tuple[str, str] | None:
    """The chat (platform, chat id) whose current feed token this is, or None."""
    if not is_token_shaped(token):
        return None
    found = await rows(session, FEED_CHAT, token_hash=hash_token(token))
    return (found[0].platform, found[0].chat_id) if found else None
