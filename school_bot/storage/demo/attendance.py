"""Attendance of a school day: pupils away for the day (mostly excused) or skipping the
last lessons, now and then one late, and the demo truant absent from the first lessons of
the last school day. Whether a lesson's attendance is marked at all depends on its teacher.

Two shapes: full, a row for every pupil of every marked lesson; or marks only, every
`absent`, `late` and `excused` mark plus one `present` row per marked lesson, so a marked
lesson always has at least one row.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from .diary_plan import ClassPlan, DiaryPlan
from .draws import PoissonCounts, some
from .lessons import Lesson

Away = dict[int, tuple[str, int, int]]  # seat -> (status, first, last lesson)


class AttendanceBook:
    """A school's attendance.csv lines, and the demo truant's lessons."""

    def __init__(self, rng: random.Random, plan: DiaryPlan, counts: PoissonCounts) -> None:
        self.rng, self.counts = rng, counts
        self.diligence, self.full = plan.diligence, plan.full_attendance
        self.absent_seat = plan.absent_seat
        self.absent_lessons: list[str] = []

    def truant_seat(self, school_class: ClassPlan, phase: str) -> int | None:
        """The demo pupil's seat in this class on the day they skip lessons, else None."""
        if phase != "last" or self.absent_seat is None:
            return None
        class_id, index = self.absent_seat
        return index if school_class.class_id == class_id else None

    def whole_day_absences(self, school_class: ClassPlan, lessons: int,
                           truant: int | None) -> Away:
        """Pupils away for (part of) the day: index -> (status, first, last lesson)."""
        rng, size = self.rng, len(school_class.student_ids)
        away: Away = {}
        for index in some(rng, size, self.counts.draw(size * 0.045)):
            away[index] = ("excused" if rng.random() < 0.65 else "absent", 1, lessons)
        if rng.random() < 0.15:  # someone skips the last lessons
            index = int(rng.random() * size)
            away.setdefault(index, ("absent", rng.randint(max(1, lessons - 2), lessons), lessons))
        if truant is not None:
            away[truant] = ("absent", 1, min(3, lessons))
        return away

    def lesson_status(self, size: int, number: int, away: Away) -> dict[int, str]:
        """Who of the class missed lesson `number` or came late: seat -> status."""
        status = {i: s for i, (s, first, last) in away.items() if first <= number <= last}
        if self.rng.random() < size * 0.01:
            status.setdefault(int(self.rng.random() * size), "late")
        return status

    def record(self, ids: Sequence[str], lesson: Lesson, status: dict[int, str],
               graded: list[int], truant: int | None, marks: list[str]) -> None:
        """Mark the lesson if its teacher did (always when the demo truant missed it)."""
        special = truant is not None and status.get(truant) == "absent"
        if special:
            self.absent_lessons.append(lesson.lesson_id)
        if special or self.marked(lesson.phase, lesson.slot[2]):
            self.mark(ids, lesson.lesson_id, status, graded, marks)

    def marked(self, phase: str, teacher: str) -> bool:
        if phase == "last":
            return self.rng.random() < 0.7
        diligence = self.diligence[teacher] - (0.1 if phase == "recent" else 0.0)
        return diligence >= 1.0 or self.rng.random() < diligence

    def mark(self, ids: Sequence[str], lesson_id: str, status: dict[int, str],
             graded: list[int], marks: list[str]) -> None:
        for index, mark in status.items():
            marks.append(f"{ids[index]},{lesson_id},{mark}\n")
        if self.full:
            marks.extend(f"{student_id},{lesson_id},present\n"
                         for index, student_id in enumerate(ids) if index not in status)
            return
        present = next((i for i in graded if i not in status), None)
        if present is None:
            present = next((i for i in range(len(ids)) if i not in status), None)
        if present is not None:
            marks.append(f"{ids[present]},{lesson_id},present\n")
