"""The Telegram handlers: convert the update, ask the core, hand back what to send.

A handler never sends and never commits: it returns an `Answer`, which
`AnswerMiddleware` sends after `DatabaseSessionMiddleware` has committed the unit of
work (so no transaction stays open while Telegram is being talked to, and nothing is
shown to the user that was then rolled back). Edited messages and channel posts have
no handler: they are ignored (and not even requested from Telegram).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from aiogram import Router
from aiogram.types import CallbackQuery, ChatMemberUpdated, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.telegram.convert import (
    MAX_TEXT,
    callback_to_incoming,
    membership_to_incoming,
    message_to_incoming,
)
from handlers.events import ChatRef, Incoming, Reply


class ConversationCore(Protocol):
    async def handle(self, session: AsyncSession, incoming: Incoming, *,
                     max_text_length: int | None = None) -> list[Reply]: ...

    async def apology(self, session: AsyncSession, chat: ChatRef, hint: str | None) -> Reply: ...


@dataclass
class Answer:
    """What one update produced: the replies, the chat, and the message a press came from."""

    chat_id: int
    replies: list[Reply] = field(default_factory=list)
    edit_message_id: int | None = None


def build_router() -> Router:
    router = Router(name="telegram")
    router.message.register(on_message)
    router.callback_query.register(on_button)
    router.my_chat_member.register(on_membership)
    return router


async def on_message(message: Message, conversation: ConversationCore,
                     session: AsyncSession) -> Answer:
    replies = await conversation.handle(session, message_to_incoming(message),
                                        max_text_length=MAX_TEXT)
    return Answer(message.chat.id, replies)


async def on_button(query: CallbackQuery, conversation: ConversationCore,
                    session: AsyncSession) -> Answer:
    incoming = callback_to_incoming(query)
    replies = await conversation.handle(session, incoming, max_text_length=MAX_TEXT)
    pressed = query.message.message_id if query.message is not None else None
    return Answer(int(incoming.chat.chat_id), replies, edit_message_id=pressed)


async def on_membership(event: ChatMemberUpdated, conversation: ConversationCore,
                        session: AsyncSession) -> None:
    """The user blocked the bot: the core marks the chat inactive. Nothing can be sent."""
    incoming = membership_to_incoming(event)
    if incoming is not None:
        await conversation.handle(session, incoming)
