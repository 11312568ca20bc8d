"""A small made-up school, inserted with the ORM (test data, not a mock).

The clock is fixed at Wednesday 25 November 2026, 09:00 UTC (11:00 in Kyiv).

School `sch-1` (launched), class 5-А: Ольга and Петро Коваль (guardian g-koval, two
children), Іван Бондар (g-bondar; a second guardian g-noconsent has no consent), Тарас
Мороз (guardian g-moroz, who is also the teacher t-moroz: the same phone), Софія Лис
(no guardian). School `sch-2` (not launched), class 7-Б: Марія Мельник (g-melnyk).
Grades: Ольга 1 (changed from 7 to 9), Петро 2, Іван 5, Тарас 3, Софія 2.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from school_bot.storage.db import Database
from school_bot.storage.models import (
    Attendance, Event, Grade, GradeChange, Guardian, GuardianStudent, Homework, Lesson, School,
    SchoolClass, Staff, Student,
)

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
TODAY = date(2026, 11, 25)
TOMORROW = TODAY + timedelta(days=1)


@dataclass(frozen=True)
class Phones:
    koval: str = "+380501110001"
    bondar: str = "+380501110002"
    no_consent: str = "+380501110003"
    not_launched: str = "+380501110004"
    teacher_parent: str = "+380501110005"
    unknown: str = "+380501110099"


PHONES = Phones()


def clock() -> datetime:
    return NOW


async def build_school(db: Database) -> None:
    async with db.unit_of_work() as s:
        s.add_all([School(id="sch-1", name="Гімназія №1", launched=True, timezone="Europe/Kyiv"),
                   School(id="sch-2", name="Ліцей №2", launched=False)])
        await s.flush()
        s.add_all([SchoolClass(id="cls-5a", school_id="sch-1", name="5-А"),
                   SchoolClass(id="cls-7b", school_id="sch-2", name="7-Б")])
        s.add(Staff(id="t-moroz", school_id="sch-1", full_name="Мороз Оксана Іванівна",
                    phone=PHONES.teacher_parent, role="teacher", consent=True))
        await s.flush()
        s.add_all(_people())
        await s.flush()
        s.add_all(_links())
        diary = _diary()
        s.add_all([row for row in diary if not isinstance(row, Attendance)])
        await s.flush()
        s.add_all([row for row in diary if isinstance(row, Attendance)])
        s.add(GradeChange(grade_id="gr-olha-1", old_value=7, new_value=9, changed_by="t-moroz",
                          changed_at=datetime(2026, 11, 12, 10, 0, tzinfo=UTC)))


def _people() -> list[object]:
    return [
        Student(id="st-olha", class_id="cls-5a", full_name="Коваль Ольга Андріївна"),
        Student(id="st-petro", class_id="cls-5a", full_name="Коваль Петро Андрійович"),
        Student(id="st-ivan", class_id="cls-5a", full_name="Бондар Іван Сергійович"),
        Student(id="st-taras", class_id="cls-5a", full_name="Мороз Тарас Олегович"),
        Student(id="st-sofia", class_id="cls-5a", full_name="Лис Софія Петрівна"),
        Student(id="st-maria", class_id="cls-7b", full_name="Мельник Марія Ігорівна"),
        Guardian(id="g-koval", full_name="Коваль Олена Василівна", phone=PHONES.koval, consent=True),
        Guardian(id="g-bondar", full_name="Бондар Ірина Петрівна", phone=PHONES.bondar, consent=True),
        Guardian(id="g-noconsent", full_name="Шевчук Анна Юріївна", phone=PHONES.no_consent,
                 consent=False),
        Guardian(id="g-melnyk", full_name="Мельник Оксана Петрівна", phone=PHONES.not_launched,
                 consent=True),
        Guardian(id="g-moroz", full_name="Мороз Оксана Іванівна", phone=PHONES.teacher_parent,
                 consent=True),
    ]


def _links() -> list[object]:
    pairs = [("g-koval", "st-olha"), ("g-koval", "st-petro"), ("g-bondar", "st-ivan"),
             ("g-noconsent", "st-ivan"), ("g-melnyk", "st-maria"), ("g-moroz", "st-taras")]
    return [GuardianStudent(guardian_id=g, student_id=p) for g, p in pairs]


def _grade(gid: str, pupil: str, subject: str, value: int, days_ago: int, kind: str | None = None) -> Grade:
    return Grade(id=gid, student_id=pupil, subject=subject, value=value,
                 date=TODAY - timedelta(days=days_ago), kind=kind)


def _diary() -> list[object]:
    grades = [
        _grade("gr-olha-1", "st-olha", "Математика", 9, 13, "контрольна"),
        _grade("gr-petro-1", "st-petro", "Історія", 10, 1), _grade("gr-petro-2", "st-petro", "Історія", 8, 0),
        *[_grade(f"gr-ivan-{n}", "st-ivan", "Біологія", 4, n) for n in range(5)],
        *[_grade(f"gr-taras-{n}", "st-taras", "Фізкультура", 12, n) for n in range(3)],
        _grade("gr-sofia-1", "st-sofia", "Математика", 12, 1), _grade("gr-sofia-2", "st-sofia", "Математика", 11, 2),
        _grade("gr-maria-1", "st-maria", "Хімія", 3, 1),
    ]
    lessons = [
        Lesson(id="ls-math", class_id="cls-5a", subject="Математика", teacher_id="t-moroz", date=TODAY,
               starts_at=time(8, 30), ends_at=time(9, 15), number=1, topic="Дроби"),
        Lesson(id="ls-hist", class_id="cls-5a", subject="Історія", teacher_id="t-moroz", date=TODAY,
               starts_at=time(9, 25), ends_at=time(10, 10), number=2),
        Lesson(id="ls-bio", class_id="cls-5a", subject="Біологія", teacher_id="t-moroz", date=TOMORROW,
               starts_at=time(8, 30), ends_at=time(9, 15), number=1),
    ]
    attendance = [Attendance(student_id="st-olha", lesson_id="ls-math", status="absent"),
                  Attendance(student_id="st-olha", lesson_id="ls-hist", status="late"),
                  Attendance(student_id="st-ivan", lesson_id="ls-math", status="absent")]
    homework = [Homework(id="hw-1", class_id="cls-5a", subject="Математика", due_date=TOMORROW,
                         text="Вправа 12 на с. 40"),
                Homework(id="hw-2", class_id="cls-7b", subject="Хімія", due_date=TOMORROW,
                         text="Таємне завдання іншої школи")]
    events = [Event(id="ev-school", school_id="sch-1", title="Ярмарок", description="У спортзалі",
                    starts_at=datetime(2026, 12, 1, 15, 0, tzinfo=UTC)),
              Event(id="ev-class", school_id="sch-1", class_id="cls-5a", title="Батьківські збори",
                    starts_at=datetime(2026, 11, 27, 16, 0, tzinfo=UTC)),
              Event(id="ev-past", school_id="sch-1", title="Минула подія",
                    starts_at=datetime(2026, 11, 20, 16, 0, tzinfo=UTC)),
              Event(id="ev-other", school_id="sch-2", title="Чужа подія",
                    starts_at=datetime(2026, 12, 2, 16, 0, tzinfo=UTC))]
    return [*lessons, *grades, *homework, *events, *attendance]
