"""The suite's test data, made in one vocabulary: rows of the real models (test data,
not mocks), named in the school's words.

Each word makes the rows of one thing and returns them: `school`, `school_class`,
`staff`, `student`, `guardian` (with the links to its children), `lesson`, `grade`,
`grade_change`, `attendance`, `homework`, `event`, `account` (a messenger chat, linked to
guardians or staff), `notification` (an outbox row), `relayed` (a message between two
parents) and `handled_callback` (a webhook delivery's key). `World(db).add(...)` writes any
mix of them in one unit of work, each table after the tables it refers to
(`insert(session, ...)` does the same in a unit of work of one's own).

The named worlds are made with it: the small school of the core's tests
(small_school.py), one school with families on demand (school_world.py), the reports'
city (city.py) and the directory's second class (directory.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from school_bot.storage.db import Database
from school_bot.storage.models import (
    Account,
    Attendance,
    Base,
    Event,
    Grade,
    GradeChange,
    Guardian,
    GuardianStudent,
    Homework,
    Lesson,
    OutboxMessage,
    ProcessedCallback,
    RelayMessage,
    School,
    SchoolClass,
    Staff,
    Student,
)

LESSON_LENGTH = timedelta(minutes=45)
M = TypeVar("M", bound=Base)
Rows = Base | Iterable["Rows"]


def school(school_id: str, name: str, *, launched: bool = True, **more: Any) -> School:
    return School(id=school_id, name=name, launched=launched, **more)


def school_class(class_id: str, school_id: str, name: str, *,
                 homeroom_teacher_id: str | None = None) -> SchoolClass:
    return SchoolClass(id=class_id, school_id=school_id, name=name,
                       homeroom_teacher_id=homeroom_teacher_id)


def staff(staff_id: str, school_id: str, full_name: str | None, *, phone: str | None = None,
          role: str = "teacher", consent: bool = True) -> Staff:
    return Staff(id=staff_id, school_id=school_id, full_name=full_name, phone=phone, role=role,
                 consent=consent)


def student(student_id: str, class_id: str, full_name: str) -> Student:
    return Student(id=student_id, class_id=class_id, full_name=full_name)


def guardian(guardian_id: str, full_name: str | None = None, phone: str | None = None, *,
             consent: bool = True, children: Sequence[str] = (), **more: Any) -> list[Base]:
    """The guardian's row and one link to each of `children` (student ids)."""
    return [Guardian(id=guardian_id, full_name=full_name, phone=phone, consent=consent, **more),
            *(GuardianStudent(guardian_id=guardian_id, student_id=child) for child in children)]


def lesson(lesson_id: str, class_id: str, subject: str, teacher_id: str, day: date,
           starts: time, *, number: int | None = None, topic: str | None = None,
           **more: Any) -> Lesson:
    """A lesson of 45 minutes from `starts`."""
    ends = (datetime.combine(day, starts) + LESSON_LENGTH).time()
    return Lesson(id=lesson_id, class_id=class_id, subject=subject, teacher_id=teacher_id,
                  date=day, starts_at=starts, ends_at=ends, number=number, topic=topic, **more)


def grade(grade_id: str, student_id: str, subject: str, value: int, day: date, *,
          kind: str | None = None, **more: Any) -> Grade:
    return Grade(id=grade_id, student_id=student_id, subject=subject, value=value, date=day,
                 kind=kind, **more)


def grade_change(grade_id: str, old: int, new: int, *, by: str, at: datetime) -> GradeChange:
    return GradeChange(grade_id=grade_id, old_value=old, new_value=new, changed_by=by,
                       changed_at=at)


def attendance(student_id: str, lesson_id: str, status: str) -> Attendance:
    return Attendance(student_id=student_id, lesson_id=lesson_id, status=status)


def homework(homework_id: str, class_id: str, subject: str, due: date, text: str) -> Homework:
    return Homework(id=homework_id, class_id=class_id, subject=subject, due_date=due, text=text)


def event(event_id: str, school_id: str, title: str, starts_at: datetime, *,
          class_id: str | None = None, description: str | None = None) -> Event:
    return Event(id=event_id, school_id=school_id, class_id=class_id, title=title,
                 starts_at=starts_at, description=description)


def account(chat_id: str, *, platform: str = "telegram", guardians: Sequence[str] = (),
         staff_id: str | None = None, **more: Any) -> Account:
    """A messenger chat, linked to these guardian rows and/or this staff member."""
    return Account(platform=platform, chat_id=chat_id, guardian_ids=list(guardians),
                   staff_id=staff_id, **more)


def notification(account_id: int, kind: str, dedupe_key: str, *,
                 payload: dict[str, Any] | None = None, **more: Any) -> OutboxMessage:
    """A row of the outbox for a chat (by its account id: the chat must be written first)."""
    return OutboxMessage(account_id=account_id, kind=kind, dedupe_key=dedupe_key,
                         payload={} if payload is None else payload, **more)


def relayed(sender: str, recipient: str, class_id: str, text: str, **more: Any) -> RelayMessage:
    """A message one guardian sent another through the class directory (guardian ids)."""
    return RelayMessage(sender_guardian_id=sender, recipient_guardian_id=recipient,
                        class_id=class_id, text=text, **more)


def handled_callback(key: str, at: datetime) -> ProcessedCallback:
    """The key of a webhook delivery already handled."""
    return ProcessedCallback(key=key, at=at)


# ---------------------------------------------------------------- writing


# The school's data in the order its foreign keys need (a chat's links need the
# guardians); the bot's own tables after them, in the metadata's order.
_FIRST = (School, SchoolClass, Staff, Student, Guardian, GuardianStudent, Lesson, Grade,
          GradeChange, Attendance, Homework, Event, Account)
_ORDER = [model.__table__ for model in _FIRST]
_ORDER += [table for table in Base.metadata.sorted_tables if table not in _ORDER]


def _flat(rows: Iterable[object]) -> Iterator[Base]:
    """The model rows, nested lists flattened; anything else is refused with its value."""
    for row in rows:
        if isinstance(row, Base):
            yield row
        elif isinstance(row, Iterable) and not isinstance(row, str | bytes | dict):
            yield from _flat(row)
        else:
            raise TypeError(f"not a row of the models: {row!r}")


async def insert(session: AsyncSession, *rows: Rows) -> None:
    """Add the rows, each table's after the tables it refers to (flushed in turn)."""
    by_table: dict[Any, list[Base]] = {}
    for row in _flat(rows):
        by_table.setdefault(row.__table__, []).append(row)
    for table in _ORDER:
        if table in by_table:
            session.add_all(by_table[table])
            await session.flush()


class World:
    """Writes the vocabulary's rows to a database; the named worlds build on it."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, *rows: Rows) -> None:
        """Write the rows in one unit of work."""
        async with self.db.unit_of_work() as session:
            await insert(session, *rows)

    async def change(self, model: type[M], key: Any, **values: Any) -> M:
        """Set columns of one stored row (a school launches, a chat is blocked)."""
        async with self.db.unit_of_work() as session:
            row = await session.get(model, key)
            assert row is not None, f"no {model.__name__} {key!r}"
            for name, value in values.items():
                setattr(row, name, value)
        return row
