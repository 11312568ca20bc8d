"""The notification jobs' rules, on a real database (SQLite and PostgreSQL).

Each job is called directly with a settable clock; what it did is read from the
outbox and the source rows' *_at columns.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from school_bot.notifications.jobs.absences import absence_alerts
from school_bot.notifications.jobs.events import event_notifications
from school_bot.notifications.jobs.grades import grade_digests, grade_notifications
from school_bot.notifications.jobs.homework import homework_for_tomorrow
from school_bot.notifications.jobs.launch import launch_news
from school_bot.notifications.jobs.teachers import diary_reminders, director_summaries
from school_bot.storage.models import Account, Attendance, Event, Grade, LaunchWaiter, Lesson, School
from tests.support.notify import SCHOOL_DAY, Clock, job_context, kyiv, outbox
from tests.support.school_world import SchoolWorld
from tests.support.world import event, grade_change, homework

# ---------------------------------------------------------------- absences


async def _absent_day(world: SchoolWorld, student: str, lessons: list[tuple[str, int, str]]) -> None:
    for lesson_id, number, subject in lessons:
        await world.add_lesson(lesson_id, number, subject)
        await world.mark(student, lesson_id, "absent")


async def test_absences_same_day_grouped_in_one_urgent_message(db) -> None:
    world = await SchoolWorld(db).build()
    olena = await world.family(1)
    await _absent_day(world, "P1", [("L1", 1, "Математика"), ("L2", 2, "Фізика"),
                                    ("L4", 4, "Хімія")])
    ctx = job_context(db, Clock(kyiv(SCHOOL_DAY, 11)))

    assert await absence_alerts(ctx) == 1

    [row] = await outbox(db)
    assert row.account_id == olena.account_id
    assert row.priority == 0 and row.kind == "absence"
    text = row.payload["text"]
    assert "Олена" in text and "3" in text
    assert "Математика (1)" in text and "Фізика (2)" in text and "Хімія (4)" in text
    assert "Шевченко" not in text  # the child's given name only


async def test_a_later_absence_while_the_alert_waits_is_added_to_it(db) -> None:
    world = await SchoolWorld(db).build()
    await world.family(1)
    await _absent_day(world, "P1", [("L1", 1, "Математика"), ("L2", 2, "Фізика")])
    ctx = job_context(db, Clock(kyiv(SCHOOL_DAY, 10)))
    assert await absence_alerts(ctx) == 1

    await _absent_day(world, "P1", [("L5", 5, "Історія")])
    assert await absence_alerts(ctx) == 1  # the waiting row rewritten: one message

    [row] = await outbox(db)
    text = row.payload["text"]
    assert "3" in text and "Математика (1)" in text and "Історія (5)" in text


async def test_running_the_absence_job_twice_writes_nothing_new(db) -> None:
    world = await SchoolWorld(db).build()
    await world.family(1)
    await _absent_day(world, "P1", [("L1", 1, "Математика")])
    ctx = job_context(db, Clock(kyiv(SCHOOL_DAY, 10)))
    assert await absence_alerts(ctx) == 1
    assert await absence_alerts(ctx) == 0
    assert len(await outbox(db)) == 1


async def test_absent_again_after_excused_is_not_alerted_twice_for_the_same_lesson(db) -> None:
    """The import resets alerted_at; the alert lists the lesson already, so nothing is written."""
    world = await SchoolWorld(db).build()
    await world.family(1)
    await _absent_day(world, "P1", [("L1", 1, "Математика")])
    ctx = job_context(db, Clock(kyiv(SCHOOL_DAY, 10)))
    await absence_alerts(ctx)
    await world.mark("P1", "L1", "excused")
    await world.mark("P1", "L1", "absent")
    assert await absence_alerts(ctx) == 0
    assert len(await outbox(db)) == 1


async def test_excused_before_the_scan_and_late_alert_nobody(db) -> None:
    world = await SchoolWorld(db).build()
    await world.family(1)
    await world.add_lesson("L1", 1, "Математика")
    await world.add_lesson("L2", 2, "Фізика")
    await world.mark("P1", "L1", "absent")
    await world.mark("P1", "L1", "excused")   # corrected before the job ran
    await world.mark("P1", "L2", "late")      # late is not an absence
    assert await absence_alerts(job_context(db, Clock(kyiv(SCHOOL_DAY, 10)))) == 0
    assert await outbox(db) == []


async def test_absences_reach_every_consenting_active_guardian_only(db) -> None:
    world = await SchoolWorld(db).build()
    await world.family(1)
    await world.family(2, consent=False)
    await world.family(3, active=False)
    for student in ("P1", "P2", "P3"):
        await world.add_lesson(f"L-{student}", 1, "Математика")
        await world.mark(student, f"L-{student}", "absent")
    assert await absence_alerts(job_context(db, Clock(kyiv(SCHOOL_DAY, 10)))) == 1
    [row] = await outbox(db)
    assert row.account_id == world.families[0].account_id
    async with db.unit_of_work() as s:  # every mark was handled, alerted or not
        assert all(a.alerted_at is not None for a in (await s.scalars(select(Attendance))).all())


async def test_no_absence_alerts_for_a_school_that_has_not_launched(db) -> None:
    world = await SchoolWorld(db).build(launched=False)
    await world.family(1)
    await _absent_day(world, "P1", [("L1", 1, "Математика")])
    ctx = job_context(db, Clock(kyiv(SCHOOL_DAY, 10)))
    assert await absence_alerts(ctx) == 0
    assert await outbox(db) == []
    await world.change(School, "S1", launched=True)   # launched the same day: now it goes
    assert await absence_alerts(ctx) == 1


async def test_absences_older_than_the_lookback_are_not_alerted(db) -> None:
    world = await SchoolWorld(db).build()
    await world.family(1)
    await world.add_lesson("OLD", 1, "Математика", day=SCHOOL_DAY - timedelta(days=7))
    await world.mark("P1", "OLD", "absent")
    assert await absence_alerts(job_context(db, Clock(kyiv(SCHOOL_DAY, 10)))) == 0


async def test_absence_alert_is_rendered_in_the_recipients_language(db) -> None:
    world = await SchoolWorld(db).build()
    await world.family(1, language="en")
    await world.family(2)  # no language: the default, Ukrainian
    for student in ("P1", "P2"):
        await world.add_lesson(f"L-{student}", 1, "Maths")
        await world.mark(student, f"L-{student}", "absent")
    await absence_alerts(job_context(db, Clock(kyiv(SCHOOL_DAY, 10))))
    english, ukrainian = await outbox(db)
    assert "today" in english.payload["text"]
    assert "сьогодні" in ukrainian.payload["text"]


# ---------------------------------------------------------------- grades


async def test_new_grades_instant_digest_and_off(db) -> None:
    world = await SchoolWorld(db).build()
    instant = await world.family(1, notify_grades="instant")
    digest = await world.family(2, notify_grades="digest")
    await world.family(3)  # off (the default)
    clock = Clock(kyiv(SCHOOL_DAY, 12))
    for n in (1, 2, 3):
        await world.add_grade(f"G{n}a", f"P{n}", "Математика", 10, created_at=clock.now)
        await world.add_grade(f"G{n}b", f"P{n}", "Фізика", 8, created_at=clock.now)
    ctx = job_context(db, clock)

    assert await grade_notifications(ctx) == 1      # one message per pupil per scan
    [row] = await outbox(db)
    assert row.account_id == instant.account_id and row.priority == 1
    assert "Математика — 10" in row.payload["text"] and "Фізика — 8" in row.payload["text"]
    assert await grade_notifications(ctx) == 0      # notified_at set: nothing new
    async with db.unit_of_work() as s:
        assert all(g.notified_at for g in (await s.scalars(select(Grade))).all())

    assert await grade_digests(ctx) == 0            # 12:00: yesterday's digest had nothing
    clock.now = kyiv(SCHOOL_DAY, 19, 5)
    assert await grade_digests(ctx) == 1
    assert await grade_digests(ctx) == 0            # once a day
    row = (await outbox(db, kind="grade_digest"))[0]
    assert row.account_id == digest.account_id
    assert "Математика — 10" in row.payload["text"]


async def test_a_grade_after_the_digest_goes_into_the_next_days_digest(db) -> None:
    world = await SchoolWorld(db).build()
    await world.family(1, notify_grades="digest")
    clock = Clock(kyiv(SCHOOL_DAY, 19, 30))
    await world.add_grade("late", "P1", "Історія", 11, created_at=kyiv(SCHOOL_DAY, 19, 20))
    ctx = job_context(db, clock)
    assert await grade_digests(ctx) == 0   # today's window ended at 19:00
    clock.now = kyiv(SCHOOL_DAY + timedelta(days=1), 19, 1)
    assert await grade_digests(ctx) == 1
    assert "Історія — 11" in (await outbox(db))[0].payload["text"]


async def test_a_changed_grade_is_always_told_to_every_guardian(db) -> None:
    world = await SchoolWorld(db).build()
    off = await world.family(1)  # grades off: still told about a change
    clock = Clock(kyiv(SCHOOL_DAY, 12))
    await world.add_grade("G1", "P1", "Математика", 7, created_at=clock.now)
    ctx = job_context(db, clock)
    await grade_notifications(ctx)
    await world.change(Grade, "G1", value=9)
    await world.add(grade_change("G1", 7, 9, by="import", at=clock.now))
    assert await grade_notifications(ctx) == 1
    [row] = await outbox(db)
    assert row.account_id == off.account_id and row.kind == "grade_change"
    assert "7" in row.payload["text"] and "9" in row.payload["text"]
    assert "змінено з 7 на 9" in row.payload["text"]
    assert await grade_notifications(ctx) == 0


async def test_no_grade_messages_for_unlaunched_school_or_without_consent(db) -> None:
    world = await SchoolWorld(db).build(launched=False)
    await world.family(1, notify_grades="instant")
    clock = Clock(kyiv(SCHOOL_DAY, 12))
    await world.add_grade("G1", "P1", "Математика", 7, created_at=clock.now)
    ctx = job_context(db, clock)
    assert await grade_notifications(ctx) == 0
    await world.change(School, "S1", launched=True)
    await world.family(2, notify_grades="instant", consent=False)
    await world.add_grade("G2", "P2", "Математика", 7, created_at=clock.now)
    assert await grade_notifications(ctx) == 1   # P1's grade now; P2's guardian has no consent
    assert [r.account_id for r in await outbox(db)] == [world.families[0].account_id]


# ---------------------------------------------------------------- homework


async def test_homework_for_the_next_school_day_in_the_evening_to_opted_in_chats(db) -> None:
    world = await SchoolWorld(db).build()
    wants = await world.family(1, notify_homework=True)
    await world.family(2)  # homework off (the default)
    await world.add(
        homework("H1", "C7A", "Математика", SCHOOL_DAY + timedelta(days=1), "№ 245, 246"),
        homework("H2", "C7A", "Фізика", SCHOOL_DAY + timedelta(days=2), "не завтра"))
    clock = Clock(kyiv(SCHOOL_DAY, 17, 0))
    ctx = job_context(db, clock)
    assert await homework_for_tomorrow(ctx) == 0   # before 18:00
    clock.now = kyiv(SCHOOL_DAY, 18, 2)
    assert await homework_for_tomorrow(ctx) == 1
    assert await homework_for_tomorrow(ctx) == 0
    [row] = await outbox(db)
    assert row.account_id == wants.account_id
    assert "Математика: № 245, 246" in row.payload["text"] and "не завтра" not in row.payload["text"]


async def test_on_friday_homework_is_for_monday(db) -> None:
    world = await SchoolWorld(db).build()
    await world.family(1, notify_homework=True)
    friday = date(2025, 3, 14)
    await world.add(homework("H1", "C7A", "Історія", date(2025, 3, 17), "параграф 12"))
    assert await homework_for_tomorrow(job_context(db, Clock(kyiv(friday, 18, 30)))) == 1


# ---------------------------------------------------------------- events


async def test_event_announced_once_then_reminded_the_evening_before(db) -> None:
    world = await SchoolWorld(db).build()
    wants = await world.family(1)
    await world.family(2, notify_events=False)
    starts = kyiv(SCHOOL_DAY + timedelta(days=3), 12)
    await world.add(event("E1", "S1", "Ярмарок", starts),
                    event("OLD", "S1", "Минуло", kyiv(SCHOOL_DAY, 8)))
    clock = Clock(kyiv(SCHOOL_DAY, 10))
    ctx = job_context(db, clock)
    assert await event_notifications(ctx) == 1
    assert await event_notifications(ctx) == 0
    [row] = await outbox(db)
    assert row.account_id == wants.account_id and "Ярмарок" in row.payload["text"]

    clock.now = kyiv(SCHOOL_DAY + timedelta(days=2), 17, 59)
    assert await event_notifications(ctx) == 0
    clock.now = kyiv(SCHOOL_DAY + timedelta(days=2), 18, 0)
    assert await event_notifications(ctx) == 1
    assert await event_notifications(ctx) == 0
    reminder = (await outbox(db, kind="event_reminder"))[0]
    assert "завтра" in reminder.payload["text"] and "12:00" in reminder.payload["text"]


async def test_class_event_goes_to_that_class_only(db) -> None:
    world = await SchoolWorld(db).build()
    await world.add_class("C5B", "5-Б")
    seventh = await world.family(1)
    await world.family(2, class_id="C5B")
    await world.add(event("E1", "S1", "Екскурсія", kyiv(SCHOOL_DAY + timedelta(days=5), 9),
                          class_id="C7A"))
    assert await event_notifications(job_context(db, Clock(kyiv(SCHOOL_DAY, 10)))) == 1
    assert [r.account_id for r in await outbox(db)] == [seventh.account_id]


async def test_an_event_published_late_is_not_reminded_separately(db) -> None:
    world = await SchoolWorld(db).build()
    await world.family(1)
    await world.add(event("E1", "S1", "Збори", kyiv(SCHOOL_DAY + timedelta(days=1), 9)))
    ctx = job_context(db, Clock(kyiv(SCHOOL_DAY, 19)))
    assert await event_notifications(ctx) == 1
    assert await event_notifications(ctx) == 0
    async with db.unit_of_work() as s:
        assert (await s.get(Event, "E1")).reminded_at is not None


# ---------------------------------------------------------------- teachers


async def test_one_diary_reminder_per_unfilled_lesson_after_fifteen_minutes(db) -> None:
    world = await SchoolWorld(db).build()
    await world.family(1)
    teacher = await world.staff_account("T1")
    await world.add_lesson("L1", 1, "Математика", starts=time(8, 0), topic=None)   # ends 8:45
    await world.add_lesson("L2", 2, "Фізика", starts=time(9, 0))                   # topic, no marks
    await world.add_lesson("L3", 3, "Хімія", starts=time(10, 0))                   # filled
    await world.mark("P1", "L3", "present")
    await world.mark("P1", "L1", "present")
    clock = Clock(kyiv(SCHOOL_DAY, 8, 59))
    ctx = job_context(db, clock)
    assert await diary_reminders(ctx) == 0             # 14 minutes after the end
    clock.now = kyiv(SCHOOL_DAY, 9, 0)
    assert await diary_reminders(ctx) == 1             # L1: no topic
    clock.now = kyiv(SCHOOL_DAY, 11, 0)
    assert await diary_reminders(ctx) == 1             # L2: no attendance; L3 is filled
    assert await diary_reminders(ctx) == 0
    first, second = await outbox(db)
    assert first.account_id == teacher and "Математика" in first.payload["text"]
    assert "Фізика" in second.payload["text"] and "7-А" in second.payload["text"]
    async with db.unit_of_work() as s:
        assert (await s.get(Lesson, "L3")).reminded_at is None


async def test_director_summary_at_four_lists_the_gaps_by_teacher(db) -> None:
    world = await SchoolWorld(db).build()
    director = await world.staff_account("D1")
    await world.add_lesson("L1", 1, "Математика", topic=None)
    await world.add_lesson("L2", 2, "Фізика", topic=None)
    clock = Clock(kyiv(SCHOOL_DAY, 15, 59))
    ctx = job_context(db, clock)
    assert await director_summaries(ctx) == 0
    clock.now = kyiv(SCHOOL_DAY, 16, 0)
    assert await director_summaries(ctx) == 1
    assert await director_summaries(ctx) == 0
    [row] = await outbox(db)
    assert row.account_id == director
    assert "Коваль І. П." in row.payload["text"] and "2" in row.payload["text"]
    assert "Ірина" not in row.payload["text"]


# ---------------------------------------------------------------- launch


async def test_chats_that_waited_for_the_launch_are_told_once(db) -> None:
    world = await SchoolWorld(db).build(launched=False)
    waiting = await world.family(1)
    await world.add(LaunchWaiter(account_id=waiting.account_id, school_id="S1"))
    ctx = job_context(db, Clock(kyiv(SCHOOL_DAY, 10)))
    assert await launch_news(ctx) == 0
    await world.change(School, "S1", launched=True, launched_at=datetime.now().astimezone())
    assert await launch_news(ctx) == 1
    assert await launch_news(ctx) == 0
    [row] = await outbox(db)
    assert "/start" in row.payload["text"] and "Гімназія №1" in row.payload["text"]


async def test_inactive_chat_gets_no_launch_news(db) -> None:
    world = await SchoolWorld(db).build()
    gone = await world.family(1)
    await world.change(Account, gone.account_id, active=False)
    await world.add(LaunchWaiter(account_id=gone.account_id, school_id="S1"))
    assert await launch_news(job_context(db, Clock(kyiv(SCHOOL_DAY, 10)))) == 0
    async with db.unit_of_work() as s:
        assert (await s.scalars(select(LaunchWaiter))).one().notified_at is not None


async def test_a_schools_first_load_of_old_grades_is_not_news(db) -> None:
    """Regression: a term of grades imported today must not flood parents who opted in."""
    world = await SchoolWorld(db).build()
    await world.family(1, notify_grades="instant")
    clock = Clock(kyiv(SCHOOL_DAY, 12))
    await world.add_grade("OLD", "P1", "Історія", 7, day=SCHOOL_DAY - timedelta(days=40),
                      created_at=clock.now)
    await world.add_grade("NEW", "P1", "Фізика", 11, created_at=clock.now)
    assert await grade_notifications(job_context(db, clock)) == 1
    [row] = await outbox(db)
    assert "Фізика — 11" in row.payload["text"] and "Історія" not in row.payload["text"]
