"""One evening reminder of an absence still unexplained the next school day: once, not
when explained, not when the parent turned it off in the settings; and the settings
switch itself. Jobs run on a settable clock; what they wrote is read from the outbox.

The school day is Wednesday 12 March 2025; the class has lessons on Wednesday, Thursday,
Friday and the Monday after.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from school_bot.notifications.jobs.absences import absence_alerts
from school_bot.notifications.jobs.common import next_school_day
from school_bot.notifications.jobs.note_reminders import absence_note_reminders
from school_bot.storage.absence_notes import NoteStatus, add_note, decide
from school_bot.storage.db import Database
from school_bot.storage.models import AbsenceAlert, Account, utc_now
from tests.support.core import chat, conversation
from tests.support.notify import KYIV, SCHOOL_DAY, Clock, job_context, kyiv, outbox
from tests.support.school_world import Family, SchoolWorld
from tests.test_absence_alert_updates import PARENT_CHAT, on_telegram

WEDNESDAY, THURSDAY, FRIDAY = SCHOOL_DAY, SCHOOL_DAY + timedelta(days=1), SCHOOL_DAY + timedelta(days=2)
MONDAY = SCHOOL_DAY + timedelta(days=5)
KIND = "absence_note_reminder"


async def _absent(db: Database, day: date = WEDNESDAY) -> tuple[SchoolWorld, Family, int]:
    """Olena (P1) missed the first lesson of `day` and her parent was alerted; returns
    the alert's id."""
    world = await SchoolWorld(db).build()
    olena = await world.family(1)
    for n, lesson_day in enumerate((WEDNESDAY, THURSDAY, FRIDAY, MONDAY)):
        await world.add_lesson(f"L{n}", 1, "Математика", day=lesson_day)
    lesson_id = f"L{(WEDNESDAY, THURSDAY, FRIDAY, MONDAY).index(day)}"
    await world.mark("P1", lesson_id, "absent")
    assert await absence_alerts(job_context(db, Clock(kyiv(day, 10)))) == 1
    async with db.unit_of_work() as session:
        alert_id = (await session.scalars(select(AbsenceAlert.id))).one()
    return world, olena, alert_id


async def _remind(db: Database, day: date, hour: int, minute: int = 5) -> int:
    return await absence_note_reminders(job_context(db, Clock(kyiv(day, hour, minute))))


async def _note(db: Database, day: date, status: NoteStatus | None = None) -> None:
    async with db.unit_of_work() as session:
        note = await add_note(session, school_id="S1", class_id="C7A", student_id="P1",
                              guardian_id="G1", account_id=None, first_day=day, last_day=day,
                              reason="illness", note=None, in_advance=False, now=utc_now())
        if status is not None:
            await decide(session, note, status, by="T1", actor="staff:T1", now=utc_now())


async def test_an_unexplained_absence_is_reminded_once_the_next_school_days_evening(
        db: Database) -> None:
    _, olena, alert_id = await _absent(db)
    assert await _remind(db, WEDNESDAY, 18) == 0  # the day itself: not yet
    assert await _remind(db, THURSDAY, 17, 55) == 0  # before the hour
    assert await _remind(db, THURSDAY, 18) == 1
    assert await _remind(db, THURSDAY, 18, 30) == 0  # the job runs again: nothing more
    assert await _remind(db, FRIDAY, 18) == 0  # nor the next evening
    [row] = await outbox(db, kind=KIND)
    assert row.account_id == olena.account_id and row.priority == 1  # quiet hours hold it
    assert "Олена" in row.payload["text"] and "вчора" in row.payload["text"]
    assert "Шевченко" not in row.payload["text"]
    assert row.payload["buttons"] == [[["Пояснити", f"xp:a:{alert_id}"]]]
    parent = chat(db, conversation(db), str(olena.chat_id))
    await parent.press_payload(f"xp:a:{alert_id}")  # the parent's explanation flow opens
    assert "Оберіть причину відсутності" in parent.last_text


async def test_the_reminder_reaches_the_parents_telegram_with_the_explain_button(
        db: Database) -> None:
    async with on_telegram(db) as (day, telegram):
        await day.mark("1-L1", "absent")
        await day.scan_and_deliver()
        today = datetime.now(UTC).astimezone(KYIV).date()
        evening = datetime.combine(next_school_day(today), time(18, 5), tzinfo=KYIV)
        day.clock.advance((evening - datetime.now(UTC)).total_seconds())
        assert await absence_note_reminders(day.context()) == 1
        assert await absence_note_reminders(day.context()) == 0
        await day.deliver()
        alert, reminder = [r for r in telegram.sent
                           if r.method == "sendMessage" and r.chat_id == PARENT_CHAT]
    assert "Тарас" in (reminder.text or "") and "ще не пояснено" in (reminder.text or "")
    [[button]] = reminder.params["reply_markup"]["inline_keyboard"]
    assert button["text"] == "Пояснити" and button["callback_data"].startswith("xp:a:")
    assert alert.params["reply_markup"]["inline_keyboard"] == [[button]]  # the alert's own row


async def test_an_absence_on_friday_is_reminded_on_monday_evening(db: Database) -> None:
    await _absent(db, FRIDAY)
    saturday, sunday = FRIDAY + timedelta(days=1), FRIDAY + timedelta(days=2)
    assert await _remind(db, saturday, 18) == 0 and await _remind(db, sunday, 18) == 0
    # Monday's absence scan forgets the alerts of past days, but not this one yet
    assert await absence_alerts(job_context(db, Clock(kyiv(MONDAY, 10)))) == 0
    assert await _remind(db, MONDAY, 18) == 1
    [row] = await outbox(db, kind=KIND)
    assert "14 березня" in row.payload["text"]


async def test_no_reminder_when_a_note_covers_the_day_whatever_its_decision(db: Database) -> None:
    await _absent(db)
    await _note(db, WEDNESDAY, NoteStatus.DECLINED)  # the parent was answered
    assert await _remind(db, THURSDAY, 18) == 0
    async with db.unit_of_work() as session:
        alert = (await session.scalars(select(AbsenceAlert))).one()
    assert alert.reminded_at is not None  # decided on: never looked at again
    assert await outbox(db, kind=KIND) == []


async def test_no_reminder_when_the_school_excused_the_absence(db: Database) -> None:
    world, _, _ = await _absent(db)
    await world.mark("P1", "L0", "excused")
    assert await _remind(db, THURSDAY, 18) == 0


async def test_a_parent_turns_the_reminders_off_in_the_settings_and_gets_none(db: Database) -> None:
    _, olena, _ = await _absent(db)
    parent = chat(db, conversation(db), str(olena.chat_id))
    await parent.send("/settings")
    assert "Нагадування пояснити відсутність: увімкнено" in parent.last_text
    await parent.press("Нагадування пояснити відсутність: увімкнено")
    assert "Нагадування пояснити відсутність: вимкнено" in parent.last_text
    assert parent.last_reply.edit
    for forged in ("st:r:yes", "st:r:", "st:r:10"):  # callback data is the client's to send
        await parent.press_payload(forged)
    async with db.unit_of_work() as session:
        account = await session.get(Account, olena.account_id)
        assert account is not None and account.absence_note_reminders is False
    assert await _remind(db, THURSDAY, 18) == 0
    assert await outbox(db, kind=KIND) == []

    await parent.press("Нагадування пояснити відсутність: вимкнено")  # on again
    await parent.press("English")
    assert "Reminders to explain absences: on" in parent.last_text


async def test_a_staff_chat_has_no_such_setting(db: Database) -> None:
    world = await SchoolWorld(db).build()
    account_id = await world.staff_account(world.teacher_id)
    async with db.unit_of_work() as session:
        account = await session.get(Account, account_id)
        assert account is not None
    teacher = chat(db, conversation(db), account.chat_id)
    await teacher.press_payload("st:r:0")
    assert "Налаштування" in teacher.last_text and "Нагадування" not in teacher.last_text
    async with db.unit_of_work() as session:
        account = await session.get(Account, account_id)
        assert account is not None and account.absence_note_reminders is True
