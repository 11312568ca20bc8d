"""Homework for the next school day, in the evening (`homework_at`, school time).

For chats that turned homework on: one message per pupil with the homework due the
next school day (tomorrow; on Friday and Saturday, Monday). Once per school and day
(`job_marks`); a pupil with no homework gets nothing. Homework the ingest API writes
after that hour, before the school's evening run, makes the run at once
(notifications/realtime.py calls `queue_evening_homework` in the write's unit of work).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from school_bot.notifications import texts
from school_bot.notifications.jobs.common import (
    JobContext,
    claim_mark,
    first_name,
    for_launched_schools,
    next_school_day,
)
from school_bot.notifications.outbox import Notification, Priority, enqueue_many
from school_bot.notifications.recipients import guardian_accounts
from school_bot.storage.models import Homework, SchoolClass, Student


async def homework_for_tomorrow(ctx: JobContext) -> int:
    async def school(school_id: str, local: datetime) -> int:
        async with ctx.database.unit_of_work() as session:
            return await queue_evening_homework(session, ctx, school_id, local)

    return await for_launched_schools(ctx, school)


async def queue_evening_homework(session: AsyncSession, ctx: JobContext, school_id: str,
                                 local: datetime) -> int:
    """The school's homework messages of this evening, in the caller's unit of work:
    nothing before `homework_at` (`local` is the school's time) or when they were
    written already today. Returns the outbox rows written."""
    if local.time() < ctx.config.homework_at:
        return 0
    today = local.date()
    due = next_school_day(today)
    now = ctx.now()
    if not await claim_mark(session, "homework", school_id, today):
        return 0
    tasks = (await session.execute(
        select(Homework.class_id, Homework.subject, Homework.text)
        .join(SchoolClass, SchoolClass.id == Homework.class_id)
        .where(SchoolClass.school_id == school_id, Homework.due_date == due)
        .order_by(Homework.class_id, Homework.subject, Homework.id)
    )).all()
    by_class: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for task in tasks:
        by_class[task.class_id].append((task.subject, task.text))
    if not by_class:
        return 0
    pupils = (await session.execute(
        select(Student.id, Student.class_id, Student.full_name)
        .where(Student.class_id.in_(sorted(by_class))).order_by(Student.id)
    )).all()
    recipients = await guardian_accounts(session, (p.id for p in pupils))
    items = []
    for pupil in pupils:
        for person in recipients.get(pupil.id, []):
            if not person.notify_homework:
                continue
            reply = texts.homework(ctx.locale(person.language), pupil=first_name(pupil.full_name),
                                   due=due, today=today, items=by_class[pupil.class_id])
            items.append(Notification(
                person.account_id, "homework", Priority.NORMAL,
                f"homework:{pupil.id}:{due.isoformat()}:{person.account_id}", reply))
    return await enqueue_many(session, items, now=now)
