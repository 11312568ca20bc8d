"""Lessons as the diary lists them: numbered per school, a current lesson or a test
(контрольна, тематична), the next planned topic of the subject, or none when a teacher
forgot to fill it in."""

from __future__ import annotations

import random
from dataclasses import dataclass

from .city import Slot
from .curriculum import SPECIALITY
from .diary_plan import ClassPlan
from .diary_texts import TOPICS
from .sheets import csv_field

CONTROL_SHARE = 0.03  # lessons with a контрольна робота: every pupil present is graded
THEMATIC_SHARE = 0.02  # lessons closing a theme: тематична for every pupil present

SUBJECT_FIELD = {subject: csv_field(subject) for subject in SPECIALITY}
_TOPIC_FIELDS = {subject: tuple(csv_field(t) for t in topics) for subject, topics in TOPICS.items()}


@dataclass(slots=True)
class Lesson:
    lesson_id: str
    slot: Slot
    kind: str
    date_text: str
    lessons_today: int
    phase: str  # past, recent, last (the last school day) or upcoming


class LessonBook:
    """A school's lessons.csv lines, with the topic each class has reached in a subject."""

    def __init__(self, rng: random.Random, key: str, diligence: dict[str, float],
                 grades_per_day: float) -> None:
        self.rng, self.key, self.diligence = rng, key, diligence
        self.number = 0
        self.topic_cursor: dict[tuple[str, str], int] = {}
        # Fewer grades a day also means fewer tests (контрольна, тематична).
        self.control_share = CONTROL_SHARE * min(1.0, grades_per_day)
        self.test_share = (CONTROL_SHARE + THEMATIC_SHARE) * min(1.0, grades_per_day)

    def next_id(self) -> str:
        self.number += 1
        return f"L-{self.key}-{self.number}"

    def kind(self, subject: str) -> str:
        if subject == "Фізична культура":
            return "поточна"
        draw = self.rng.random()
        if draw < self.control_share:
            return "контрольна"
        return "тематична" if draw < self.test_share else "поточна"

    def line(self, school_class: ClassPlan, date_text: str, slot: Slot, lesson_id: str,
             kind: str, forgotten: bool) -> str:
        number, subject, teacher, starts, ends = slot
        cursor = self.topic_cursor.get((school_class.class_id, subject), 0)
        self.topic_cursor[school_class.class_id, subject] = cursor + 1
        topic = "" if forgotten else topic_field(subject, cursor, kind)
        return (f"{lesson_id},{school_class.class_id},{SUBJECT_FIELD[subject]},{teacher},"
                f"{date_text},{starts},{ends},{number},{topic}\n")

    def topic_forgotten(self, phase: str, teacher: str) -> bool:
        """About a third of the last day's topics, and some recent ones, are not filled in."""
        if phase == "past":
            return False
        if phase == "last":
            return self.rng.random() < 0.35
        return self.rng.random() < (1.0 - self.diligence[teacher]) * 2


def topic_field(subject: str, cursor: int, kind: str) -> str:
    """The lesson's topic as a CSV field: the next planned topic, or a test on it."""
    index = cursor % len(TOPICS[subject])
    if kind == "поточна":
        return _TOPIC_FIELDS[subject][index]
    topic = TOPICS[subject][index]
    if kind == "контрольна":
        return csv_field(f"Контрольна робота. {topic}")
    return csv_field(f"Узагальнення з теми «{topic}»")
