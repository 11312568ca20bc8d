"""Grades of a held lesson: on a current lesson a few pupils (about `grades_per_day` per
pupil a day), on a test every pupil present; values 1..12 leaning by the pupil's ability,
now and then a teacher's comment."""

from __future__ import annotations

import random
from collections.abc import Sequence

from .diary_plan import ClassPlan, DiaryPlan
from .diary_texts import COMMENTS_FAIR, COMMENTS_GOOD, COMMENTS_POOR
from .draws import PoissonCounts, some
from .lessons import SUBJECT_FIELD, Lesson
from .people import ABILITIES
from .sheets import csv_field

# Per 100 grades of an average pupil, values 1..12; over all pupils ~80% are 6-11.
VALUE_WEIGHTS = (1, 1, 1, 2, 4, 9, 14, 18, 19, 16, 10, 5)
VALUE_TABLE_SIZE = sum(VALUE_WEIGHTS)
COMMENT_SHARE = 0.05


def value_tables() -> dict[int, tuple[int, ...]]:
    """A pupil of ability `a` draws a grade as table[a][int(random() * VALUE_TABLE_SIZE)]."""
    base = [value for value, weight in enumerate(VALUE_WEIGHTS, 1) for _ in range(weight)]
    assert len(base) == VALUE_TABLE_SIZE
    return {a: tuple(min(12, max(1, v + a)) for v in base) for a in sorted(set(ABILITIES))}


class GradeBook:
    """A school's grades.csv lines."""

    def __init__(self, rng: random.Random, plan: DiaryPlan, counts: PoissonCounts,
                 test_share: float) -> None:
        self.rng, self.key, self.counts = rng, plan.key, counts
        self.grades_per_day, self.test_share = plan.grades_per_day, test_share
        values = value_tables()
        self.tables = {c.class_id: [values[a] for a in c.abilities] for c in plan.classes}
        self.number = 0

    def grade(self, school_class: ClassPlan, lesson: Lesson, status: dict[int, str],
              grades: list[str]) -> list[int]:
        """Grade the lesson's pupils (by seat, `status` the absent and late ones); whom."""
        ids = school_class.student_ids
        graded = self.graded_pupils(len(ids), lesson, status)
        if graded:
            self.write(ids, self.tables[school_class.class_id], graded, lesson, grades)
        return graded

    def graded_pupils(self, size: int, lesson: Lesson, status: dict[int, str]) -> list[int]:
        if lesson.kind != "поточна":
            return [i for i in range(size) if status.get(i, "late") == "late"]
        share = self.test_share
        per_lesson = self.grades_per_day * size / lesson.lessons_today
        mean = max(0.0, per_lesson - share * size) / (1 - share)
        picked = some(self.rng, size, self.counts.draw(mean))
        if status:
            picked = [i for i in picked if status.get(i, "late") == "late"]
        picked.sort()
        return picked

    def write(self, ids: Sequence[str], tables: list[tuple[int, ...]], graded: list[int],
              lesson: Lesson, grades: list[str]) -> None:
        rnd, rng, number = self.rng.random, self.rng, self.number
        head = f"GR-{self.key}-"
        tail = f",{lesson.kind},{lesson.slot[2]},{lesson.lesson_id},"
        middle = f",{SUBJECT_FIELD[lesson.slot[1]]},{lesson.date_text},"
        for index in graded:
            value = tables[index][int(rnd() * VALUE_TABLE_SIZE)]
            comment = teacher_comment(rng, value) if rnd() < COMMENT_SHARE else ""
            number += 1
            grades.append(f"{head}{number},{ids[index]}{middle}{value}{tail}{comment}\n")
        self.number = number


def teacher_comment(rng: random.Random, value: int) -> str:
    pool = COMMENTS_GOOD if value >= 10 else COMMENTS_FAIR if value >= 7 else COMMENTS_POOR
    return csv_field(rng.choice(pool))
