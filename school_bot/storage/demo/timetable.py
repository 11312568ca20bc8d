"""A class's week: its curriculum dealt round the five days and ordered on the bells, so
that a subject is spread out and a teacher is (mostly) in one room at a time."""

from __future__ import annotations

import random

from .city import School, SchoolClass, Slot
from .curriculum import BELLS


def build_timetables(rng: random.Random, school: School) -> None:
    busy: set[tuple[str, int, int]] = set()
    for school_class in school.classes:
        days = deal_subjects(rng, school_class)
        school_class.week = [order_day(rng, school_class, weekday, subjects, busy)
                             for weekday, subjects in enumerate(days)]


def deal_subjects(rng: random.Random, school_class: SchoolClass) -> list[list[str]]:
    """Deal the week's lessons round the five days, so a subject is spread out."""
    lessons = [s for s, hours in school_class.curriculum for _ in range(hours)]
    start = rng.randrange(5)
    days: list[list[str]] = [[] for _ in range(5)]
    for i, subject in enumerate(lessons):
        days[(start + i) % 5].append(subject)
    return days


def order_day(rng: random.Random, school_class: SchoolClass, weekday: int, subjects: list[str],
              busy: set[tuple[str, int, int]]) -> list[Slot]:
    """Order a day's lessons so that a teacher is not in two rooms at once (mostly)."""
    remaining, slots = list(subjects), []
    for number in range(1, len(subjects) + 1):
        free = [s for s in remaining
                if (school_class.teachers[s], weekday, number) not in busy]
        subject = rng.choice(free or remaining)
        remaining.remove(subject)
        teacher = school_class.teachers[subject]
        busy.add((teacher, weekday, number))
        starts, ends = BELLS[number - 1]
        slots.append((number, subject, teacher, starts, ends))
    return slots
