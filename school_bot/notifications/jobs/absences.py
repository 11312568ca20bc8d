"""Absence alerts: an unexcused absence reaches the pupil's guardians within a minute.

Only status "absent" alerts. "late" is not an absence (the pupil came) and "excused"
is known to the parents already; a mark changed to excused before the scan alerts
nobody. The lessons a pupil missed on one day that this scan finds make ONE message;
an absence added later that day makes one more message naming only the new lessons
(its dedupe key carries the set of lessons). Absences older than the lookback
(yesterday, by default) are not alerted: an alert about last week is noise, and a
school's first import of a whole term must not flood its parents.

`queue_absences` is one batch of that scan in the caller's unit of work, optionally
scoped to some pupils: the ingest API calls it for the pupils whose marks it wrote
(notifications/realtime.py), and `absence_alerts` (the periodic scan, the safety net)
loops over it. On PostgreSQL the marks it alerts are locked (`FOR UPDATE SKIP LOCKED`):
a mark another transaction is alerting is left to that one, so a mark is alerted once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Row, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from school_bot.notifications import texts
from school_bot.notifications.jobs.common import JobContext, digest_of, first_name
from school_bot.notifications.outbox import Notification, Priority, enqueue_many
from school_bot.notifications.recipients import guardian_accounts
from school_bot.storage.models import Attendance, Lesson, School, SchoolClass, Student

BATCH = 2000  # absence marks per unit of work


async def absence_alerts(ctx: JobContext) -> int:
    """Scan and alert until nothing is left; returns the outbox rows written."""
    written = 0
    while True:
        async with ctx.database.unit_of_work() as session:
            created, scanned = await queue_absences(session, ctx)
        written += created
        if scanned < BATCH:
            break
    if written:
        ctx.nudge()
    return written


async def queue_absences(session: AsyncSession, ctx: JobContext, *,
                         students: Collection[str] | None = None) -> tuple[int, int]:
    """One batch of the scan in the caller's unit of work (not committed): the alerts
    written to the outbox and the marks marked alerted, together; with `students`, only
    their marks. Returns (outbox rows written, marks scanned); fewer than BATCH scanned
    means nothing is left."""
    now = ctx.now()
    oldest = (now.astimezone(ctx.settings.zone).date()
              - timedelta(days=ctx.config.absence_lookback_days + 1))
    query = (
        select(Attendance.student_id, Attendance.lesson_id, Lesson.date, Lesson.number,
               Lesson.subject, Lesson.starts_at, Student.full_name, School.timezone)
        .join(Lesson, Lesson.id == Attendance.lesson_id)
        .join(Student, Student.id == Attendance.student_id)
        .join(SchoolClass, SchoolClass.id == Student.class_id)
        .join(School, School.id == SchoolClass.school_id)
        .where(Attendance.status == "absent", Attendance.alerted_at.is_(None),
               School.launched.is_(True), Lesson.date >= oldest)
        .order_by(Attendance.student_id, Lesson.date, Lesson.starts_at)
        .limit(BATCH)
        .with_for_update(of=Attendance, skip_locked=True))
    if students is not None:
        query = query.where(Attendance.student_id.in_(sorted(students)))
    rows = (await session.execute(query)).all()
    if not rows:
        return 0, 0
    scanned = len(rows)
    if scanned == BATCH:  # the last pupil-day may go on in the next batch: keep it whole
        last = (rows[-1].student_id, rows[-1].date)
        kept = [r for r in rows if (r.student_id, r.date) != last]
        rows = kept or rows
    days: dict[tuple[str, date], list[Row[Any]]] = defaultdict(list)
    for row in rows:
        days[(row.student_id, row.date)].append(row)
    recipients = await guardian_accounts(session, {r.student_id for r in rows})
    items: list[Notification] = []
    for (student_id, day), lessons in days.items():
        zone = ctx.zone(lessons[0].timezone)
        if day < now.astimezone(zone).date() - timedelta(days=ctx.config.absence_lookback_days):
            continue
        key = digest_of(r.lesson_id for r in lessons)
        for person in recipients.get(student_id, []):
            reply = texts.absence(
                ctx.locale(person.language), pupil=first_name(lessons[0].full_name),
                day=day, today=now.astimezone(zone).date(),
                lessons=[(r.subject, r.number) for r in lessons])
            items.append(Notification(
                person.account_id, "absence", Priority.URGENT,
                f"absence:{student_id}:{day.isoformat()}:{key}:{person.account_id}", reply))
    created = await enqueue_many(session, items, now=now)
    keys = [(r.student_id, r.lesson_id) for r in rows]
    for start in range(0, len(keys), 400):
        await session.execute(
            update(Attendance)
            .where(tuple_(Attendance.student_id, Attendance.lesson_id).in_(keys[start:start + 400]),
                   Attendance.status == "absent", Attendance.alerted_at.is_(None))
            .values(alerted_at=now, updated_at=Attendance.updated_at)
            .execution_options(synchronize_session=False))
    return created, scanned
