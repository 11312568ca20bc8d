"""Read-only queries over the diary for one pupil or class: one query per answer.

Repository functions: they take the session, never commit, and return plain rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Attendance, Event, Grade, GradeChange, Homework, Lesson, Student

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


async def grades(session: AsyncSession, student_id: str, *, first: date | None = None,
                 last: date | None = None, subject: str | None = None,
                 limit: int | None = None) -> list[GradeRow]:
    """A pupil's grades, newest first, each with its changes (one query, outer join)."""
    chosen = select(Grade.id).where(Grade.student_id == student_id)
    if first is not None and last is not None:
        chosen = chosen.where(Grade.date.between(first, last))
    if subject is not None:
        chosen = chosen.where(Grade.subject == subject)
    chosen = chosen.order_by(Grade.date.desc(), Grade.id.desc()).limit(limit)
    ids = chosen.subquery()
    rows = await session.execute(
        select(Grade, GradeChange.old_value, GradeChange.new_value, GradeChange.changed_at)
        .join(ids, ids.c.id == Grade.id)
        .outerjoin(GradeChange, GradeChange.grade_id == Grade.id)
        .order_by(Grade.date.desc(), Grade.id.desc(), GradeChange.changed_at)
    )
    found: dict[str, GradeRow] = {}
    for grade, old, new, at in rows.all():
        row = found.setdefault(grade.id, GradeRow(grade.id, grade.date, grade.subject, grade.value,
                                                  grade.kind, grade.comment))
        if old is not None:
            row.changes.append((old, new, at))
    return list(found.values())


async def class_averages(session: AsyncSession, class_id: str, first: date,
                         last: date) -> dict[str, tuple[float, int]]:
    """Each pupil of the class: (average, number of grades) over the period."""
    rows = await session.execute(
        select(Grade.student_id, func.avg(Grade.value), func.count(Grade.id))
        .join(Student, Student.id == Grade.student_id)
        .where(Student.class_id == class_id, Grade.date.between(first, last))
        .group_by(Grade.student_id)
    )
    return {student: (float(average), int(count)) for student, average, count in rows.all()}


async def homework(session: AsyncSession, class_id: str, first: date, last: date) -> list[Homework]:
    return list((await session.scalars(
        select(Homework).where(Homework.class_id == class_id, Homework.due_date.between(first, last))
        .order_by(Homework.due_date, Homework.subject, Homework.id)
    )).all())


async def lessons(session: AsyncSession, class_id: str, first: date, last: date) -> list[Lesson]:
    return list((await session.scalars(
        select(Lesson).where(Lesson.class_id == class_id, Lesson.date.between(first, last))
        .order_by(Lesson.date, Lesson.starts_at, Lesson.number, Lesson.id)
    )).all())


async def absences(session: AsyncSession, student_id: str, first: date,
                   last: date) -> list[tuple[Lesson, str]]:
    """(lesson, status) of every lesson the pupil missed, was late to or was excused from."""
    rows = await session.execute(
        select(Lesson, Attendance.status)
        .join(Attendance, Attendance.lesson_id == Lesson.id)
        .where(Attendance.student_id == student_id, Attendance.status.in_(ABSENT),
               Lesson.date.between(first, last))
        .order_by(Lesson.date, Lesson.starts_at, Lesson.id)
    )
    return [(lesson, status) for lesson, status in rows.all()]


async def upcoming_events(session: AsyncSession, school_id: str, class_id: str, since: datetime,
                          limit: int = 10) -> list[Event]:
    """The school's events and the class's own, from `since` on."""
    return list((await session.scalars(
        select(Event)
        .where(Event.school_id == school_id, Event.starts_at >= since,
               (Event.class_id.is_(None)) | (Event.class_id == class_id))
        .order_by(Event.starts_at, Event.id).limit(limit)
    )).all())


async def subjects(session: AsyncSession, student_id: str, first: date, last: date) -> list[str]:
    """The subjects the pupil has grades in over the period, alphabetically."""
    return list((await session.scalars(
        select(Grade.subject).where(Grade.student_id == student_id, Grade.date.between(first, last))
        .distinct().order_by(Grade.subject)
    )).all())
