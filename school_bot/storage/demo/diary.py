"""One school's diary, day by day: its lessons, grades, attendance and homework.

This is the hot loop of a city-sized folder (about 700,000 lessons and 3 million grades),
so rows are formatted as CSV lines from pre-quoted parts. The school draws from a random
stream of its own (`DiaryPlan.seed`), so its diary is the same in any worker process.

Grades and attendance exist only for lessons up to the last school day; the upcoming
lessons are the published schedule (planned topics, no marks). Homework is due on lessons
from five school days back to the end of that schedule. Some recent lessons are left
unfilled as a forgetful teacher would.
"""

from __future__ import annotations

import random
from datetime import date

from .attendance import AttendanceBook, Away
from .diary_plan import ClassPlan, DiaryPages, DiaryPlan
from .draws import PoissonCounts
from .grades import GradeBook
from .homework import HomeworkBook
from .lessons import Lesson, LessonBook
from .sheets import DIARY_FILES


def write_school_diary(plan: DiaryPlan) -> DiaryPages:
    """One school's lessons, grades, attendance and homework (runs in a worker process)."""
    diary = Diary(plan)
    pages: dict[str, list[str]] = {name: [] for name in DIARY_FILES}
    for day in plan.calendar.period + plan.calendar.upcoming:
        diary.write_day(day, pages)
    return DiaryPages({name: "".join(lines).encode() for name, lines in pages.items()},
                      {name: len(lines) for name, lines in pages.items()},
                      diary.attendance.absent_lessons)


class Diary:
    """The four books of a school's diary, filled in one school day at a time."""

    def __init__(self, plan: DiaryPlan) -> None:
        self.plan, self.calendar = plan, plan.calendar
        rng = random.Random(plan.seed)
        counts = PoissonCounts(rng)
        self.lessons = LessonBook(rng, plan.key, plan.diligence, plan.grades_per_day)
        self.grades = GradeBook(rng, plan, counts, self.lessons.test_share)
        self.attendance = AttendanceBook(rng, plan, counts)
        self.homework = HomeworkBook(rng, plan.key)
        self.homework_days = frozenset(plan.calendar.homework_days)
        self.recent_days = frozenset(plan.calendar.period[-3:-1])

    def phase(self, day: date) -> str:
        if day > self.calendar.today:
            return "upcoming"
        if day == self.calendar.last_school_day:
            return "last"
        return "recent" if day in self.recent_days else "past"

    def write_day(self, day: date, pages: dict[str, list[str]]) -> None:
        phase, date_text = self.phase(day), day.isoformat()
        for school_class in self.plan.classes:
            self._write_class_day(school_class, day, phase, date_text, pages)

    def _write_class_day(self, school_class: ClassPlan, day: date, phase: str, date_text: str,
                         pages: dict[str, list[str]]) -> None:
        lessons, homework = pages["lessons.csv"], pages["homework.csv"]
        held, with_homework = phase != "upcoming", day in self.homework_days
        slots = school_class.week[day.weekday()]
        truant = self.attendance.truant_seat(school_class, phase)
        away = self.attendance.whole_day_absences(school_class, len(slots), truant) if held else {}
        for slot in slots:
            lesson_id = self.lessons.next_id()
            kind = self.lessons.kind(slot[1]) if held else "поточна"
            forgotten = held and self.lessons.topic_forgotten(phase, slot[2])
            lessons.append(self.lessons.line(school_class, date_text, slot, lesson_id, kind,
                                             forgotten))
            if held:
                lesson = Lesson(lesson_id, slot, kind, date_text, len(slots), phase)
                self._hold(school_class, lesson, away, truant, pages)
            if with_homework:
                self.homework.set(school_class.class_id, date_text, slot, homework)

    def _hold(self, school_class: ClassPlan, lesson: Lesson, away: Away, truant: int | None,
              pages: dict[str, list[str]]) -> None:
        """The lesson took place: who was there, who got a grade, the attendance marks."""
        ids = school_class.student_ids
        status = self.attendance.lesson_status(len(ids), lesson.slot[0], away)
        graded = self.grades.grade(school_class, lesson, status, pages["grades.csv"])
        self.attendance.record(ids, lesson, status, graded, truant, pages["attendance.csv"])
