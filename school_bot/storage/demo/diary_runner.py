"""The diaries of a city's schools, built in worker processes (or in this one) and handed
back in the order the schools were submitted, so the files do not depend on the workers."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing import get_context
from typing import Self

from .city import School
from .diary import write_school_diary
from .diary_plan import ClassPlan, DiaryPages, DiaryPlan
from .people import Pupil
from .school_calendar import SchoolCalendar
from .specials import seat_of


def plan_diary(school: School, seed: int, calendar: SchoolCalendar, truant: Pupil | None, *,
               grades_per_day: float, full_attendance: bool) -> DiaryPlan:
    """What a diary needs of a school; it draws from a random stream of its own."""
    return DiaryPlan(
        key=school.key,
        seed=f"{seed}/diary/{school.school_id}",
        calendar=calendar,
        classes=tuple(ClassPlan(c.class_id, tuple(p.student_id for p in c.pupils),
                                tuple(p.ability for p in c.pupils),
                                tuple(tuple(day) for day in c.week))
                      for c in school.classes),
        diligence={m.staff_id: m.diligence for m in school.staff},
        absent_seat=seat_of(school, truant),
        grades_per_day=grades_per_day,
        full_attendance=full_attendance,
    )


class DiaryRunner:
    """Builds school diaries in worker processes (or in this one), handing them back in
    the order they were submitted."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._pending: list[Future[DiaryPages] | DiaryPlan] = []

    def __enter__(self) -> Self:
        if self.workers > 1:
            self._pool = ProcessPoolExecutor(self.workers, mp_context=get_context("spawn"))
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)

    def submit(self, plan: DiaryPlan) -> None:
        self._pending.append(plan if self._pool is None
                             else self._pool.submit(write_school_diary, plan))

    def results(self) -> Iterator[DiaryPages]:
        while self._pending:
            job = self._pending.pop(0)
            yield job.result() if isinstance(job, Future) else write_school_diary(job)
