"""`generate_demo_data`: a made-up city, school by school, into the ten CSV files.

The register and the events come from one `random.Random(seed)`, the diaries from their
per-school streams (built in worker processes for a big city); files are written in a
fixed order and no set or hash order is iterated, so the same arguments give
byte-identical files, whatever the number of workers.
"""

from __future__ import annotations

import os
import random
from datetime import date, datetime
from pathlib import Path

from .city import School, build_classes, plan_schools
from .diary_runner import DiaryRunner, plan_diary
from .enrolment import enrol
from .events import event_rows
from .families import Families
from .school_calendar import KYIV, SchoolCalendar
from .sheets import DIARY_FILES, Sheets, write_register
from .specials import Specials, demo_teacher, enrol_specials
from .staff import assign_homerooms, build_staff
from .summary import DemoSummary, summarise
from .timetable import build_timetables

MIN_STUDENTS = 6  # the special cases of the first school need six seats
SMALL_FOLDER = 20_000  # schools x students x weeks: full attendance, one process
MAX_WORKERS = 4


def generate_demo_data(
    folder: str | Path,
    *,
    schools: int = 2,
    students: int = 60,
    seed: int = 1,
    today: date | None = None,
    weeks: int = 2,
    grades_per_day: float = 1.0,
    full_attendance: bool | None = None,
    workers: int | None = None,
) -> DemoSummary:
    """Write the ten CSV files of a made-up city into `folder` (see the package docstring).

    `students` is the number of pupils per school; `weeks` the school weeks of diary
    ending at `today` (None: today in Kyiv); `grades_per_day` the mean number of grades a pupil gets a school
    day; `full_attendance` None picks by size; `workers` None picks by size and CPUs
    (the files are the same for any number of workers).
    """
    check_sizes(schools, students, weeks, grades_per_day)
    calendar = SchoolCalendar.around(today or datetime.now(KYIV).date(), weeks)
    small = schools * students * weeks <= SMALL_FOLDER
    full = small if full_attendance is None else full_attendance
    if workers is None:
        workers = 1 if small else min(MAX_WORKERS, os.cpu_count() or 1, schools)
    rng = random.Random(seed)
    families, specials = Families(rng, calendar), Specials()
    city = plan_schools(rng, schools)
    with Sheets(Path(folder)) as sheets, DiaryRunner(workers) as diaries:
        for index, school in enumerate(city):
            build_school(families, specials, school, index, schools, students)
            write_register(sheets, school)
            sheets.write("events.csv", event_rows(rng, calendar, school))
            truant = specials.demo_children[0] if index == 0 else None
            diaries.submit(plan_diary(school, seed, calendar, truant,
                                      grades_per_day=grades_per_day, full_attendance=full))
        write_diaries(sheets, diaries, specials)
    return summarise(Path(folder), calendar, full, specials, city, sheets.counts)


def build_school(families: Families, specials: Specials, school: School, index: int,
                 schools: int, students: int) -> None:
    """Classes, staff, timetables and pupils of the `index`th of `schools` schools."""
    build_classes(school, students)
    officer = build_staff(families, school, department=index == 0)
    if officer is not None:
        specials.department = officer
    assign_homerooms(families.rng, school)
    build_timetables(families.rng, school)
    enrol(families, school, students, enrol_specials(families, specials, school, index, schools))
    if index == 0:
        demo_teacher(school).consent = "yes"


def write_diaries(sheets: Sheets, diaries: DiaryRunner, specials: Specials) -> None:
    """The schools' diaries into the four diary files, in the schools' order."""
    for index, pages in enumerate(diaries.results()):
        for name in DIARY_FILES:
            sheets.write_encoded(name, pages.data[name], pages.rows[name])
        if index == 0:
            specials.absent_lessons = pages.absent_lessons


def check_sizes(schools: int, students: int, weeks: int, grades_per_day: float) -> None:
    if schools < 1:
        raise ValueError("schools must be at least 1")
    if students < MIN_STUDENTS:
        raise ValueError(f"students (per school) must be at least {MIN_STUDENTS}")
    if weeks < 1:
        raise ValueError("weeks must be at least 1")
    if grades_per_day < 0:
        raise ValueError("grades_per_day must not be negative")
