"""Grades: new ones (opt-in, at once or in an evening digest) and changed ones (always).

* A new grade (`Grade.notified_at` NULL, created within the lookback) goes to the
  chats that chose "instant": one message per pupil per scan listing the new grades.
  The scan then sets `notified_at` (also when nobody chose "instant").
* "digest" chats get one message per pupil in the evening (`digest_at`, school time)
  with the grades that arrived since the previous evening's digest (created in
  [yesterday digest_at, today digest_at)); a `job_marks` row per school and day
  makes it once. A digest missed for a whole day (the bot was down) is caught up
  for the last day only.
* A changed grade (`GradeChange.notified_at` NULL) is ALWAYS told to every linked
  guardian chat, whatever its grade setting: a grade changed after the fact must
  not go unseen.

`queue_new_grades` and `queue_grade_changes` are one batch of those scans in the
caller's unit of work, optionally scoped to some pupils: the ingest API calls them for
the pupils whose grades it wrote (notifications/realtime.py). On PostgreSQL the rows
they notify are locked (`FOR UPDATE SKIP LOCKED`): a row another transaction is
notifying is left to that one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Collection
from datetime import date, datetime, timedelta

from sqlalchemy import Row, Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from school_bot.notifications import texts
from school_bot.notifications.jobs.common import (
    JobContext,
    at_local,
    claim_mark,
    digest_of,
    first_name,
    for_launched_schools,
)
from school_bot.notifications.outbox import Notification, Priority, enqueue_many
from school_bot.notifications.recipients import guardian_accounts
from school_bot.storage.models import Grade, GradeChange, School, SchoolClass, Student

BATCH = 2000
# id, pupil id, subject, value, date, pupil's name, school id, school's time zone
GradeRow = tuple[str, str, str, int, date, str, str, str]
_Batch = Callable[[AsyncSession, JobContext], Awaitable[tuple[int, int]]]


async def grade_notifications(ctx: JobContext) -> int:
    written = await _new_grades(ctx) + await _changed_grades(ctx)
    if written:
        ctx.nudge()
    return written


def _grade_query() -> Select[GradeRow]:
    return (select(Grade.id, Grade.student_id, Grade.subject, Grade.value, Grade.date,
                   Student.full_name, School.id.label("school_id"), School.timezone)
            .join(Student, Student.id == Grade.student_id)
            .join(SchoolClass, SchoolClass.id == Student.class_id)
            .join(School, School.id == SchoolClass.school_id)
            .where(School.launched.is_(True)))


async def _new_grades(ctx: JobContext) -> int:
    return await _until_done(ctx, queue_new_grades)


async def _changed_grades(ctx: JobContext) -> int:
    return await _until_done(ctx, queue_grade_changes)


async def _until_done(ctx: JobContext, batch: _Batch) -> int:
    """Run `batch` in units of work of its own until it finds less than BATCH rows."""
    written = 0
    while True:
        async with ctx.database.unit_of_work() as session:
            created, scanned = await batch(session, ctx)
        written += created
        if scanned < BATCH:
            return written


async def queue_new_grades(session: AsyncSession, ctx: JobContext, *,
                           students: Collection[str] | None = None) -> tuple[int, int]:
    """One batch of new grades in the caller's unit of work (with `students`, only
    theirs): the "instant" messages written and the grades marked notified, together.
    Returns (outbox rows written, grades scanned)."""
    now = ctx.now()
    query = (_grade_query()
             .where(Grade.notified_at.is_(None),
                    Grade.created_at >= now - timedelta(hours=ctx.config.grade_lookback_hours),
                    # a school's first load brings a term of old grades: not news
                    Grade.date >= (now - timedelta(hours=ctx.config.grade_lookback_hours)).date())
             .order_by(Grade.student_id, Grade.date, Grade.id).limit(BATCH)
             .with_for_update(of=Grade, skip_locked=True))
    if students is not None:
        query = query.where(Grade.student_id.in_(sorted(students)))
    rows = (await session.execute(query)).all()
    if not rows:
        return 0, 0
    by_pupil: dict[str, list[Row[GradeRow]]] = defaultdict(list)
    for row in rows:
        by_pupil[row.student_id].append(row)
    recipients = await guardian_accounts(session, by_pupil)
    items = []
    for student_id, grades in by_pupil.items():
        key = digest_of(g.id for g in grades)
        for person in recipients.get(student_id, []):
            if person.notify_grades != "instant":
                continue
            reply = texts.new_grades(ctx.locale(person.language),
                                     pupil=first_name(grades[0].full_name),
                                     grades=[(g.subject, g.value, g.date) for g in grades])
            items.append(Notification(person.account_id, "grades", Priority.NORMAL,
                                      f"grades:{student_id}:{key}:{person.account_id}", reply))
    written = await enqueue_many(session, items, now=now)
    await session.execute(update(Grade).where(Grade.id.in_([r.id for r in rows]))
                          .values(notified_at=now).execution_options(synchronize_session=False))
    return written, len(rows)


async def queue_grade_changes(session: AsyncSession, ctx: JobContext, *,
                              students: Collection[str] | None = None) -> tuple[int, int]:
    """One batch of grade changes in the caller's unit of work (with `students`, only
    theirs): told to every guardian chat, the changes marked notified, together.
    Returns (outbox rows written, changes scanned)."""
    now = ctx.now()
    query = (_grade_query()
             .add_columns(GradeChange.id.label("change_id"), GradeChange.old_value,
                          GradeChange.new_value)
             .join(GradeChange, GradeChange.grade_id == Grade.id)
             .where(GradeChange.notified_at.is_(None),
                    GradeChange.changed_at >= now - timedelta(hours=ctx.config.grade_lookback_hours))
             .order_by(GradeChange.id).limit(BATCH)
             .with_for_update(of=GradeChange, skip_locked=True))
    if students is not None:
        query = query.where(Grade.student_id.in_(sorted(students)))
    rows = (await session.execute(query)).all()
    if not rows:
        return 0, 0
    recipients = await guardian_accounts(session, {r.student_id for r in rows})
    items = []
    for change in rows:
        for person in recipients.get(change.student_id, []):
            reply = texts.grade_changed(
                ctx.locale(person.language), pupil=first_name(change.full_name),
                subject=change.subject, day=change.date,
                old=change.old_value, new=change.new_value)
            items.append(Notification(person.account_id, "grade_change", Priority.NORMAL,
                                      f"grade-change:{change.change_id}:{person.account_id}",
                                      reply))
    written = await enqueue_many(session, items, now=now)
    await session.execute(
        update(GradeChange).where(GradeChange.id.in_([r.change_id for r in rows]))
        .values(notified_at=now).execution_options(synchronize_session=False))
    return written, len(rows)


async def grade_digests(ctx: JobContext) -> int:
    """The evening digest, once per launched school and day (after `digest_at`)."""

    async def school(school_id: str, local: datetime) -> int:
        at = ctx.config.digest_at
        day = local.date() if local.time() >= at else local.date() - timedelta(days=1)
        zone = local.tzinfo
        assert zone is not None  # the school's local time
        return await _school_digest(ctx, school_id, day, at_local(day, at, zone))

    return await for_launched_schools(ctx, school)


async def _school_digest(ctx: JobContext, school_id: str, day: date, cut: datetime) -> int:
    now = ctx.now()
    async with ctx.database.unit_of_work() as session:
        if not await claim_mark(session, "grade_digest", school_id, day):
            return 0
        rows = (await session.execute(
            _grade_query()
            .where(School.id == school_id, Grade.created_at >= cut - timedelta(days=1),
                   Grade.created_at < cut)
            .order_by(Grade.student_id, Grade.date, Grade.id)
        )).all()
        by_pupil: dict[str, list[Row[GradeRow]]] = defaultdict(list)
        for row in rows:
            by_pupil[row.student_id].append(row)
        recipients = await guardian_accounts(session, by_pupil)
        items = []
        for student_id, grades in by_pupil.items():
            for person in recipients.get(student_id, []):
                if person.notify_grades != "digest":
                    continue
                reply = texts.grade_digest(ctx.locale(person.language),
                                           pupil=first_name(grades[0].full_name), day=day,
                                           grades=[(g.subject, g.value, g.date) for g in grades])
                items.append(Notification(
                    person.account_id, "grade_digest", Priority.NORMAL,
                    f"grade-digest:{student_id}:{day.isoformat()}:{person.account_id}", reply))
        return await enqueue_many(session, items, now=now)
