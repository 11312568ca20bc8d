"""The small school of the core's tests, made with the world's vocabulary.

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
from school_bot.storage.models import Base, Grade
from tests.support.world import (
    World,
    attendance,
    event,
    grade,
    grade_change,
    guardian,
    homework,
    lesson,
    school,
    school_class,
    staff,
    student,
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


async def small_school(db: Database) -> World:
    world = World(db)
    await world.add(_schools(), _people(), _diary())
    return world


def _schools() -> list[Base]:
    return [school("sch-1", "Гімназія №1", timezone="Europe/Kyiv"),
            school("sch-2", "Ліцей №2", launched=False),
            school_class("cls-5a", "sch-1", "5-А"), school_class("cls-7b", "sch-2", "7-Б"),
            staff("t-moroz", "sch-1", "Мороз Оксана Іванівна", phone=PHONES.teacher_parent)]


def _people() -> list[Base]:
    return [
        student("st-olha", "cls-5a", "Коваль Ольга Андріївна"),
        student("st-petro", "cls-5a", "Коваль Петро Андрійович"),
        student("st-ivan", "cls-5a", "Бондар Іван Сергійович"),
        student("st-taras", "cls-5a", "Мороз Тарас Олегович"),
        student("st-sofia", "cls-5a", "Лис Софія Петрівна"),
        student("st-maria", "cls-7b", "Мельник Марія Ігорівна"),
        *guardian("g-koval", "Коваль Олена Василівна", PHONES.koval,
                  children=["st-olha", "st-petro"]),
        *guardian("g-bondar", "Бондар Ірина Петрівна", PHONES.bondar, children=["st-ivan"]),
        *guardian("g-noconsent", "Шевчук Анна Юріївна", PHONES.no_consent, consent=False,
                  children=["st-ivan"]),
        *guardian("g-melnyk", "Мельник Оксана Петрівна", PHONES.not_launched,
                  children=["st-maria"]),
        *guardian("g-moroz", "Мороз Оксана Іванівна", PHONES.teacher_parent,
                  children=["st-taras"]),
    ]


def _grade(grade_id: str, pupil: str, subject: str, value: int, days_ago: int,
           kind: str | None = None) -> Grade:
    return grade(grade_id, pupil, subject, value, TODAY - timedelta(days=days_ago), kind=kind)


def _diary() -> list[Base]:
    grades = [
        _grade("gr-olha-1", "st-olha", "Математика", 9, 13, "контрольна"),
        _grade("gr-petro-1", "st-petro", "Історія", 10, 1),
        _grade("gr-petro-2", "st-petro", "Історія", 8, 0),
        *[_grade(f"gr-ivan-{n}", "st-ivan", "Біологія", 4, n) for n in range(5)],
        *[_grade(f"gr-taras-{n}", "st-taras", "Фізкультура", 12, n) for n in range(3)],
        _grade("gr-sofia-1", "st-sofia", "Математика", 12, 1),
        _grade("gr-sofia-2", "st-sofia", "Математика", 11, 2),
        _grade("gr-maria-1", "st-maria", "Хімія", 3, 1),
        grade_change("gr-olha-1", 7, 9, by="t-moroz", at=datetime(2026, 11, 12, 10, 0, tzinfo=UTC)),
    ]
    lessons = [
        lesson("ls-math", "cls-5a", "Математика", "t-moroz", TODAY, time(8, 30), number=1,
               topic="Дроби"),
        lesson("ls-hist", "cls-5a", "Історія", "t-moroz", TODAY, time(9, 25), number=2),
        lesson("ls-bio", "cls-5a", "Біологія", "t-moroz", TOMORROW, time(8, 30), number=1),
        attendance("st-olha", "ls-math", "absent"),
        attendance("st-olha", "ls-hist", "late"),
        attendance("st-ivan", "ls-math", "absent"),
    ]
    homework_and_events = [
        homework("hw-1", "cls-5a", "Математика", TOMORROW, "Вправа 12 на с. 40"),
        homework("hw-2", "cls-7b", "Хімія", TOMORROW, "Таємне завдання іншої школи"),
        event("ev-school", "sch-1", "Ярмарок", datetime(2026, 12, 1, 15, 0, tzinfo=UTC),
              description="У спортзалі"),
        event("ev-class", "sch-1", "Батьківські збори", datetime(2026, 11, 27, 16, 0, tzinfo=UTC),
              class_id="cls-5a"),
        event("ev-past", "sch-1", "Минула подія", datetime(2026, 11, 20, 16, 0, tzinfo=UTC)),
        event("ev-other", "sch-2", "Чужа подія", datetime(2026, 12, 2, 16, 0, tzinfo=UTC)),
    ]
    return [*grades, *lessons, *homework_and_events]
