"""The conversation core: one neutral message in, the replies out.

The front doors (Telegram, Viber, the console) convert their messenger's update into
an `Incoming` and hand it to the turn runner (bot/turns.py), which opens ONE unit of
work per message (reading committed data when its `plan` says so), calls
`handle`, commits, and gives the replies back to the door to send:

    conversation = Conversation(settings)                       # in the composition root
    turns = TurnRunner(database, conversation)
    result = await turns.run(incoming)                          # handle never commits

Every request is authorised here, in the core: the chat's account is loaded on each
message and each button press, and pupils are re-checked against its guardian.
Replies are plain text (the Telegram adapter escapes it for HTML); with a
`max_text_length` (Telegram 4,096, Viber 7,000) long texts are split at line breaks.
Extra commands and buttons plug in through handlers/extensions.py. When a turn fails,
the runner rolls it back and sends `apology` instead, in the same language the turn
would have answered in.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from school_bot.handlers.chats import open_account, unsubscribed
from school_bot.handlers.extensions import Extension
from school_bot.handlers.family import read_account_and_family
from school_bot.handlers.router import ViewAsked, route, view_asked
from school_bot.handlers.text import split_replies
from school_bot.handlers.turn import Turn
from school_bot.shared.events import ChatRef, Incoming, Kind, Reply
from school_bot.shared.i18n import chat_locale, t
from school_bot.shared.settings import Settings
from school_bot.storage.accounts import find_account
from school_bot.storage.models import utc_now

APOLOGY_READ_TIMEOUT = 2.0  # seconds to read the account's language after a failed turn


@dataclass(frozen=True)
class TurnPlan:
    asked: ViewAsked | None  # the diary view the message asks for (router.view_asked)

    @property
    def reads_committed(self) -> bool:
        """A diary view, which writes at most the chat's chosen pupil, may read committed
        data outside its write transaction (storage.db.Reads)."""
        return self.asked is not None


class Conversation:
    def __init__(self, settings: Settings, *, clock: Callable[[], datetime] | None = None,
                 max_text_length: int | None = None,
                 extensions: Iterable[Extension] | None = None) -> None:
        self.settings = settings
        self._clock = clock or utc_now
        self.max_text_length = max_text_length
        self.extensions = list(extensions or ())

    def plan(self, incoming: Incoming) -> TurnPlan:
        """What the message asks for, found once per turn: the runner opens the unit of
        work by it (`reads_committed`), `handle` answers by it."""
        return TurnPlan(view_asked(incoming, self.extensions) if incoming.private_chat else None)

    async def handle(self, session: AsyncSession, incoming: Incoming, *,
                     plan: TurnPlan | None = None,
                     max_text_length: int | None = None) -> list[Reply]:
        if not incoming.private_chat:
            return []  # group chats: the bot says nothing, and keeps no account for them
        if incoming.kind is Kind.UNSUBSCRIBED:
            await unsubscribed(session, incoming.chat)
            return []
        account, family = None, None
        asked = (plan or self.plan(incoming)).asked
        if asked is not None:
            account, family = await read_account_and_family(
                session, incoming.chat.platform.value, incoming.chat.chat_id)
        if account is None:
            account, family = await open_account(session, incoming.chat, incoming.language_hint), None
        if not account.active:
            account.active = True
        locale = self.locale_for(account.language, incoming.language_hint)
        turn = Turn(session, account, incoming, locale, self._clock(), self.settings, self.extensions,
                    family=family)
        replies = await route(turn, asked)
        limit = max_text_length or self.max_text_length
        return split_replies(replies, limit) if limit else replies

    def locale_for(self, chosen: str | None, hint: str | None) -> str:
        """The account's language, else the messenger's if we speak it, else the default."""
        return chat_locale(chosen, hint, self.settings.default_locale)

    async def apology(self, session: AsyncSession, chat: ChatRef, hint: str | None) -> Reply:
        """What a user whose turn failed is told, in the language `locale_for` picks.

        `session` is a fresh one, or the failed turn's after its rollback. The account's
        language is read again; when that fails too (the database is what failed), the
        messenger's hint decides.
        """
        language = await _language_of(session, chat)
        return Reply(text=t(self.locale_for(language, hint), "error.apology"))


async def _language_of(session: AsyncSession, chat: ChatRef) -> str | None:
    try:
        async with asyncio.timeout(APOLOGY_READ_TIMEOUT):
            account = await find_account(session, chat.platform.value, chat.chat_id)
    except (SQLAlchemyError, OSError, TimeoutError):
        return None
    return account.language if account is not None else None
