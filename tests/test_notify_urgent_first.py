"""Urgent goes first, the limits still hold: an absence alert enqueued while an
announcement is being delivered through the fake Bot API (its flood limits on: 30
messages a second, 1 a second per chat) overtakes the announcement's rows the dispatcher
has already claimed and that are waiting for their slots, and no request is refused.

The dispatcher's rate is low here (a slot every ~0.26 s) so that the rows it claimed
wait seconds for their turn; order and counts are asserted, never times.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from school_bot.bot.telegram.front_door import build_bot
from school_bot.bot.telegram_delivery import TelegramDeliverer
from school_bot.notifications.announcements import create_announcement, operator
from school_bot.notifications.dispatcher import Dispatcher
from school_bot.notifications.outbox import FINAL, OutboxStatus, Priority, enqueue
from school_bot.shared.events import Reply
from school_bot.storage.db import Database
from school_bot.storage.models import Account, OutboxMessage
from tests.fakes.telegram_api import FakeTelegramBotAPI
from tests.support.notify import config, settings
from tests.support.school_world import SchoolWorld, many_families

TOKEN = "4343:urgent-first"
PARENTS = 24      # the announcement's recipients (class 7-А)
CLAIMED = 16      # what the dispatcher claims at once (batch_size = max_in_flight)
RATE = 4.0        # the dispatcher's own rate; the fake server allows 30


@pytest.fixture
async def api() -> AsyncIterator[FakeTelegramBotAPI]:
    async with FakeTelegramBotAPI(token=TOKEN, rate_limit_per_second=30, per_chat_per_second=1,
                                  per_chat_burst=0) as fake:
        yield fake


async def chats_claimed_not_sent(db: Database, api: FakeTelegramBotAPI) -> set[int]:
    """Chats whose rows are `sending` (claimed) and whose message has not arrived yet."""
    async with db.unit_of_work() as s:
        chats = (await s.scalars(
            select(Account.chat_id).join(OutboxMessage, OutboxMessage.account_id == Account.id)
            .where(OutboxMessage.status == OutboxStatus.SENDING))).all()
    arrived = {r.chat_id for r in api.sent}
    return {int(chat) for chat in chats} - arrived


async def all_final(db: Database) -> bool:
    async with db.unit_of_work() as s:
        return all(status in FINAL for status in (await s.scalars(select(OutboxMessage.status))).all())


async def test_an_alert_overtakes_the_announcement_rows_already_claimed(db, api) -> None:
    world = await SchoolWorld(db).build()
    announced = await many_families(db, PARENTS)  # in class 7-А
    await world.add_class("C5B", "5-Б")
    parent = await world.family(1, class_id="C5B")  # not in the announcement's audience
    quiet_free = settings(quiet_hours="", telegram_bot_token=TOKEN, telegram_api_url=api.base_url)
    async with db.unit_of_work() as s:
        announcement = await create_announcement(
            s, author=operator("test"), school_id=world.school_id, audience="class",
            audience_value=world.class_id, text="Батьківські збори у п'ятницю о 18:00",
            urgent=False)
    assert announcement.recipients == PARENTS

    bot = build_bot(quiet_free, timeout=5.0)
    d = Dispatcher(db, quiet_free, {"telegram": TelegramDeliverer(bot)},
                   config(telegram_rate=RATE, telegram_chat_rate=1.0, max_in_flight=CLAIMED,
                          batch_size=CLAIMED, send_timeout=10.0))
    task = asyncio.create_task(d.run())
    try:
        await api.wait_for(lambda r: len(api.sent) >= 2, timeout=20)
        waiting = await chats_claimed_not_sent(db, api)  # claimed, waiting for their slots
        async with db.unit_of_work() as s:
            assert await enqueue(s, account_id=parent.account_id, kind="absence",
                                 priority=Priority.URGENT, dedupe_key="absence:P1:today",
                                 reply=Reply(text="⚠️ Олена відсутня на 1 уроці сьогодні: Фізика (1)"))
        d.nudge()
        await api.wait_for(lambda r: r.chat_id == parent.chat_id, timeout=20)
        async with asyncio.timeout(30):
            while not await all_final(db):
                await asyncio.sleep(0.1)
    finally:
        d.stop()
        await task
        await bot.session.close()

    order = [r.chat_id for r in api.sent if r.method == "sendMessage"]
    alert = order.index(parent.chat_id)
    ahead = [chat for chat in order[:alert] if chat in waiting]
    assert len(waiting) >= CLAIMED - 4  # most of the first claim was still waiting
    # the row holding the window's turn, one whose request had started, and at most one
    # more while the alert was written and claimed (first come first served: all of them)
    assert len(ahead) <= 3, (len(ahead), len(waiting))
    assert sorted(order) == sorted([*announced, parent.chat_id])  # each chat once, none lost
    assert api.rejected_429 == 0
    assert "Фізика (1)" in api.messages_to(parent.chat_id)[0]
