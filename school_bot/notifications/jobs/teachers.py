"""The diary: teachers are reminded of what they did not fill in; directors get a summary.

* A lesson that ended more than `lesson_grace_minutes` ago (today, school time) with
  no attendance marks or no topic: ONE reminder per lesson to the teacher's linked
  chats (`Lesson.reminded_at`, set even when the teacher has no chat).
* At `director_summary_at` (school time), once per school and day (`job_marks`): to
  the school's directors, the lessons of the day still missing attendance or topic,
  by teacher. A day with nothing missing sends nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import exists, select, update

from school_bot.notifications import texts
from school_bot.notifications.jobs.common import (
    JobContext, at_local, claim_mark, for_launched_schools, short_name,
)
from school_bot.notifications.outbox import Notification, Priority, enqueue_many
from school_bot.notifications.recipients import staff_accounts
from school_bot.storage.models import Attendance, Lesson, School, SchoolClass, Staff


def _lessons_missing():  # type: ignore[no-untyped-def]
    marked = exists().where(Attendance.lesson_id == Lesson.id)
    return (select(Lesson.id, Lesson.teacher_id, Lesson.subject, Lesson.date, Lesson.number,
                   Lesson.starts_at, Lesson.ends_at, Lesson.topic,
                   marked.label("has_attendance"), SchoolClass.name.label("class_name"),
                   School.id.label("school_id"), School.timezone)
            .join(SchoolClass, SchoolClass.id == Lesson.class_id)
            .join(School, School.id == SchoolClass.school_id)
            .where(School.launched.is_(True),
                   (~marked) | Lesson.topic.is_(None) | (Lesson.topic == "")))


def _missing(row) -> list[str]:  # type: ignore[no-untyped-def]
    gaps = []
    if not row.has_attendance:
        gaps.append("attendance")
    if not (row.topic or "").strip():
        gaps.append("topic")
    return gaps


def _ended(ctx: JobContext, row, now: datetime, grace: timedelta) -> bool:  # type: ignore[no-untyped-def]
    zone = ctx.zone(row.timezone)
    return (row.date == now.astimezone(zone).date()
            and at_local(row.date, row.ends_at, zone) + grace <= now)


async def diary_reminders(ctx: JobContext) -> int:
    now = ctx.now()
    grace = timedelta(minutes=ctx.config.lesson_grace_minutes)
    city_today = now.astimezone(ctx.settings.zone).date()
    async with ctx.database.unit_of_work() as session:
        rows = (await session.execute(
            _lessons_missing().where(Lesson.reminded_at.is_(None),
                                     Lesson.date.between(city_today - timedelta(days=1),
                                                         city_today + timedelta(days=1)))
            .order_by(Lesson.date, Lesson.starts_at))).all()
        due = [r for r in rows if _ended(ctx, r, now, grace)]
        if not due:
            return 0
        teachers = await staff_accounts(session, {r.teacher_id for r in due})
        items = []
        for lesson in due:
            for person in teachers.get(lesson.teacher_id, []):
                reply = texts.diary_reminder(
                    ctx.locale(person.language), class_name=lesson.class_name,
                    subject=lesson.subject, number=lesson.number, starts=lesson.starts_at,
                    ends=lesson.ends_at, missing=_missing(lesson))
                items.append(Notification(person.account_id, "diary_reminder", Priority.NORMAL,
                                          f"diary:{lesson.id}:{person.account_id}", reply))
        written = await enqueue_many(session, items, now=now)
        await session.execute(update(Lesson).where(Lesson.id.in_([r.id for r in due]))
                              .values(reminded_at=now).execution_options(synchronize_session=False))
    if written:
        ctx.nudge()
    return written


@dataclass
class TeacherGaps:
    name: str
    lessons: int = 0
    no_attendance: int = 0
    no_topic: int = 0
    subjects: list[str] = field(default_factory=list)


async def director_summaries(ctx: JobContext) -> int:
    now = ctx.now()

    async def school(school_id: str, local: datetime) -> int:
        if local.time() < ctx.config.director_summary_at:
            return 0
        return await _school_summary(ctx, school_id, local.date(), now)

    return await for_launched_schools(ctx, school)


async def _school_summary(ctx: JobContext, school_id: str, day: date, now: datetime) -> int:
    async with ctx.database.unit_of_work() as session:
        if not await claim_mark(session, "director_summary", school_id, day):
            return 0
        rows = (await session.execute(
            _lessons_missing().where(School.id == school_id, Lesson.date == day)
            .order_by(Lesson.teacher_id, Lesson.starts_at))).all()
        rows = [r for r in rows if _ended(ctx, r, now, timedelta(0))]
        if not rows:
            return 0
        names = dict((await session.execute(
            select(Staff.id, Staff.full_name).where(Staff.id.in_({r.teacher_id for r in rows}))
        )).all())
        gaps: dict[str, TeacherGaps] = {}
        for row in rows:
            entry = gaps.setdefault(row.teacher_id, TeacherGaps(short_name(names.get(row.teacher_id))))
            missing = _missing(row)
            entry.lessons += 1
            entry.no_attendance += "attendance" in missing
            entry.no_topic += "topic" in missing
        directors = (await session.scalars(
            select(Staff.id).where(Staff.school_id == school_id, Staff.role == "director"))).all()
        by_director = await staff_accounts(session, directors)
        summary = sorted(gaps.values(), key=lambda g: (-g.lessons, g.name))
        items = []
        seen: set[int] = set()
        for people in by_director.values():
            for person in people:
                if person.account_id in seen:
                    continue
                seen.add(person.account_id)
                reply = texts.director_summary(ctx.locale(person.language), day=day,
                                               lessons=len(rows), teachers=summary)
                items.append(Notification(
                    person.account_id, "director_summary", Priority.NORMAL,
                    f"director-summary:{school_id}:{day.isoformat()}:{person.account_id}", reply))
        return await enqueue_many(session, items, now=now)
