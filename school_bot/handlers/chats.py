"""The account row of a chat: found, or created on its first message."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from school_bot.shared.events import ChatRef
from school_bot.shared.i18n import SUPPORTED_LOCALES
from school_bot.storage.accounts import deactivate, find_account
from school_bot.storage.models import Account, utc_now
from school_bot.storage.writes import upsert


def _known_language(hint: str | None) -> str | None:
    if not hint:
        return None
    language = hint.replace("_", "-").split("-", 1)[0].lower()
    return language if language in SUPPORTED_LOCALES else None


async def open_account(session: AsyncSession, chat: ChatRef, language_hint: str | None) -> Account:
    """The chat's account; a new one starts in the messenger's language if we speak it.

    Two first messages racing from the same chat insert once (ON CONFLICT DO NOTHING).
    """
    account = await find_account(session, chat.platform.value, chat.chat_id)
    if account is not None:
        return account
    await session.execute(
        upsert(session, Account).values(platform=chat.platform.value, chat_id=chat.chat_id,
                               language=_known_language(language_hint), state={},
                               created_at=utc_now())
        .on_conflict_do_nothing(index_elements=["platform", "chat_id"]))
    created = await session.scalar(
        select(Account).where(Account.platform == chat.platform.value, Account.chat_id == chat.chat_id))
    assert created is not None
    return created


async def unsubscribed(session: AsyncSession, chat: ChatRef) -> None:
    """The user blocked the bot: the chat is inactive and its queue stops."""
    account = await find_account(session, chat.platform.value, chat.chat_id)
    if account is not None:
        await deactivate(session, account.id)
