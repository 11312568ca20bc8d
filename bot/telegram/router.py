"""The Telegram handlers: convert the update, run the turn, hand back what to send.

A handler never sends: it converts the update, runs it through the turn runner
(bot/turns.py: one unit of work, committed before anything is sent; the apology if it
failed) and returns an `Answer`, which `AnswerMiddleware` sends. Edited messages and
channel posts have no handler: they are ignored (and not even requested from Telegram).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aiogram import Router
from aiogram.types import CallbackQuery, ChatMemberUpdated, Message

from bot.telegram.convert import (
    MAX_TEXT,
    callback_to_incoming,
    membership_to_incoming,
    message_to_incoming,
)
from bot.turns import TurnRunner
from handlers.events import Reply


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


async def on_message(message: Message, turns: TurnRunner) -> Answer:
    result = await turns.run(message_to_incoming(message), max_text_length=MAX_TEXT)
    return Answer(message.chat.id, result.replies)


async def on_button(query: CallbackQuery, turns: TurnRunner) -> Answer:
    incoming = callback_to_incoming(query)
    result = await turns.run(incoming, max_text_length=MAX_TEXT)
    pressed = query.message.message_id if query.message is not None else None
    return Answer(int(incoming.chat.chat_id), result.replies, edit_message_id=pressed)


async def on_membership(event: ChatMemberUpdated, turns: TurnRunner) -> None:
    """The user blocked the bot: the core marks the chat inactive. Nothing can be sent."""
    incoming = membership_to_incoming(event)
    if incoming is not None:
        await turns.run(incoming)
