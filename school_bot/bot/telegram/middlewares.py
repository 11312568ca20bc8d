"""What every Telegram update goes through before its handler: the transport's part.

`UpdateMiddleware`, one outer middleware:
1. the request id `tg-<update_id>` for every log line, and the in-flight count a clean
   stop waits on;
2. an update that fails before it reaches the turn runner (it cannot be converted) is
   logged without personal data and apologised for.

The unit of work, the apology for a failed turn, the logging and counting are the turn
runner's (bot/turns.py), the same for every front door; the handlers (router.py)
convert and give the runner Telegram's way of sending.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import TelegramObject, Update

from school_bot.bot.logs import bound_request_id
from school_bot.bot.telegram.convert import chat_ref
from school_bot.bot.telegram.send import send_reply
from school_bot.bot.turns import TurnRunner, describe_failure

log = logging.getLogger("school_bot.bot.telegram")

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
FAILED = object()  # what UpdateMiddleware returns for an update that could not be converted


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


class UpdateMiddleware(BaseMiddleware):
    """The request id and the in-flight count of every update; an update that fails
    before the turn runner has it (it cannot be converted) is logged without personal
    data and apologised for, as a failed turn is (the module docstring)."""

    def __init__(self, turns: TurnRunner, inflight: InFlight) -> None:
        self._turns = turns
        self._inflight = inflight

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        update = event if isinstance(event, Update) else None
        with bound_request_id(f"tg-{update.update_id if update else 0}"), self._inflight.track():
            try:
                return await handler(event, data)
            except Exception as exc:  # noqa: BLE001 - not even converted: log it, apologise, never stay silent
                log.error("update failed type=%s %s", _update_type(update), describe_failure(exc))
                await self._apologise(data["bot"], update)
                return FAILED

    async def _apologise(self, bot: Bot, update: Update | None) -> None:
        chat_id, language = _chat_and_language(update)
        if chat_id is None:
            return
        reply = await self._turns.apology(chat_ref(chat_id), language)
        with suppress(TelegramAPIError):
            await send_reply(bot, chat_id, reply)


def _update_type(update: Update | None) -> str:
    if update is None:
        return "-"
    try:
        return update.event_type
    except Exception:  # noqa: BLE001 - an update type newer than aiogram
        return "unknown"


def _chat_and_language(update: Update | None) -> tuple[int | None, str | None]:
    if update is None:
        return None, None
    if update.message is not None:
        sender = update.message.from_user
        return update.message.chat.id, sender.language_code if sender else None
    if update.callback_query is not None:
        query = update.callback_query
        chat_id = query.message.chat.id if query.message is not None else query.from_user.id
        return chat_id, query.from_user.language_code
    return None, None
