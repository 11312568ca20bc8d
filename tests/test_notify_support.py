"""Helpers of the notification tests (no tests here): a small school built with the ORM,
a settable clock, the job context and an outbox reader."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from school_bot.notifications.config import NotifyConfig
from school_bot.notifications.jobs.common import JobContext
from school_bot.storage.db import Database
from school_bot.storage.models import (
    Account,
    Attendance,
    Grade,
    Guardian,
    GuardianStudent,
    Lesson,
    OutboxMessage,
    School,
    SchoolClass,
    Staff,
    Student,
)
from school_bot.shared.settings import Settings

KYIV = ZoneInfo("Europe/Kyiv")
# Wednesday 12 March 2025, 10:00 in Kyiv: a school day, outside quiet hours
SCHOOL_DAY = date(2025, 3, 12)


def kyiv(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=KYIV).astimezone(UTC)


class Clock:
    """A clock the test sets and moves; the code under test only reads it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def settings(**overrides: Any) -> Settings:
    base: dict[str, Any] = {"database_url": "sqlite+aiosqlite:///unused.sqlite3",
                            "default_locale": "uk", "timezone": "Europe/Kyiv",
                            "quiet_hours": "21:00-07:30"}
    base.update(overrides)
    return Settings(_env_file=None, **base)  # type: ignore[call-arg]


def config(**overrides: Any) -> NotifyConfig:
    base: dict[str, Any] = {"telegram_rate": 500.0, "telegram_chat_rate": 200.0,
                            "poll_interval": 0.05, "send_timeout": 5.0, "sending_lease": 30.0,
                            "max_attempts": 4, "backoff_base": 0.05, "backoff_cap": 0.2,
                            "max_platform_pause": 0.2, "batch_size": 20, "max_in_flight": 16}
    base.update(overrides)
    return NotifyConfig(_env_file=None, **base)  # type: ignore[call-arg]


def job_context(db: Database, clock: Clock, **config_overrides: Any) -> JobContext:
    return JobContext(db, settings(), config(**config_overrides), clock)


@dataclass
class Family:
    """A pupil with a guardian and the guardian's chat."""

    student_id: str
    guardian_id: str
    account_id: int
    chat_id: int


@dataclass
class SchoolWorld:
    """One launched school with a class 7-А, a teacher and a director; families on demand."""

    db: Database
    school_id: str = "S1"
    class_id: str = "C7A"
    teacher_id: str = "T1"
    director_id: str = "D1"
    families: list[Family] = field(default_factory=list)
    _chats: int = 1000

    async def build(self, *, launched: bool = True) -> SchoolWorld:
        async with self.db.unit_of_work() as s:
            s.add(School(id=self.school_id, name="Гімназія №1", launched=launched,
                         timezone="Europe/Kyiv"))
            await s.flush()
            s.add(SchoolClass(id=self.class_id, school_id=self.school_id, name="7-А",
                              homeroom_teacher_id=self.teacher_id))
            s.add(Staff(id=self.teacher_id, school_id=self.school_id, full_name="Коваль Ірина Петрівна",
                        phone="+380501112233", role="teacher", consent=True))
            s.add(Staff(id=self.director_id, school_id=self.school_id,
                        full_name="Мельник Олег Іванович", phone="+380501112244",
                        role="director", consent=True))
        return self

    def next_chat(self) -> int:
        self._chats += 1
        return self._chats

    async def add_class(self, class_id: str, name: str) -> None:
        async with self.db.unit_of_work() as s:
            s.add(SchoolClass(id=class_id, school_id=self.school_id, name=name))

    async def family(self, n: int, *, class_id: str | None = None, consent: bool = True,
                     active: bool = True, language: str | None = None, **account: Any) -> Family:
        student_id, guardian_id = f"P{n}", f"G{n}"
        chat_id = self.next_chat()
        async with self.db.unit_of_work() as s:
            s.add(Student(id=student_id, class_id=class_id or self.class_id,
                          full_name=f"Шевченко Олена Тарасівна{n}"))
            s.add(Guardian(id=guardian_id, full_name=f"Шевченко Тарас Григорович{n}",
                           phone=f"+38050{n:07d}", consent=consent))
            await s.flush()
            s.add(GuardianStudent(guardian_id=guardian_id, student_id=student_id))
            acc = Account(platform="telegram", chat_id=str(chat_id), guardian_ids=[guardian_id],
                          active=active, language=language, **account)
            s.add(acc)
            await s.flush()
            family = Family(student_id, guardian_id, acc.id, chat_id)
        self.families.append(family)
        return family

    async def staff_account(self, staff_id: str, *, language: str | None = None) -> int:
        async with self.db.unit_of_work() as s:
            acc = Account(platform="telegram", chat_id=str(self.next_chat()), staff_id=staff_id,
                          language=language)
            s.add(acc)
            await s.flush()
            return acc.id

    async def lesson(self, lesson_id: str, number: int, subject: str, *, day: date = SCHOOL_DAY,
                     starts: time | None = None, topic: str | None = "Тема",
                     class_id: str | None = None, teacher_id: str | None = None) -> str:
        starts = starts or time(7 + number, 0)
        ends = (datetime.combine(day, starts) + timedelta(minutes=45)).time()
        async with self.db.unit_of_work() as s:
            s.add(Lesson(id=lesson_id, class_id=class_id or self.class_id, subject=subject,
                         teacher_id=teacher_id or self.teacher_id, date=day, starts_at=starts,
                         ends_at=ends, number=number, topic=topic))
        return lesson_id

    async def mark(self, student_id: str, lesson_id: str, status: str) -> None:
        """Store or change an attendance mark (an unexcused absence again is alerted again,
        as the import does)."""
        async with self.db.unit_of_work() as s:
            row = await s.get(Attendance, (student_id, lesson_id))
            if row is None:
                s.add(Attendance(student_id=student_id, lesson_id=lesson_id, status=status))
            elif row.status != status:
                row.status = status
                if status == "absent":
                    row.alerted_at = None

    async def grade(self, grade_id: str, student_id: str, subject: str, value: int, *,
                    day: date = SCHOOL_DAY, created_at: datetime | None = None) -> None:
        async with self.db.unit_of_work() as s:
            grade = Grade(id=grade_id, student_id=student_id, subject=subject, date=day, value=value)
            if created_at is not None:
                grade.created_at = created_at
            s.add(grade)


async def outbox(db: Database, **where: Any) -> list[OutboxMessage]:
    async with db.unit_of_work() as s:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        for name, value in where.items():
            query = query.where(getattr(OutboxMessage, name) == value)
        return list((await s.scalars(query)).all())


async def set_school(db: Database, school_id: str, **values: Any) -> None:
    async with db.unit_of_work() as s:
        school = await s.get(School, school_id)
        for name, value in values.items():
            setattr(school, name, value)


async def set_account(db: Database, account_id: int, **values: Any) -> None:
    async with db.unit_of_work() as s:
        acc = await s.get(Account, account_id)
        for name, value in values.items():
            setattr(acc, name, value)


async def many_families(db: Database, count: int, *,
                        class_id: str = "C7A", first_chat: int = 100_000) -> list[int]:
    """`count` pupils, each with a consenting guardian and a Telegram chat, in one
    transaction (for the crash test and the benchmark); returns the chat ids."""
    chats = [first_chat + n for n in range(count)]
    async with db.unit_of_work() as s:
        s.add_all(Student(id=f"MP{n}", class_id=class_id, full_name=f"Учень{n} Олена")
                  for n in range(count))
        s.add_all(Guardian(id=f"MG{n}", full_name=None, phone=None, consent=True)
                  for n in range(count))
        await s.flush()
        s.add_all(GuardianStudent(guardian_id=f"MG{n}", student_id=f"MP{n}") for n in range(count))
        s.add_all(Account(platform="telegram", chat_id=str(chat), guardian_ids=[f"MG{n}"])
                  for n, chat in enumerate(chats))
    return chats
