"""The Telegram handlers: convert the update, and run the turn with Telegram's `send`.

The turn runner (bot/turns.py) commits the unit of work before it calls `send` (or
sends the apology if the turn failed); a button's answer edits the message that was
pressed. Edited messages and channel posts have no handler: they are ignored (and not
even requested from Telegram).
"""

from __future__ import annotations

import asyncio

from aiogram import Bot, Router
from aiogram.types import CallbackQuery, ChatMemberUpdated, Message

from school_bot.bot.telegram.convert import (
    MAX_TEXT,
    callback_to_incoming,
    membership_to_incoming,
    message_to_incoming,
)
from school_bot.bot.telegram.send import answer_callback, send_answer
from school_bot.bot.turns import TurnRunner
from school_bot.shared.events import Reply


def build_router() -> Router:
    router = Router(name="telegram")
    router.message.register(on_message)
    router.callback_query.register(on_button)
    router.my_chat_member.register(on_membership)
    return router


async def on_message(message: Message, turns: TurnRunner, bot: Bot) -> None:
    async def send(replies: list[Reply]) -> None:
        await send_answer(bot, message.chat.id, replies)

    await turns.run(message_to_incoming(message), send=send, max_text_length=MAX_TEXT)


async def on_button(query: CallbackQuery, turns: TurnRunner, bot: Bot) -> None:
    answering = asyncio.create_task(answer_callback(bot, query.id))  # the spinner stops at once
    try:
        incoming = callback_to_incoming(query)
        pressed = query.message.message_id if query.message is not None else None

        async def send(replies: list[Reply]) -> None:
            await answering
            await send_answer(bot, int(incoming.chat.chat_id), replies, edit_message_id=pressed)

        await turns.run(incoming, send=send, max_text_length=MAX_TEXT)
    finally:
        await answering


async def on_membership(event: ChatMemberUpdated, turns: TurnRunner) -> None:
    """The user blocked the bot: the core marks the chat inactive. Nothing can be sent."""
    incoming = membership_to_incoming(event)
    if incoming is not None:
        await turns.run(incoming)
