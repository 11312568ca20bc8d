"""Long polling: getUpdates in a loop, each update handed to the feed as a task.

An update is confirmed to Telegram by the next getUpdates (its `offset`), so one that
was being handled when the process died is delivered again. At most
`concurrency` updates are handled at once (each holds a unit of work); the loop waits
for a free place before it takes the next. A failed getUpdates (Telegram or the network
down, a timeout) is logged by its class, without the address (it holds the token), and
tried again after a growing pause of 1 to 5 seconds, as aiogram's own polling does.
Updates arrive as the Bot API's JSON (bot/telegram/aiogram_internals.py `raw_updates`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot
from aiogram.utils.backoff import Backoff, BackoffConfig

from school_bot.bot.telegram.aiogram_internals import raw_updates
from school_bot.bot.telegram.convert import update_id

log = logging.getLogger("school_bot.bot.telegram")

BACKOFF = BackoffConfig(min_delay=1.0, max_delay=5.0, factor=1.3, jitter=0.1)
Feed = Callable[[dict[str, Any]], Awaitable[None]]


async def poll(bot: Bot, feed: Feed, *, allowed_updates: list[str], polling_timeout: int,
               request_timeout: float, concurrency: int, handling: set[asyncio.Task[None]]) -> None:
    """Run until cancelled; the updates being handled then go on, held in `handling`
    (the caller's: it outlives the loop) until each is done (the caller drains them)."""
    places = asyncio.Semaphore(concurrency)
    backoff = Backoff(BACKOFF)
    offset: int | None = None
    failed = False
    while True:
        try:
            updates = await raw_updates(bot, offset=offset, timeout=polling_timeout,
                                        allowed_updates=allowed_updates,
                                        request_timeout=int(request_timeout + polling_timeout))
        except Exception as exc:  # noqa: BLE001 - Telegram or the network is down: try again
            failed = True
            log.error("getUpdates failed error=%s retry_in=%.1f", type(exc).__name__,
                      backoff.next_delay)
            await backoff.asleep()
            continue
        if failed:
            log.info("getUpdates works again after tries=%d", backoff.counter)
            backoff.reset()
            failed = False
        for update in updates:
            number = update_id(update)
            if number is None:
                log.error("getUpdates returned an update without an id: skipped")
                continue
            await places.acquire()
            task = asyncio.create_task(_handle(feed, update, places))
            handling.add(task)
            task.add_done_callback(handling.discard)
            offset = number + 1


async def _handle(feed: Feed, update: dict[str, Any], places: asyncio.Semaphore) -> None:
    try:
        await feed(update)
    finally:
        places.release()
