"""Quiet hours read in the time zone of the chat's school, and absence alerts at night,
delivered by the dispatcher through the Telegram deliverer to the fake Bot API server
(SQLite and PostgreSQL).

The city is Kyiv (TIMEZONE=Europe/Kyiv, QUIET_HOURS=21:00-07:30); school S1 is in Kyiv,
school S2 in London, two hours behind on the school day (12 March 2025): at 08:00 in
Kyiv it is 06:00 in London, and at 22:30 in Kyiv it is 20:30 in London. The
dispatcher's clock is fixed where the test sets it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from school_bot.bot.telegram.front_door import build_bot
from school_bot.bot.telegram_delivery import TelegramDeliverer
from school_bot.notifications.dispatcher import Dispatcher
from school_bot.notifications.jobs.absences import absence_alerts
from school_bot.notifications.outbox import Priority, enqueue
from school_bot.shared.events import Reply
from school_bot.storage.db import Database
from tests.fakes.telegram_api import FakeTelegramBotAPI
from tests.support.notify import SCHOOL_DAY, Clock, config, job_context, kyiv, outbox, settings
from tests.support.school_world import SchoolWorld
from tests.support.world import account, guardian, student

TOKEN = "4242:quiet-zones"
LONDON = ZoneInfo("Europe/London")
NEXT_DAY = SCHOOL_DAY + timedelta(days=1)


def london(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=LONDON).astimezone(UTC)


@pytest.fixture
async def api() -> AsyncIterator[FakeTelegramBotAPI]:
    async with FakeTelegramBotAPI(token=TOKEN) as fake:
        yield fake


@pytest.fixture
async def deliverer(api: FakeTelegramBotAPI) -> AsyncIterator[TelegramDeliverer]:
    bot = build_bot(settings(telegram_bot_token=TOKEN, telegram_api_url=api.base_url), timeout=5.0)
    yield TelegramDeliverer(bot)
    await bot.session.close()


def dispatcher(db: Database, deliverer: TelegramDeliverer, clock: Clock) -> Dispatcher:
    return Dispatcher(db, settings(), {"telegram": deliverer}, config(), clock)


async def two_schools(db: Database) -> tuple[SchoolWorld, SchoolWorld]:
    """S1 in Kyiv (the city's zone) and S2 in London."""
    in_kyiv = await SchoolWorld(db).build()
    in_london = await SchoolWorld(db, school_id="S2", class_id="C2", teacher_id="T2",
                                  director_id="D2", timezone="Europe/London", _chats=2000).build()
    return in_kyiv, in_london


async def put(db: Database, account_id: int, key: str, due: datetime, *,
              kind: str = "grades", priority: int = Priority.NORMAL) -> None:
    async with db.unit_of_work() as s:
        assert await enqueue(s, account_id=account_id, kind=kind, priority=priority,
                             dedupe_key=key, reply=Reply(text=key), now=due)


# ---------------------------------------------------------------- the school's zone


async def test_a_grade_at_dawn_in_london_waits_there_and_goes_in_kyiv(db, api, deliverer) -> None:
    kyiv_school, london_school = await two_schools(db)
    in_kyiv = await kyiv_school.family(1)
    in_london = await london_school.family(2)
    clock = Clock(kyiv(SCHOOL_DAY, 8))                     # 06:00 in London
    for family in (in_kyiv, in_london):
        await put(db, family.account_id, f"оцінка {family.chat_id}", clock())

    await dispatcher(db, deliverer, clock).run(until_idle=True)

    assert api.messages_to(in_kyiv.chat_id) == [f"оцінка {in_kyiv.chat_id}"]
    assert api.messages_to(in_london.chat_id) == []
    [held] = await outbox(db, account_id=in_london.account_id)
    assert (held.status, held.next_attempt_at) == ("queued", london(SCHOOL_DAY, 7, 30))

    clock.now = london(SCHOOL_DAY, 7, 31)
    await dispatcher(db, deliverer, clock).run(until_idle=True)
    assert api.messages_to(in_london.chat_id) == [f"оцінка {in_london.chat_id}"]


async def test_news_late_in_kyiv_goes_in_london_unless_the_parent_s_own_hours_hold_it(
        db, api, deliverer) -> None:
    kyiv_school, london_school = await two_schools(db)
    in_kyiv = await kyiv_school.family(1)
    in_london = await london_school.family(2)
    early_to_bed = await london_school.family(3, quiet_hours="20:00-08:00")  # London time
    clock = Clock(kyiv(SCHOOL_DAY, 22, 30))                # 20:30 in London
    for family in (in_kyiv, in_london, early_to_bed):
        await put(db, family.account_id, f"подія {family.chat_id}", clock(), kind="event")

    await dispatcher(db, deliverer, clock).run(until_idle=True)

    assert api.messages_to(in_london.chat_id) == [f"подія {in_london.chat_id}"]
    assert api.messages_to(in_kyiv.chat_id) == api.messages_to(early_to_bed.chat_id) == []
    waiting = {row.account_id: row.next_attempt_at for row in await outbox(db, status="queued")}
    assert waiting == {in_kyiv.account_id: kyiv(NEXT_DAY, 7, 30),
                       early_to_bed.account_id: london(NEXT_DAY, 8)}


async def test_a_chat_takes_the_zone_of_most_of_its_pupils_ties_to_the_first_school(
        db, api, deliverer) -> None:
    """At 06:00 in London: a chat in London's zone waits, one in Kyiv's goes."""
    kyiv_school, london_school = await two_schools(db)
    mostly_london = account("3001", guardians=["G10"])
    tie = account("3002", guardians=["G20"])
    teacher_and_london_parent = account("3003", staff_id="T1", guardians=["G30"])
    await kyiv_school.add(
        student("P10", "C7A", "Бойко Марта Ігорівна"), student("P11", "C2", "Бойко Ян Ігорович"),
        student("P12", "C2", "Бойко Ліна Ігорівна"), student("P20", "C7A", "Гуць Іра Олегівна"),
        student("P21", "C2", "Гуць Лев Олегович"), student("P30", "C2", "Коваль Ніна Іванівна"),
        guardian("G10", children=["P10", "P11", "P12"]), guardian("G20", children=["P20", "P21"]),
        guardian("G30", children=["P30"]), mostly_london, tie, teacher_and_london_parent)
    london_teacher = await london_school.staff_account("T2")
    kyiv_director = await kyiv_school.staff_account("D1")
    no_school = account("3004")  # a chat linked to nobody: the city's zone
    await kyiv_school.add(no_school)
    clock = Clock(london(SCHOOL_DAY, 6))
    chats = {"mostly London": mostly_london.id, "a tie": tie.id,
             "teacher, London parent": teacher_and_london_parent.id,
             "London teacher": london_teacher, "Kyiv director": kyiv_director,
             "no school": no_school.id}
    for name, account_id in chats.items():
        await put(db, account_id, name, clock(), kind="announcement", priority=Priority.BULK)

    await dispatcher(db, deliverer, clock).run(until_idle=True)

    rows = {row.dedupe_key: row for row in await outbox(db)}
    assert {name for name, row in rows.items() if row.status == "sent"} == {
        "a tie", "Kyiv director", "no school"}
    assert {row.next_attempt_at for row in rows.values() if row.status == "queued"} == {
        london(SCHOOL_DAY, 7, 30)}


async def test_the_default_quiet_hours_move_a_zone_s_rows_in_bulk(db, api, deliverer) -> None:
    kyiv_school, london_school = await two_schools(db)
    london_default = [await london_school.family(n) for n in (1, 2, 3)]
    london_own = await london_school.family(4, quiet_hours="")
    kyiv_default = await kyiv_school.family(5)
    due = kyiv(SCHOOL_DAY, 7, 45)
    for family in [*london_default, london_own, kyiv_default]:
        for n in range(5):
            await put(db, family.account_id, f"{family.chat_id}-{n}", due, priority=Priority.BULK,
                      kind="announcement")

    # 06:00 in London: one claim of one row moves every row London's default holds
    await dispatcher(db, deliverer, Clock(kyiv(SCHOOL_DAY, 8))).claim(1)

    rows = await outbox(db)
    in_london = {f.account_id for f in london_default}
    assert {r.next_attempt_at for r in rows if r.account_id in in_london} == {
        london(SCHOOL_DAY, 7, 30)}
    others = [r for r in rows if r.account_id not in in_london]
    assert len([r for r in others if r.status == "sending"]) == 1
    assert {r.next_attempt_at for r in others if r.status == "queued"} == {due}

    # 22:30 in Kyiv: now Kyiv's default holds its rows, London's chats are not moved there
    await dispatcher(db, deliverer, Clock(kyiv(SCHOOL_DAY, 22, 30))).claim(1)

    rows = await outbox(db)
    kyiv_rows = [r for r in rows if r.account_id == kyiv_default.account_id]
    assert {r.next_attempt_at for r in kyiv_rows if r.status == "queued"} == {
        kyiv(NEXT_DAY, 7, 30)}
    assert len([r for r in kyiv_rows if r.status == "queued"]) >= 4
    assert all(r.next_attempt_at != kyiv(NEXT_DAY, 7, 30)
               for r in rows if r.account_id != kyiv_default.account_id)


# ---------------------------------------------------------------- absence alerts at night


async def test_an_absence_at_night_goes_at_once_unless_the_parent_let_it_wait(
        db, api, deliverer) -> None:
    kyiv_school, london_school = await two_schools(db)
    at_once = await kyiv_school.family(1)
    waits = await kyiv_school.family(2, absence_alerts_in_quiet_hours=False)
    waits_in_london = await london_school.family(3, absence_alerts_in_quiet_hours=False)
    await kyiv_school.add_lesson("L1", 1, "Математика")
    await london_school.add_lesson("L2", 1, "Фізика")
    for pupil, lesson in (("P1", "L1"), ("P2", "L1"), ("P3", "L2")):
        await kyiv_school.mark(pupil, lesson, "absent")
    clock = Clock(kyiv(SCHOOL_DAY, 22, 30))   # the register filled in late; 20:30 in London
    assert await absence_alerts(job_context(db, clock)) == 3
    await put(db, waits.account_id, "Терміново: школа зачинена", clock(), kind="announcement",
              priority=Priority.URGENT)

    await dispatcher(db, deliverer, clock).run(until_idle=True)

    assert "Математика (1)" in api.messages_to(at_once.chat_id)[0]
    assert "Фізика (1)" in api.messages_to(waits_in_london.chat_id)[0]  # not quiet there yet
    assert api.messages_to(waits.chat_id) == ["Терміново: школа зачинена"]
    [held] = await outbox(db, account_id=waits.account_id, kind="absence")
    assert (held.status, held.next_attempt_at) == ("queued", kyiv(NEXT_DAY, 7, 30))

    clock.now = kyiv(NEXT_DAY, 7, 30)
    await dispatcher(db, deliverer, clock).run(until_idle=True)
    assert "Математика (1)" in api.messages_to(waits.chat_id)[-1]
