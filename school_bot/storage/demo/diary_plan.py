"""What a school's diary is built from, and what it hands back: plain data that crosses
to a worker process and back (pickled), so a city's schools are built in parallel."""

from __future__ import annotations

from dataclasses import dataclass

from .city import Slot
from .school_calendar import SchoolCalendar


@dataclass(frozen=True)
class ClassPlan:
    class_id: str
    student_ids: tuple[str, ...]  # in journal order
    abilities: tuple[int, ...]  # of the same pupils
    week: tuple[tuple[Slot, ...], ...]  # Monday..Friday


@dataclass(frozen=True)
class DiaryPlan:
    key: str
    seed: str  # the school's own random stream
    calendar: SchoolCalendar
    classes: tuple[ClassPlan, ...]
    diligence: dict[str, float]  # staff_id -> share of lessons a teacher fills in
    absent_seat: tuple[str, int] | None  # (class_id, index) of the demo truant
    grades_per_day: float
    full_attendance: bool


@dataclass
class DiaryPages:
    """A school's diary files as encoded CSV lines, with their row counts."""

    data: dict[str, bytes]
    rows: dict[str, int]
    absent_lessons: list[str]  # the demo truant's lessons on the last school day
