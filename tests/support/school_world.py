"""One launched school with a class 7-А, a teacher and a director, and families on
demand (each a pupil, a consenting guardian and the guardian's Telegram chat): the
notification tests' world, made with the world's vocabulary."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from school_bot.storage.db import Database
from school_bot.storage.models import Attendance
from tests.support.notify import SCHOOL_DAY
from tests.support.world import (
    World,
    account,
    attendance,
    grade,
    guardian,
    lesson,
    school,
    school_class,
    staff,
    student,
)


@dataclass
class Family:
    """A pupil with a guardian and the guardian's chat."""

    student_id: str
    guardian_id: str
    account_id: int
    chat_id: int


@dataclass
class SchoolWorld(World):
    """`await SchoolWorld(db).build()`; other schools take other ids (and chat numbers),
    and may be in another time zone."""

    db: Database
    school_id: str = "S1"
    class_id: str = "C7A"
    teacher_id: str = "T1"
    director_id: str = "D1"
    timezone: str = "Europe/Kyiv"
    families: list[Family] = field(default_factory=list)
    _chats: int = 1000

    async def build(self, *, launched: bool = True) -> SchoolWorld:
        await self.add(
            school(self.school_id, "Гімназія №1", launched=launched, timezone=self.timezone),
            school_class(self.class_id, self.school_id, "7-А", homeroom_teacher_id=self.teacher_id),
            staff(self.teacher_id, self.school_id, "Коваль Ірина Петрівна", phone="+380501112233"),
            staff(self.director_id, self.school_id, "Мельник Олег Іванович", phone="+380501112244",
                  role="director"))
        return self

    def next_chat(self) -> int:
        self._chats += 1
        return self._chats

    async def add_class(self, class_id: str, name: str) -> None:
        await self.add(school_class(class_id, self.school_id, name))

    async def family(self, n: int, *, class_id: str | None = None, consent: bool = True,
                     active: bool = True, language: str | None = None,
                     **chat_settings: Any) -> Family:
        """Pupil `P{n}` (Шевченко Олена) and guardian `G{n}` (+38050 and n in 7 digits), with
        the guardian's chat (`chat_settings`: its columns, as notify_grades='instant')."""
        student_id, guardian_id, chat_id = f"P{n}", f"G{n}", self.next_chat()
        linked = account(str(chat_id), guardians=[guardian_id], active=active, language=language,
                         **chat_settings)
        await self.add(student(student_id, class_id or self.class_id,
                               f"Шевченко Олена Тарасівна{n}"),
                       guardian(guardian_id, f"Шевченко Тарас Григорович{n}", f"+38050{n:07d}",
                                consent=consent, children=[student_id]),
                       linked)
        family = Family(student_id, guardian_id, linked.id, chat_id)
        self.families.append(family)
        return family

    async def staff_account(self, staff_id: str, *, language: str | None = None) -> int:
        """A Telegram chat of this staff member: its account id."""
        linked = account(str(self.next_chat()), staff_id=staff_id, language=language)
        await self.add(linked)
        return linked.id

    async def add_lesson(self, lesson_id: str, number: int, subject: str, *,
                         day: date = SCHOOL_DAY, starts: time | None = None,
                         topic: str | None = "Тема", class_id: str | None = None,
                         teacher_id: str | None = None) -> str:
        """The `number`th lesson of the day, at (7 + number):00 unless `starts` says."""
        await self.add(lesson(lesson_id, class_id or self.class_id, subject,
                              teacher_id or self.teacher_id, day, starts or time(7 + number, 0),
                              number=number, topic=topic))
        return lesson_id

    async def mark(self, student_id: str, lesson_id: str, status: str) -> None:
        """Store or change an attendance mark (an unexcused absence again is alerted again,
        as the import does)."""
        async with self.db.unit_of_work() as s:
            row = await s.get(Attendance, (student_id, lesson_id))
            if row is None:
                s.add(attendance(student_id, lesson_id, status))
            elif row.status != status:
                row.status = status
                if status == "absent":
                    row.alerted_at = None

    async def add_grade(self, grade_id: str, student_id: str, subject: str, value: int, *,
                        day: date = SCHOOL_DAY, created_at: datetime | None = None) -> None:
        row = grade(grade_id, student_id, subject, value, day)
        if created_at is not None:
            row.created_at = created_at
        await self.add(row)


async def many_families(db: Database, count: int, *,
                        class_id: str = "C7A", first_chat: int = 100_000) -> list[int]:
    """`count` pupils, each with a consenting guardian (no name, no phone) and a Telegram
    chat, in one transaction; returns the chat ids."""
    chats = [first_chat + n for n in range(count)]
    await World(db).add(
        [student(f"MP{n}", class_id, f"Учень{n} Олена") for n in range(count)],
        [guardian(f"MG{n}", children=[f"MP{n}"]) for n in range(count)],
        [account(str(chat_id), guardians=[f"MG{n}"]) for n, chat_id in enumerate(chats)])
    return chats
