"""The city's schools and their classes: which schools there are, which is not launched yet,
and how a school's pupils fill its classes over its grades."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from .curriculum import CLASS_LETTERS, CURRICULA, SCHOOL_KINDS
from .people import Pupil, StaffMember

CLASS_SIZE = 27

Slot = tuple[int, str, str, str, str]  # number, subject, teacher_id, starts_at, ends_at


@dataclass(eq=False)
class SchoolClass:
    class_id: str
    name: str
    grade: int
    seats: int
    pupils: list[Pupil] = field(default_factory=list)
    teachers: dict[str, str] = field(default_factory=dict)  # subject -> staff_id
    homeroom_teacher_id: str = ""
    week: list[list[Slot]] = field(default_factory=list)  # Monday..Friday

    @property
    def curriculum(self) -> tuple[tuple[str, int], ...]:
        return CURRICULA["5-6" if self.grade <= 6 else "7-9" if self.grade <= 9 else "10-11"]


@dataclass
class School:
    school_id: str
    key: str
    name: str
    grades: tuple[int, ...]
    launched: bool
    classes: list[SchoolClass] = field(default_factory=list)
    staff: list[StaffMember] = field(default_factory=list)

    def teachers(self) -> list[StaffMember]:
        return [member for member in self.staff if member.role == "teacher"]


def plan_schools(rng: random.Random, count: int) -> list[School]:
    """`count` schools with their numbers and kinds; the last one is not launched
    (with one school, that school is launched). The first school is a lyceum."""
    numbers = rng.sample(range(1, max(30, count + 15) + 1), count)
    schools = []
    for index, number in enumerate(numbers):
        kinds = SCHOOL_KINDS[:1] if index == 0 else SCHOOL_KINDS
        name, grades, _ = rng.choices(kinds, weights=[k[2] for k in kinds])[0]
        key = f"S{number:02d}"
        launched = count == 1 or index < count - 1
        schools.append(School(key, key, name.format(n=number), grades, launched))
    return schools


def build_classes(school: School, students: int) -> None:
    """The school's classes, their seats shared out evenly between them."""
    count = max(1, round(students / CLASS_SIZE))
    grades = spread_grades(school.grades, count)
    sizes = [students // count + (1 if i < students % count else 0) for i in range(count)]
    for i, (grade, letter) in enumerate(grades):
        school.classes.append(SchoolClass(f"{school.key}-C{i + 1:02d}",
                                          f"{grade}-{letter}", grade, sizes[i]))


def spread_grades(grades: tuple[int, ...], count: int) -> list[tuple[int, str]]:
    """Which classes a school has: `count` classes over its grades, younger ones first."""
    if count < len(grades):
        if count == 1:
            return [(grades[0], CLASS_LETTERS[0])]
        step = (len(grades) - 1) / (count - 1)
        return [(grades[round(i * step)], CLASS_LETTERS[0]) for i in range(count)]
    per_grade = [count // len(grades) + (1 if i < count % len(grades) else 0)
                 for i in range(len(grades))]
    return [(grade, CLASS_LETTERS[letter])
            for grade, parallel in zip(grades, per_grade, strict=True)
            for letter in range(min(parallel, len(CLASS_LETTERS)))]
