"""One Telegram update, from the Bot API's model to the turn runner and back.

`UpdateFeed.feed` is what polling and the webhook both call with each update, as the
Bot API's JSON (bot/telegram/convert.py reads the fields the core needs):

1. it binds the request id `tg-<update_id>` for every log line, and counts the update
   in flight (a clean stop waits for those);
2. it converts the update (bot/telegram/convert.py) and runs the turn (bot/turns.py)
   with Telegram's way of sending: a message is answered in its chat; a button press
   first stops the client's spinner, then its answer edits the message that was
   pressed; a user blocking the bot is a turn with nothing to send;
3. an update that fails before the turn runner has it (it cannot be converted) is
   logged without personal data and apologised for, as a failed turn is.

Only the kinds in `ALLOWED_UPDATES` are asked of Telegram; anything else (an edited
message, a channel post) is ignored. Nothing here routes by content: which handler
answers is the conversation core's choice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError

from school_bot.bot.logs import bound_request_id
from school_bot.bot.telegram.convert import (
    MAX_TEXT,
    Json,
    callback_to_incoming,
    chat_and_language,
    chat_ref,
    membership_to_incoming,
    message_to_incoming,
    pressed_message_id,
    update_id,
)
from school_bot.bot.telegram.send import answer_callback, send_answer, send_reply
from school_bot.bot.turns import TurnRunner, describe_failure
from school_bot.shared.events import Reply

log = logging.getLogger("school_bot.bot.telegram")

# the update kinds the bot reads: getUpdates and setWebhook ask Telegram for these only
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]


class InFlight:
    """Counts updates being handled: `drain` waits until none is left (a clean stop),
    `wait_finished(n)` until `n` have been handled since the start."""

    def __init__(self) -> None:
        self._count = 0
        self.finished = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._tick = asyncio.Event()

    @property
    def count(self) -> int:
        return self._count

    @contextmanager
    def track(self) -> Iterator[None]:
        self._count += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._count -= 1
            self.finished += 1
            self._tick.set()
            self._tick = asyncio.Event()
            if self._count == 0:
                self._idle.set()

    async def drain(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            log.warning("stopping with updates still in flight count=%d", self._count)
            return False
        return True

    async def wait_finished(self, total: int, timeout: float) -> None:
        async with asyncio.timeout(timeout):
            while self.finished < total:
                await self._tick.wait()


class UpdateFeed:
    """Each update through the turn runner (the module docstring)."""

    def __init__(self, bot: Bot, turns: TurnRunner, inflight: InFlight | None = None) -> None:
        self.bot = bot
        self.turns = turns
        self.inflight = inflight or InFlight()

    async def feed(self, update: Json) -> None:
        with bound_request_id(f"tg-{update_id(update) or 0}"), self.inflight.track():
            try:
                if "message" in update:
                    await self._message(update["message"])
                elif "callback_query" in update:
                    await self._button(update["callback_query"])
                elif "my_chat_member" in update:
                    await self._membership(update["my_chat_member"])
            except Exception as exc:  # noqa: BLE001 - not even converted: log it, apologise, never stay silent
                log.error("update failed type=%s %s", _update_type(update), describe_failure(exc))
                await self._apologise(update)

    async def _message(self, message: Json) -> None:
        incoming = message_to_incoming(message)

        async def send(replies: list[Reply]) -> None:
            await send_answer(self.bot, int(incoming.chat.chat_id), replies)

        await self.turns.run(incoming, send=send, max_text_length=MAX_TEXT)

    async def _button(self, query: Json) -> None:
        # the spinner stops at once
        answering = asyncio.create_task(answer_callback(self.bot, str(query.get("id"))))
        try:
            incoming = callback_to_incoming(query)
            pressed = pressed_message_id(query)

            async def send(replies: list[Reply]) -> None:
                await answering
                await send_answer(self.bot, int(incoming.chat.chat_id), replies,
                                  edit_message_id=pressed)

            await self.turns.run(incoming, send=send, max_text_length=MAX_TEXT)
        finally:
            await answering

    async def _membership(self, event: Json) -> None:
        """The user blocked the bot: the core marks the chat inactive. Nothing can be sent."""
        incoming = membership_to_incoming(event)
        if incoming is not None:
            await self.turns.run(incoming)

    async def _apologise(self, update: Json) -> None:
        chat_id, language = chat_and_language(update)
        if chat_id is None:
            return
        reply = await self.turns.apology(chat_ref(chat_id), language)
        with suppress(TelegramAPIError):
            await send_reply(self.bot, chat_id, reply)


def _update_type(update: Json) -> str:
    """The update's kind (its one key besides the id), for the log."""
    kinds = [key for key in update if key != "update_id"]
    return kinds[0] if len(kinds) == 1 and kinds[0].isidentifier() else "unknown"
