"""Which days are a class's school days: the one rule the absence flows share.

A school day is a day the class has lessons on record, as far as the school system has
posted its lessons; after the last day it posted (or with none on record), Monday to
Friday. So a holiday the timetable shows is skipped, and a day not yet planned is
taken to be a school day on a weekday. The parents' explanations count a note's days
by it (handlers/absence_explain.py); the evening reminder finds "the next school day"
after an absence by it (notifications/jobs/note_reminders.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from school_bot.storage.models import Lesson

LOOKAHEAD = 60  # calendar days searched for school days


def school_days_from(lesson_days: Collection[date], start: date, count: int) -> list[date]:
    """The first `count` school days from `start` (itself included if one), within
    LOOKAHEAD days; `lesson_days` are the class's days with lessons on record."""
    horizon = start + timedelta(days=LOOKAHEAD)
    known = {day for day in lesson_days if start <= day <= horizon}
    last_known = max(known) if known else start - timedelta(days=1)
    days: list[date] = []
    day = start
    while len(days) < count and day <= horizon:
        if (day in known) if day <= last_known else day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


async def lesson_days(session: AsyncSession, class_ids: Iterable[str], first: date,
                      last: date) -> dict[str, set[date]]:
    """Each class's days with lessons on record in `first`..`last`."""
    found: dict[str, set[date]] = defaultdict(set)
    rows = await session.execute(
        select(Lesson.class_id, Lesson.date).distinct()
        .where(Lesson.class_id.in_(sorted(set(class_ids))), Lesson.date >= first,
               Lesson.date <= last))
    for class_id, day in rows:
        found[class_id].add(day)
    return found


async def school_days(session: AsyncSession, class_id: str, start: date, count: int) -> list[date]:
    """The class's first `count` school days from `start`."""
    known = await lesson_days(session, [class_id], start, start + timedelta(days=LOOKAHEAD))
    return school_days_from(known[class_id], start, count)
