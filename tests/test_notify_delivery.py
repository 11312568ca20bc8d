"""The outbox dispatcher delivering through the real aiogram Bot and the Telegram
deliverer to the fake Bot API server over HTTP, on SQLite and PostgreSQL.

The clock the dispatcher reads runs with real time from a point the test chooses
(and can jump forward), so "retry after two hours" is tested without waiting.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from school_bot.bot.telegram.front_door import build_bot
from school_bot.bot.telegram_delivery import TelegramDeliverer
from school_bot.notifications.dispatcher import Dispatcher, pause_platform
from school_bot.notifications.outbox import Notification, Priority, enqueue, enqueue_many
from school_bot.notifications.service import NotificationService
from school_bot.shared.events import Reply
from school_bot.storage.db import Database
from school_bot.storage.models import Account, DeliveryPause, OutboxMessage
from tests.fakes.telegram_api import FakeTelegramBotAPI
from tests.support.notify import SCHOOL_DAY, config, kyiv, outbox, settings
from tests.support.school_world import SchoolWorld, many_families

TOKEN = "4242:notify-delivery"
BEFORE_EVERY_CLOCK = kyiv(SCHOOL_DAY, 9)  # every test clock here starts later


class RunningClock:
    """Real time, shifted: starts at `start` and can jump forward."""

    def __init__(self, start: datetime | None = None) -> None:
        self.offset = (start - datetime.now(UTC)) if start else timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def jump(self, **delta: float) -> None:
        self.offset += timedelta(**delta)


@pytest.fixture
async def api() -> AsyncIterator[FakeTelegramBotAPI]:
    async with FakeTelegramBotAPI(token=TOKEN) as fake:
        yield fake


@pytest.fixture
async def deliverer(api: FakeTelegramBotAPI) -> AsyncIterator[TelegramDeliverer]:
    bot = build_bot(settings(telegram_bot_token=TOKEN, telegram_api_url=api.base_url), timeout=5.0)
    yield TelegramDeliverer(bot)
    await bot.session.close()


def dispatcher(db: Database, deliverer: TelegramDeliverer, clock: Callable[[], datetime],
               **overrides: Any) -> Dispatcher:
    return Dispatcher(db, settings(), {"telegram": deliverer}, config(**overrides), clock)


async def deliver_until(d: Dispatcher, done: Callable[[], Awaitable[bool]],
                        timeout: float = 20.0) -> None:
    """Run the dispatcher until `done()` (checked against the database) or fail."""
    task = asyncio.create_task(d.run())
    try:
        async with asyncio.timeout(timeout):
            while not await done():
                await asyncio.sleep(0.05)
    finally:
        d.stop()
        await task


def all_final(db: Database) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return all(r.status in ("sent", "dead", "blocked") for r in await outbox(db))
    return check


async def put(db: Database, account_id: int, key: str, *, priority: int = Priority.NORMAL,
              kind: str = "grades", text: str | None = None,
              now: datetime = BEFORE_EVERY_CLOCK) -> None:
    """Enqueue a row, due from `now` (by default before every test clock's start)."""
    async with db.unit_of_work() as s:
        assert await enqueue(s, account_id=account_id, kind=kind, priority=priority,
                             dedupe_key=key, reply=Reply(text=text or f"повідомлення {key}"),
                             now=now)


async def families(db: Database, n: int, **account: Any) -> SchoolWorld:
    world = await SchoolWorld(db).build()
    for i in range(1, n + 1):
        await world.family(i, **account)
    return world


# ---------------------------------------------------------------- the happy path


async def test_each_row_is_sent_once_and_its_message_id_kept(db, api, deliverer) -> None:
    world = await families(db, 3)
    for f in world.families:
        await put(db, f.account_id, f"k{f.account_id}")
    await dispatcher(db, deliverer, RunningClock(kyiv(SCHOOL_DAY, 10))).run(until_idle=True)

    rows = await outbox(db)
    assert [r.status for r in rows] == ["sent"] * 3
    for row, family in zip(rows, world.families, strict=True):
        [message] = [m for m in api.sent if m.chat_id == family.chat_id]
        assert row.platform_message_id == str(message.message_id) and row.attempts == 1
        assert message.text == f"повідомлення k{family.account_id}"


async def test_a_repeated_dedupe_key_and_an_inactive_account_write_nothing(db) -> None:
    world = await families(db, 2)
    first, gone = world.families
    async with db.unit_of_work() as s:
        (await s.get(Account, gone.account_id)).active = False
    async with db.unit_of_work() as s:
        assert await enqueue(s, account_id=first.account_id, kind="x", priority=1,
                             dedupe_key="same", reply=Reply(text="1"))
        assert not await enqueue(s, account_id=first.account_id, kind="x", priority=1,
                                 dedupe_key="same", reply=Reply(text="2"))
        assert not await enqueue(s, account_id=gone.account_id, kind="x", priority=1,
                                 dedupe_key="other", reply=Reply(text="3"))
    async with db.unit_of_work() as s:  # a second writer in another transaction: no-op too
        items = [Notification(first.account_id, "x", 2, key, Reply(text="bulk"))
                 for key in ("same", "new-1", "new-2")]
        assert await enqueue_many(s, items) == 2
    assert [r.dedupe_key for r in await outbox(db)] == ["same", "new-1", "new-2"]


# ---------------------------------------------------------------- flood control


async def test_a_two_hour_retry_after_moves_that_row_and_survives_a_restart(db, api, deliverer) -> None:
    world = await families(db, 3)
    for f in world.families:
        await put(db, f.account_id, f"k{f.account_id}")
    api.fail_next("sendMessage", 429, retry_after=7200)
    clock = RunningClock(kyiv(SCHOOL_DAY, 10))

    await deliver_until(dispatcher(db, deliverer, clock),
                        lambda: _count(db, status="sent", expected=2))

    [held] = await outbox(db, status="queued")
    assert held.attempts == 0 and "retry after" in (held.last_error or "")
    assert held.next_attempt_at - clock() > timedelta(hours=1, minutes=59)
    async with db.unit_of_work() as s:  # the bot-wide pause is stored, and short
        pause = await s.get(DeliveryPause, "telegram")
        assert pause is not None and pause.paused_until - clock() < timedelta(seconds=1)

    sent_before = len(api.sent)
    await dispatcher(db, deliverer, clock).run(until_idle=True)   # a new instance: still waits
    assert len(api.sent) == sent_before
    clock.jump(hours=2, seconds=1)
    await dispatcher(db, deliverer, clock).run(until_idle=True)
    assert [r.status for r in await outbox(db)] == ["sent"] * 3
    assert len(api.sent) == 3


async def test_a_stored_platform_pause_holds_a_new_dispatcher_until_it_ends(db, api, deliverer) -> None:
    world = await families(db, 2)
    clock = RunningClock(kyiv(SCHOOL_DAY, 10))
    async with db.unit_of_work() as s:
        await pause_platform(s, "telegram", clock() + timedelta(minutes=30), "429 for the bot")
    for f in world.families:
        await put(db, f.account_id, f"k{f.account_id}")
    await dispatcher(db, deliverer, clock).run(until_idle=True)
    assert api.sent == [] and len(await outbox(db, status="queued")) == 2
    clock.jump(minutes=31)
    await dispatcher(db, deliverer, clock).run(until_idle=True)
    assert len(await outbox(db, status="sent")) == 2


async def test_per_chat_pacing_keeps_one_chat_under_its_limit(db, api, deliverer) -> None:
    api.per_chat_per_second = 5
    world = await families(db, 1)
    chat = world.families[0]
    for n in range(6):
        await put(db, chat.account_id, f"m{n}", text=f"№{n}")
    await deliver_until(dispatcher(db, deliverer, RunningClock(kyiv(SCHOOL_DAY, 10)), telegram_chat_rate=4.5),
                        all_final(db))
    assert api.rejected_429 == 0
    assert api.messages_to(chat.chat_id) == [f"№{n}" for n in range(6)]  # in order


# ---------------------------------------------------------------- failures


async def test_server_errors_back_off_then_the_row_is_dead_after_max_attempts(db, api, deliverer) -> None:
    world = await families(db, 2)
    doomed, fine = world.families
    api.blocked_chats.clear()
    await put(db, doomed.account_id, "doomed")
    api.fail_next("sendMessage", 502, times=4)  # every attempt of the first row
    clock = RunningClock(kyiv(SCHOOL_DAY, 10))
    await deliver_until(dispatcher(db, deliverer, clock, max_attempts=4), all_final(db))
    [row] = await outbox(db)
    assert (row.status, row.attempts) == ("dead", 4)
    assert row.last_error == "TelegramServerError: Bad Gateway"
    assert len(api.rejected) == 4 and api.sent == []

    await put(db, fine.account_id, "fine")          # a later message is not affected
    api.fail_next("sendMessage", 500, times=2)
    clock = RunningClock(kyiv(SCHOOL_DAY, 10))
    await deliver_until(dispatcher(db, deliverer, clock, max_attempts=4), all_final(db))
    [_, recovered] = await outbox(db)
    assert (recovered.status, recovered.attempts) == ("sent", 3)


async def test_blocked_bot_makes_the_account_inactive_and_blocks_its_queue(db, api, deliverer) -> None:
    world = await families(db, 2)
    blocker, other = world.families
    api.blocked_chats.add(blocker.chat_id)
    for n in range(3):
        await put(db, blocker.account_id, f"b{n}")
    await put(db, other.account_id, "o")
    await deliver_until(dispatcher(db, deliverer, RunningClock(kyiv(SCHOOL_DAY, 10))), all_final(db))

    rows = {r.dedupe_key: r.status for r in await outbox(db)}
    assert rows == {"b0": "blocked", "b1": "blocked", "b2": "blocked", "o": "sent"}
    assert len([r for r in api.rejected if r.chat_id == blocker.chat_id]) == 1  # tried once
    async with db.unit_of_work() as s:
        assert (await s.get(Account, blocker.account_id)).active is False
        assert (await s.get(Account, other.account_id)).active is True
    async with db.unit_of_work() as s:  # and nothing new is written for it
        assert not await enqueue(s, account_id=blocker.account_id, kind="x", priority=0,
                                 dedupe_key="later", reply=Reply(text="…"))


# ---------------------------------------------------------------- lanes and quiet hours


async def test_an_absence_behind_500_bulk_rows_goes_among_the_first(db, api, deliverer) -> None:
    world = await families(db, 1)
    parent = world.families[0]
    await many_families(db, 500)
    async with db.unit_of_work() as s:
        bulk = (await s.scalars(select(Account.id).where(Account.id != parent.account_id))).all()
        await enqueue_many(s, [Notification(account_id, "announcement", Priority.BULK,
                                            f"ann:1:{account_id}", Reply(text="Збори у п'ятницю"))
                               for account_id in bulk], now=kyiv(SCHOOL_DAY, 9))
    d = dispatcher(db, deliverer, RunningClock(kyiv(SCHOOL_DAY, 10)), telegram_rate=150.0)
    task = asyncio.create_task(d.run())
    try:
        await api.wait_for(lambda r: len(api.sent) >= 100, timeout=20)
        await put(db, parent.account_id, "absence:P501", priority=Priority.URGENT, kind="absence",
                  text="⚠️ Відсутність")
        position_at_enqueue = len(api.sent)
        d.nudge()
        alert = await api.wait_for(lambda r: r.chat_id == parent.chat_id, timeout=20)
    finally:
        d.stop()
        await task
    position = api.sent.index(alert)
    cfg = d.config
    assert position - position_at_enqueue <= cfg.max_in_flight + cfg.batch_size
    assert position < 250  # far ahead of the 400 bulk rows still waiting


async def test_quiet_hours_hold_normal_rows_until_morning_but_not_urgent_ones(db, api, deliverer) -> None:
    world = await SchoolWorld(db).build()
    default = await world.family(1)                          # the default 21:00-07:30
    no_quiet = await world.family(2, quiet_hours="")         # turned off
    own = await world.family(3, quiet_hours="23:00-06:00")   # not yet quiet at 22:00
    await put(db, default.account_id, "grade-default")  # due since 09:00
    await put(db, default.account_id, "absence", priority=Priority.URGENT, kind="absence")
    await put(db, default.account_id, "urgent-ann", priority=Priority.URGENT, kind="announcement")
    await put(db, default.account_id, "bulk-ann", priority=Priority.BULK, kind="announcement")
    await put(db, no_quiet.account_id, "grade-no-quiet")
    await put(db, own.account_id, "grade-own")

    clock = RunningClock(kyiv(SCHOOL_DAY, 22))
    await dispatcher(db, deliverer, clock).run(until_idle=True)
    status = {r.dedupe_key: r for r in await outbox(db)}
    assert {k for k, r in status.items() if r.status == "sent"} == {
        "absence", "urgent-ann", "grade-no-quiet", "grade-own"}
    morning = kyiv(SCHOOL_DAY + timedelta(days=1), 7, 30)
    assert status["grade-default"].next_attempt_at == morning
    assert status["bulk-ann"].next_attempt_at == morning

    clock.jump(hours=9, minutes=31)   # 07:31 next morning
    await dispatcher(db, deliverer, clock).run(until_idle=True)
    assert {r.status for r in await outbox(db)} == {"sent"}


# ---------------------------------------------------------------- crash leftovers


async def test_rows_left_sending_by_a_crash_are_retried_after_their_lease(db, api, deliverer) -> None:
    world = await families(db, 2)
    for f in world.families:
        await put(db, f.account_id, f"k{f.account_id}")
    clock = RunningClock(kyiv(SCHOOL_DAY, 10))
    async with db.unit_of_work() as s:  # what a killed process leaves behind
        await s.execute(update(OutboxMessage).values(
            status="sending", next_attempt_at=clock() + timedelta(seconds=30)))
    await dispatcher(db, deliverer, clock, sending_lease=30).run(until_idle=True)
    assert api.sent == []                          # still leased: maybe in flight elsewhere
    clock.jump(seconds=31)
    await dispatcher(db, deliverer, clock, sending_lease=30).run(until_idle=True)
    rows = await outbox(db)
    assert [r.status for r in rows] == ["sent", "sent"] and len(api.sent) == 2
    assert all(r.attempts == 2 for r in rows)      # the interrupted try counts


async def test_a_clean_stop_puts_back_what_was_claimed_but_not_sent(db, api, deliverer) -> None:
    world = await families(db, 12)
    for f in world.families:
        await put(db, f.account_id, f"k{f.account_id}")
    d = dispatcher(db, deliverer, RunningClock(kyiv(SCHOOL_DAY, 10)), telegram_rate=4.0)
    task = asyncio.create_task(d.run())
    await api.wait_for(lambda r: len(api.sent) >= 2, timeout=10)
    d.stop()
    await task
    rows = await outbox(db)
    assert "sending" not in {r.status for r in rows}
    assert len([r for r in rows if r.status == "sent"]) == len(api.sent) < 12


async def _count(db: Database, *, status: str, expected: int) -> bool:
    async with db.unit_of_work() as s:
        rows = (await s.scalars(select(OutboxMessage.id).where(OutboxMessage.status == status))).all()
    return len(rows) >= expected


# ---------------------------------------------------------------- the service


async def test_the_service_runs_the_jobs_and_delivers_an_absence_within_moments(db, api) -> None:
    world = await SchoolWorld(db).build()
    parent = await world.family(1)
    await world.add_lesson("L1", 1, "Математика")
    bot = build_bot(settings(telegram_bot_token=TOKEN, telegram_api_url=api.base_url), timeout=5.0)
    service = NotificationService(db, settings(), {"telegram": TelegramDeliverer(bot)},
                                  RunningClock(kyiv(SCHOOL_DAY, 9, 50)),
                                  config=config(absence_interval=0.2, poll_interval=1.0))
    await service.start()
    try:
        assert service.running
        await world.mark("P1", "L1", "absent")       # as the import writes it
        alert = await api.wait_for(lambda r: r.chat_id == parent.chat_id, timeout=15)
    finally:
        await service.stop()
        await bot.session.close()
    assert not service.running
    assert "Математика (1)" in (alert.text or "") and "сьогодні" in (alert.text or "")
    [row] = await outbox(db)
    assert (row.kind, row.status, row.priority) == ("absence", "sent", 0)
