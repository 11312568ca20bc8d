"""Showing a `Reply` in a chat: the calls of `reply_to_methods`, made one after another.

Shared by the answers to updates and by the outbox's `TelegramDeliverer`, so a reply
looks the same whichever way it travels.
"""

from __future__ import annotations

import asyncio
import logging

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramRetryAfter,
)
from aiogram.methods import EditMessageText, TelegramMethod
from aiogram.types import Message

from school_bot.bot.telegram.aiogram_internals import Shown, answer_methods
from school_bot.bot.telegram.convert import reply_to_methods
from school_bot.shared.events import Reply

log = logging.getLogger(__name__)

MAX_INLINE_WAIT = 5.0   # a flood-control pause we sit out instead of giving up
INLINE_ATTEMPTS = 3
NOT_MODIFIED = "message is not modified"


async def send_answer(bot: Bot, chat_id: int, replies: list[Reply], *,
                      edit_message_id: int | None = None) -> None:
    """A turn's replies, in order; a chat that blocked the bot or a refusal ends them."""
    for reply in replies:
        try:
            await send_reply(bot, chat_id, reply, edit_message_id=edit_message_id)
        except TelegramForbiddenError:
            log.info("answer not delivered: the user blocked the bot")
            return
        except TelegramAPIError as exc:
            log.error("answer not delivered error=%s detail=%r", type(exc).__name__,
                      exc.message[:120])
            return


async def answer_callback(bot: Bot, query_id: str) -> None:
    """Stop the button's spinner in the client (at once: before the turn is run)."""
    try:
        await bot.answer_callback_query(query_id)
    except TelegramAPIError as exc:  # too old, already answered: the press is still handled
        log.info("callback answer refused error=%s", type(exc).__name__)


async def send_reply(
    bot: Bot, chat_id: int | str, reply: Reply, *,
    edit_message_id: int | None = None, patient: bool = True,
) -> int | None:
    """Send `reply`; return the id of the last message shown (None if nothing was sent).

    A short flood-control pause (`retry_after` up to 5 s) is waited out for the second
    and later parts of a long reply, so that a retry of the whole reply does not repeat
    its first part; with `patient` (answers to a user) for the first part too. A longer
    pause, or one on the first part of an impatient send, raises `TelegramRetryAfter`.
    """
    message_id: int | None = None
    for n, method in enumerate(reply_to_methods(chat_id, reply, edit_message_id=edit_message_id)):
        message_id = await _show(bot, method, wait_out_floods=patient or n > 0)
    return message_id


async def _show(bot: Bot, method: TelegramMethod, *, wait_out_floods: bool) -> int | None:  # type: ignore[type-arg]
    if isinstance(method, EditMessageText):
        return await _edit(bot, method, wait_out_floods=wait_out_floods)
    for attempt in range(1, INLINE_ATTEMPTS + 1):
        try:
            result = await bot(method)
        except TelegramRetryAfter as exc:
            if not wait_out_floods or exc.retry_after > MAX_INLINE_WAIT or attempt == INLINE_ATTEMPTS:
                raise
            log.info("flood control: waiting method=%s seconds=%s", type(method).__name__,
                     exc.retry_after)
            await asyncio.sleep(exc.retry_after)
        else:
            return result.message_id if isinstance(result, Message | Shown) else None
    return None  # pragma: no cover - the loop either returns or raises


async def _edit(bot: Bot, method: EditMessageText, *, wait_out_floods: bool) -> int | None:
    """Edit the pressed message; if Telegram cannot (too old, deleted, a file), send anew."""
    try:
        await bot(method)
    except TelegramBadRequest as exc:
        if NOT_MODIFIED in exc.message:
            return method.message_id  # the same content again: already on the screen
        log.info("edit refused, sending instead reason=%r", exc.message[:80])
        send, _ = answer_methods()
        anew = send(chat_id=method.chat_id, text=method.text,
                    parse_mode=method.parse_mode, reply_markup=method.reply_markup)
        return await _show(bot, anew, wait_out_floods=wait_out_floods)
    return method.message_id
