"""Read-only queries over the diary for one pupil or class: one query per answer.

Repository functions: they take the session, never commit, and return plain rows. The
statements are `storage.fast.Query`s: compiled once, run on the driver in one call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from school_bot.storage.fast import Query, fixed_in, rows
from school_bot.storage.models import Attendance, Event, Grade, GradeChange, Homework, Lesson, Student

ABSENT = ("absent", "late", "excused")


@dataclass
class GradeRow:
    id: str
    day: date
    subject: str
    value: int
    kind: str | None
    comment: str | None
    changes: list[tuple[int, int, datetime]] = field(default_factory=list)


def _grades_query(*, span: bool = False, subject: bool = False, limit: bool = False) -> Query:
    """A pupil's grades (optionally in a span, of a subject, the newest few), with changes.
    The grades are chosen (and limited) first, from the index on (student, date), then
    their changes joined: one scan of the pupil's grades, no second lookup by id."""
    chosen = select(Grade.id, Grade.date, Grade.subject, Grade.value, Grade.kind,
                    Grade.comment).where(Grade.student_id == bindparam("student_id"))
    if span:
        chosen = chosen.where(Grade.date.between(bindparam("first"), bindparam("last")))
    if subject:
        chosen = chosen.where(Grade.subject == bindparam("subject"))
    chosen = chosen.order_by(Grade.date.desc(), Grade.id.desc())
    if limit:
        chosen = chosen.limit(bindparam("limit"))
    picked = chosen.subquery()
    return Query(
        select(picked.c.id, picked.c.date, picked.c.subject, picked.c.value, picked.c.kind,
               picked.c.comment, GradeChange.old_value, GradeChange.new_value,
               GradeChange.changed_at)
        .select_from(picked)
        .outerjoin(GradeChange, GradeChange.grade_id == picked.c.id)
        .order_by(picked.c.date.desc(), picked.c.id.desc(), GradeChange.changed_at),
        "GradeChangeRow")


GRADES_ALL = _grades_query()
GRADES_RECENT = _grades_query(limit=True)
GRADES_IN_SPAN = _grades_query(span=True)
GRADES_OF_SUBJECT = _grades_query(span=True, subject=True)
# counts values, not ids: the index on (student, date, value) answers it alone
CLASS_AVERAGES = Query(
    select(Grade.student_id, func.avg(Grade.value), func.count(Grade.value))
    .join(Student, Student.id == Grade.student_id)
    .where(Student.class_id == bindparam("class_id"),
           Grade.date.between(bindparam("first"), bindparam("last")))
    .group_by(Grade.student_id))
HOMEWORK = Query(
    select(*Homework.__table__.c)
    .where(Homework.class_id == bindparam("class_id"),
           Homework.due_date.between(bindparam("first"), bindparam("last")))
    .order_by(Homework.due_date, Homework.subject, Homework.id), "HomeworkRow")
LESSONS = Query(
    select(*Lesson.__table__.c)
    .where(Lesson.class_id == bindparam("class_id"),
           Lesson.date.between(bindparam("first"), bindparam("last")))
    .order_by(Lesson.date, Lesson.starts_at, Lesson.number, Lesson.id), "LessonRow")
ABSENCES = Query(
    select(*Lesson.__table__.c, Attendance.status)
    .join(Attendance, Attendance.lesson_id == Lesson.id)
    .where(Attendance.student_id == bindparam("student_id"), fixed_in(Attendance.status, ABSENT),
           Lesson.date.between(bindparam("first"), bindparam("last")))
    .order_by(Lesson.date, Lesson.starts_at, Lesson.id), "AbsenceRow")
# the events a class sees: the school's own and the class's
_CLASS_SEES = and_(Event.school_id == bindparam("school_id"),
                   (Event.class_id.is_(None)) | (Event.class_id == bindparam("class_id")))
EVENTS = Query(
    select(*Event.__table__.c)
    .where(_CLASS_SEES, Event.starts_at >= bindparam("since"))
    .order_by(Event.starts_at, Event.id).limit(bindparam("limit")), "EventRow")
EVENTS_BETWEEN = Query(
    select(*Event.__table__.c)
    .where(_CLASS_SEES, Event.starts_at.between(bindparam("since"), bindparam("until")))
    .order_by(Event.starts_at, Event.id), "EventRow")
SUBJECTS = Query(
    select(Grade.subject).where(Grade.student_id == bindparam("student_id"),
                                Grade.date.between(bindparam("first"), bindparam("last")))
    .distinct().order_by(Grade.subject))


async def grades(session: AsyncSession, student_id: str, *, first: date | None = None,
                 last: date | None = None, subject: str | None = None,
                 limit: int | None = None) -> list[GradeRow]:
    """A pupil's grades, newest first, each with its changes (one query, outer join)."""
    if subject is not None and (first is None or last is None):
        raise ValueError("grades of a subject are read over a span (first, last)")
    if first is not None and last is not None:
        query = GRADES_IN_SPAN if subject is None else GRADES_OF_SUBJECT
        found_rows = await rows(session, query, student_id=student_id, first=first, last=last,
                                subject=subject)
    elif limit is not None:
        found_rows = await rows(session, GRADES_RECENT, student_id=student_id, limit=limit)
    else:
        found_rows = await rows(session, GRADES_ALL, student_id=student_id)
    found: dict[str, GradeRow] = {}
    for grade_id, day, subject_, value, kind, comment, old, new, at in found_rows:
        row = found.get(grade_id)
        if row is None:
            row = found[grade_id] = GradeRow(grade_id, day, subject_, value, kind, comment)
        if old is not None:
            row.changes.append((old, new, at))
    return list(found.values())


async def class_averages(session: AsyncSession, class_id: str, first: date,
                         last: date) -> dict[str, tuple[float, int]]:
    """Each pupil of the class: (average, number of grades) over the period."""
    found = await rows(session, CLASS_AVERAGES, class_id=class_id, first=first, last=last)
    return {student: (float(average), int(count)) for student, average, count in found}


async def homework(session: AsyncSession, class_id: str, first: date, last: date) -> list[Any]:
    """The class's homework due in the period (rows with Homework's fields)."""
    return await rows(session, HOMEWORK, class_id=class_id, first=first, last=last)


async def lessons(session: AsyncSession, class_id: str, first: date, last: date) -> list[Any]:
    """The class's lessons in the period (rows with Lesson's fields)."""
    return await rows(session, LESSONS, class_id=class_id, first=first, last=last)


async def absences(session: AsyncSession, student_id: str, first: date,
                   last: date) -> list[tuple[Any, str]]:
    """(lesson, status) of every lesson the pupil missed, was late to or was excused from."""
    found = await rows(session, ABSENCES, student_id=student_id, first=first, last=last)
    return [(row, row.status) for row in found]


async def upcoming_events(session: AsyncSession, school_id: str, class_id: str, since: datetime,
                          limit: int = 10) -> list[Any]:
    """The school's events and the class's own, from `since` on (rows with Event's fields)."""
    return await rows(session, EVENTS, school_id=school_id, class_id=class_id, since=since,
                      limit=limit)


async def events_between(session: AsyncSession, school_id: str, class_id: str, since: datetime,
                         until: datetime) -> list[Any]:
    """The school's events and the class's own that start between `since` and `until`."""
    return await rows(session, EVENTS_BETWEEN, school_id=school_id, class_id=class_id,
                      since=since, until=until)


async def subjects(session: AsyncSession, student_id: str, first: date, last: date) -> list[str]:
    """The subjects the pupil has grades in over the period, alphabetically."""
    found = await rows(session, SUBJECTS, student_id=student_id, first=first, last=last)
    return [subject for (subject,) in found]
