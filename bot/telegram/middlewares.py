"""What every Telegram update goes through, outermost first.

1. `UpdateContextMiddleware`: the request id `tg-<update_id>` for every log line, one
   summary line per update, the metrics, and the in-flight count a clean stop waits on.
2. `AnswerMiddleware`: answers a callback query at once (the client's spinner stops),
   sends the handler's `Answer` once the unit of work is committed, and turns any
   failure into a log line without personal data plus the core's short apology, in
   the user's language.
3. `DatabaseSessionMiddleware`: one session per update, committed once after the
   handler succeeded, rolled back if it failed.
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError
from aiogram.types import TelegramObject, Update

from bot.logs import bound_request_id
from bot.telegram.convert import chat_ref
from bot.telegram.router import Answer, ConversationCore
from bot.telegram.send import send_reply
from storage.db import Database

log = logging.getLogger("bot.telegram")
_PROJECT = Path(__file__).resolve().parents[2]

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
FAILED = object()  # what AnswerMiddleware returns for an update the core failed on


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


class UpdateContextMiddleware(BaseMiddleware):
    def __init__(self, inflight: InFlight, metrics: Any | None = None) -> None:
        self._inflight = inflight
        self._metrics = metrics

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        update = event if isinstance(event, Update) else None
        update_id = update.update_id if update is not None else 0
        kind = _update_type(update)
        with bound_request_id(f"tg-{update_id}"), self._inflight.track():
            started = time.perf_counter()
            outcome = "failed"
            try:
                result = await handler(event, data)
                outcome = ("ignored" if result is UNHANDLED
                           else "failed" if result is FAILED else "handled")
                return result
            finally:
                seconds = time.perf_counter() - started
                log.info("telegram update %s type=%s ms=%.1f", outcome, kind, seconds * 1000)
                self._count(outcome, seconds)

    def _count(self, outcome: str, seconds: float) -> None:
        if self._metrics is None or outcome != "handled":
            return
        self._metrics.updates_handled.labels(platform="telegram").inc()
        self._metrics.handler_latency_seconds.observe(seconds)


class AnswerMiddleware(BaseMiddleware):
    def __init__(self, database: Database, conversation: ConversationCore) -> None:
        self._database = database
        self._conversation = conversation

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        bot: Bot = data["bot"]
        update = event if isinstance(event, Update) else None
        query = update.callback_query if update is not None else None
        answering = asyncio.create_task(_answer_callback(bot, query.id)) if query else None
        try:
            result = await handler(event, data)
        except Exception as exc:  # the core failed: log it, apologise, never stay silent
            log.error("update failed %s", describe_failure(exc))
            await self._apologise(bot, update)
            return FAILED
        finally:
            if answering is not None:
                await answering
        if isinstance(result, Answer):
            await _send_answer(bot, result)
        return result

    async def _apologise(self, bot: Bot, update: Update | None) -> None:
        chat_id, language = _chat_and_language(update)
        if chat_id is None:
            return
        async with self._database.sessions() as session:  # the failed turn's is rolled back
            reply = await self._conversation.apology(session, chat_ref(chat_id), language)
        with suppress(TelegramAPIError):
            await send_reply(bot, chat_id, reply)


class DatabaseSessionMiddleware(BaseMiddleware):
    def __init__(self, database: Database) -> None:
        self._database = database

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        async with self._database.unit_of_work() as session:
            data["session"] = session
            return await handler(event, data)


async def _answer_callback(bot: Bot, query_id: str) -> None:
    try:
        await bot.answer_callback_query(query_id)
    except TelegramAPIError as exc:  # too old, already answered: the press is still handled
        log.info("callback answer refused error=%s", type(exc).__name__)


async def _send_answer(bot: Bot, answer: Answer) -> None:
    for reply in answer.replies:
        try:
            await send_reply(bot, answer.chat_id, reply, edit_message_id=answer.edit_message_id)
        except TelegramForbiddenError:
            log.info("answer not delivered: the user blocked the bot")
            return
        except TelegramAPIError as exc:
            log.error("answer not delivered error=%s detail=%r", type(exc).__name__,
                      exc.message[:120])
            return


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


def describe_failure(exc: BaseException) -> str:
    """`error=IntegrityError at=handlers/x.py:12,storage/y.py:40`: the class and where.

    The exception's own text is left out on purpose: a database error quotes the
    statement's parameters, which may be a phone number or a name.
    """
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if _ours(f.filename)]
    where = ",".join(f"{_short(f.filename)}:{f.lineno}" for f in frames[-4:])
    return f"error={type(exc).__name__} at={where or '-'}"


def _ours(filename: str) -> bool:
    path = Path(filename)
    return path.is_relative_to(_PROJECT) and "site-packages" not in path.parts


def _short(filename: str) -> str:
    return Path(filename).relative_to(_PROJECT).as_posix()
