"""Absence alerts: an unexcused absence reaches the pupil's guardians at once, and what
they were told stays true for the rest of the day.

Only status "absent" alerts. "late" is not an absence (the pupil came) and "excused"
is known to the parents already; a mark changed to excused before it was alerted
alerts nobody. A mark's `alerted_at` says that the alerts list it. A batch finds the
marks whose alerts are out of date - absences not alerted yet, and alerted marks that
the school has since turned present, late or excused - and brings the alerts of those
pupils' days up to date (jobs/absence_days.py, jobs/absence_alert.py: the first absence
of a day goes at once; later ones and corrections update that alert or follow it up). Then the marks
are settled: absences get `alerted_at`, corrected marks lose it (absent again, they
are alerted again). Absences older than the lookback (yesterday, by default) are
settled without a message: an alert about last week is noise, and a school's first
import of a whole term must not flood its parents.

`queue_absences` is one batch in the caller's unit of work (the ingest calls it for
the pupils it just wrote; the periodic scan, `absence_alerts`, for everyone). It first
closes the parents' explanations that the school's `excused` marks settle
(jobs/note_closure.py).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Row, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from school_bot.notifications.jobs.absence_alert import PupilDay
from school_bot.notifications.jobs.absence_days import forget_past_alerts, keep_alerts_current
from school_bot.notifications.jobs.common import JobContext, first_name
from school_bot.notifications.jobs.note_closure import close_excused_notes, explained_days
from school_bot.storage.models import Attendance, Lesson, School, SchoolClass, Student
from school_bot.storage.writes import on_postgresql

BATCH = 2000  # marks of each sort (absences, corrections) per unit of work
CORRECTED = ("present", "late", "excused")  # what an alerted absence may turn into
KEYS = 400  # marks per settling statement


async def absence_alerts(ctx: JobContext) -> int:
    """Scan and alert until nothing is left; returns the outbox rows written."""
    written = 0
    while True:
        async with ctx.database.unit_of_work() as session:
            created, scanned = await queue_absences(session, ctx)
        written += created
        if scanned < BATCH:
            break
    async with ctx.database.unit_of_work() as session:
        await forget_past_alerts(session, _oldest(ctx, ctx.now()))
    if written:
        ctx.nudge()
    return written


async def queue_absences(session: AsyncSession, ctx: JobContext, *,
                         students: Collection[str] | None = None) -> tuple[int, int]:
    """One batch of marks whose alerts are out of date (of `students` only, if given),
    handled in the caller's unit of work: (outbox rows written, marks scanned)."""
    now = ctx.now()
    wanted = sorted(set(students)) if students is not None else None
    closed = await close_excused_notes(session, ctx, students=wanted)
    absences = await _unsettled(session, ctx, now, wanted, corrections=False)
    corrections = await _unsettled(session, ctx, now, wanted, corrections=True)
    if not absences and not corrections:
        return closed, 0
    explained = await explained_days(session, {(r.student_id, r.date) for r in corrections})
    days = _live_days(ctx, now, [*absences, *corrections], explained)
    fresh = {(r.student_id, r.date) for r in absences}
    written = closed + await keep_alerts_current(session, ctx, list(days.values()), fresh, now=now)
    await _settle(session, [(r.student_id, r.lesson_id) for r in absences],
                  (Attendance.status == "absent") & Attendance.alerted_at.is_(None), now)
    await _settle(session, [(r.student_id, r.lesson_id) for r in corrections],
                  Attendance.status.in_(CORRECTED) & Attendance.alerted_at.is_not(None), None)
    return written, len(absences) + len(corrections)


def _oldest(ctx: JobContext, now: datetime) -> date:
    """Before this day no school's absences are told (a day's margin for time zones)."""
    return (now.astimezone(ctx.settings.zone).date()
            - timedelta(days=ctx.config.absence_lookback_days + 1))


async def _unsettled(session: AsyncSession, ctx: JobContext, now: datetime,
                     students: list[str] | None, *, corrections: bool) -> Sequence[Row[Any]]:
    """Absences not alerted yet (of launched schools, within the lookback), or alerted
    marks that are absences no more (whenever: each is settled, told or not).

    On PostgreSQL a mark another transaction holds is skipped: that writer (an ingest
    queueing its own alerts) or a later scan handles it."""
    if corrections:
        condition = Attendance.status.in_(CORRECTED) & Attendance.alerted_at.is_not(None)
    else:
        condition = ((Attendance.status == "absent") & Attendance.alerted_at.is_(None)
                     & School.launched.is_(True) & (Lesson.date >= _oldest(ctx, now)))
    query = (
        select(Attendance.student_id, Attendance.lesson_id, Lesson.date, Student.full_name,
               School.timezone, School.launched)
        .join(Lesson, Lesson.id == Attendance.lesson_id)
        .join(Student, Student.id == Attendance.student_id)
        .join(SchoolClass, SchoolClass.id == Student.class_id)
        .join(School, School.id == SchoolClass.school_id)
        .where(condition)
        .order_by(Attendance.student_id, Lesson.date)
        .limit(BATCH)
    )
    if students is not None:
        query = query.where(Attendance.student_id.in_(students))
    if on_postgresql(session):
        query = query.with_for_update(of=Attendance, skip_locked=True)
    return (await session.execute(query)).all()


def _live_days(ctx: JobContext, now: datetime, rows: Sequence[Row[Any]],
               explained: Collection[tuple[str, date]] = ()) -> dict[tuple[str, date], PupilDay]:
    """The pupils' days whose alerts are told about: launched schools, within the lookback."""
    days: dict[tuple[str, date], PupilDay] = {}
    lookback = timedelta(days=ctx.config.absence_lookback_days)
    for row in rows:
        today = now.astimezone(ctx.zone(row.timezone)).date()
        if row.launched and row.date >= today - lookback:
            days[(row.student_id, row.date)] = PupilDay(
                row.student_id, row.date, first_name(row.full_name), today,
                (row.student_id, row.date) in explained)
    return days


async def _settle(session: AsyncSession, keys: list[tuple[str, str]], still: Any,
                  alerted_at: datetime | None) -> None:
    """Mark these marks as listed (a time) or not (None), if they are still as found."""
    for start in range(0, len(keys), KEYS):
        await session.execute(
            update(Attendance)
            .where(tuple_(Attendance.student_id, Attendance.lesson_id).in_(keys[start:start + KEYS]),
                   still)
            .values(alerted_at=alerted_at, updated_at=Attendance.updated_at)
            .execution_options(synchronize_session=False))
