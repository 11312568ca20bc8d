"""One evening reminder of an absence still unexplained the next school day.

At `absence_note_reminder_at` (school time; NOTIFY_ABSENCE_NOTE_REMINDER_AT, 18:00 by
default) each chat that was alerted of a pupil's absence on the previous school day
gets one message with the "Explain" button of that alert, when

* the pupil still has an `absent` mark that day,
* no note of any status covers the day (a declined one too: the parent was answered),
* the chat still speaks for a consenting guardian of the pupil and has not turned the
  reminders off (settings: "Reminders to explain absences").

The reminder goes on the evening of the class's next school day after the absence
(storage/school_days.py: a day with lessons on record, a weekday beyond the last one
posted; so Monday after a Friday, the first day after a holiday the timetable shows).

The alert row is the guard: `reminded_at` is set in the transaction that writes the
reminder (or that decides there is none to send), and only alerts with none are
looked at (locked, `SKIP LOCKED`, on PostgreSQL), so a re-run, a restart or a second
worker never sends a second one. Reminders are ordinary notifications: quiet hours hold
them.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from school_bot.notifications import texts
from school_bot.notifications.jobs.common import (
    JobContext,
    first_name,
    for_launched_schools,
)
from school_bot.notifications.outbox import Notification, Priority, enqueue_many
from school_bot.notifications.recipients import guardian_accounts
from school_bot.storage.models import (
    AbsenceAlert,
    AbsenceNote,
    Account,
    Attendance,
    Lesson,
    SchoolClass,
    Student,
)
from school_bot.storage.school_days import LOOKAHEAD, lesson_days, school_days_from
from school_bot.storage.writes import on_postgresql

KIND = "absence_note_reminder"
# alerts of days this far back are still looked at (a long holiday between an absence
# and the next school day); the absence scan keeps unreminded alerts this long
LOOKBACK_DAYS = 14


async def absence_note_reminders(ctx: JobContext) -> int:
    async def school(school_id: str, local: datetime) -> int:
        if local.time() < ctx.config.absence_note_reminder_at:
            return 0
        async with ctx.database.unit_of_work() as session:
            return await queue_note_reminders(session, ctx, school_id, local.date())

    return await for_launched_schools(ctx, school)


async def queue_note_reminders(session: AsyncSession, ctx: JobContext, school_id: str,
                               today: date) -> int:
    """This evening's reminders of the school, in the caller's unit of work; every alert
    decided on gets `reminded_at`. Returns the outbox rows written."""
    query = (select(AbsenceAlert, Student.class_id, Student.full_name,
                    Account.absence_note_reminders)
             .join(Student, Student.id == AbsenceAlert.student_id)
             .join(SchoolClass, SchoolClass.id == Student.class_id)
             .join(Account, Account.id == AbsenceAlert.account_id)
             .where(SchoolClass.school_id == school_id, AbsenceAlert.reminded_at.is_(None),
                    AbsenceAlert.day < today,
                    AbsenceAlert.day >= today - timedelta(days=LOOKBACK_DAYS))
             .order_by(AbsenceAlert.id)
             .execution_options(populate_existing=True))
    if on_postgresql(session):
        query = query.with_for_update(of=AbsenceAlert, skip_locked=True)
    found = (await session.execute(query)).all()
    if not found:
        return 0
    next_days = await _next_school_days(session, {(r.class_id, r.AbsenceAlert.day) for r in found},
                                        today)
    due = [r for r in found if next_days[(r.class_id, r.AbsenceAlert.day)] <= today]
    if not due:
        return 0
    pairs = {(r.AbsenceAlert.student_id, r.AbsenceAlert.day) for r in due}
    absent = await _still_absent(session, pairs)
    covered = await _covered(session, pairs)
    recipients = await guardian_accounts(session, {s for s, _ in pairs})
    now = ctx.now()
    items: list[Notification] = []
    for row in due:
        alert: AbsenceAlert = row.AbsenceAlert
        alert.reminded_at = now  # sent or decided against: never looked at again
        pair = (alert.student_id, alert.day)
        chat = next((p for p in recipients.get(alert.student_id, [])
                     if p.account_id == alert.account_id), None)
        if (next_days[(row.class_id, alert.day)] < today or pair not in absent or pair in covered
                or chat is None or not row.absence_note_reminders):
            continue
        reply = texts.note_reminder(ctx.locale(chat.language), pupil=first_name(row.full_name),
                                    day=alert.day, today=today, alert_id=alert.id)
        items.append(Notification(alert.account_id, KIND, Priority.NORMAL,
                                  f"note-reminder:{alert.id}", reply))
    await session.flush()
    return await enqueue_many(session, items, now=now)


async def _next_school_days(session: AsyncSession, wanted: set[tuple[str, date]],
                            today: date) -> dict[tuple[str, date], date]:
    """For each (class, day): the class's next school day after it (storage/school_days.py);
    a day beyond today when none is found up to it (no reminder yet)."""
    first = min(d for _, d in wanted) + timedelta(days=1)
    known = await lesson_days(session, {c for c, _ in wanted}, first,
                              max(d for _, d in wanted) + timedelta(days=LOOKAHEAD + 1))
    return {(c, d): next(iter(school_days_from(known[c], d + timedelta(days=1), 1)),
                         today + timedelta(days=1))
            for c, d in wanted}


async def _still_absent(session: AsyncSession, pairs: set[tuple[str, date]]) -> set[tuple[str, date]]:
    students = sorted({s for s, _ in pairs})
    days = sorted({d for _, d in pairs})
    rows = await session.execute(
        select(Attendance.student_id, Lesson.date).distinct()
        .join(Lesson, Lesson.id == Attendance.lesson_id)
        .where(Attendance.student_id.in_(students), Lesson.date.in_(days),
               Attendance.status == "absent"))
    return {(s, d) for s, d in rows} & pairs


async def _covered(session: AsyncSession, pairs: set[tuple[str, date]]) -> set[tuple[str, date]]:
    """The pairs a note of any status covers."""
    students = sorted({s for s, _ in pairs})
    first, last = min(d for _, d in pairs), max(d for _, d in pairs)
    notes = (await session.execute(
        select(AbsenceNote.student_id, AbsenceNote.first_day, AbsenceNote.last_day)
        .where(AbsenceNote.student_id.in_(students),
               and_(AbsenceNote.first_day <= last, AbsenceNote.last_day >= first)))).all()
    return {(s, d) for s, d in pairs
            if any(n.student_id == s and n.first_day <= d <= n.last_day for n in notes)}
