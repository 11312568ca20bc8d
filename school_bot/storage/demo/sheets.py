"""The ten CSV files of the data contract (docs/data-format.md), written together.

The register and the events go through csv.writer; the four diary files arrive as CSV
lines already encoded by the diary (`csv_field` quotes exactly as csv.writer does). Every
file has `\\n` line ends, so the same rows give the same bytes.
"""

from __future__ import annotations

import csv
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Self

from .city import School
from .school_calendar import TIMEZONE

DIARY_FILES = ("lessons.csv", "grades.csv", "attendance.csv", "homework.csv")
CSV_COLUMNS: dict[str, tuple[str, ...]] = {
    "schools.csv": ("school_id", "name", "launched", "timezone"),
    "classes.csv": ("class_id", "school_id", "name", "homeroom_teacher_id"),
    "staff.csv": ("staff_id", "school_id", "full_name", "phone", "role", "consent"),
    "students.csv": ("student_id", "class_id", "full_name"),
    "guardians.csv": ("guardian_id", "student_id", "full_name", "phone", "consent",
                      "consent_date", "invite_code"),
    "lessons.csv": ("lesson_id", "class_id", "subject", "teacher_id", "date", "starts_at",
                    "ends_at", "number", "topic"),
    "grades.csv": ("grade_id", "student_id", "subject", "date", "value", "kind", "teacher_id",
                   "lesson_id", "comment"),
    "attendance.csv": ("student_id", "lesson_id", "status"),
    "homework.csv": ("homework_id", "class_id", "subject", "due_date", "text", "teacher_id"),
    "events.csv": ("event_id", "school_id", "title", "starts_at", "class_id", "description"),
}


def csv_field(text: str) -> str:
    """One field as csv.writer (QUOTE_MINIMAL) writes it."""
    if any(ch in text for ch in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


class Sheets:
    """The ten CSV files, open together, with the rows written to each."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.counts = dict.fromkeys(CSV_COLUMNS, 0)
        self._stack = ExitStack()
        self._writers: dict[str, Any] = {}
        self._binary: dict[str, Any] = {}

    def __enter__(self) -> Self:
        self.folder.mkdir(parents=True, exist_ok=True)
        for name, columns in CSV_COLUMNS.items():
            if name in DIARY_FILES:
                self._open_encoded(name, columns)
            else:
                self._open_csv(name, columns)
        return self

    def _open_encoded(self, name: str, columns: tuple[str, ...]) -> None:
        handle = self._stack.enter_context((self.folder / name).open("wb"))
        handle.write((",".join(columns) + "\n").encode())
        self._binary[name] = handle

    def _open_csv(self, name: str, columns: tuple[str, ...]) -> None:
        handle = self._stack.enter_context(
            (self.folder / name).open("w", encoding="utf-8", newline=""))
        self._writers[name] = csv.writer(handle, lineterminator="\n")
        self._writers[name].writerow(columns)

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def write(self, name: str, rows: list[tuple[Any, ...]]) -> None:
        self._writers[name].writerows(rows)
        self.counts[name] += len(rows)

    def write_encoded(self, name: str, data: bytes, rows: int) -> None:
        self._binary[name].write(data)
        self.counts[name] += rows


def write_register(sheets: Sheets, school: School) -> None:
    """The school's rows of schools, classes, staff, students and guardians."""
    sheets.write("schools.csv", [(school.school_id, school.name,
                                  "yes" if school.launched else "no", TIMEZONE)])
    sheets.write("classes.csv", [(c.class_id, school.school_id, c.name, c.homeroom_teacher_id)
                                 for c in school.classes])
    sheets.write("staff.csv", [(m.staff_id, school.school_id, m.person.full_name,
                                m.phone.spelling, m.role, m.consent) for m in school.staff])
    sheets.write("students.csv", [(p.student_id, c.class_id, p.person.full_name)
                                  for c in school.classes for p in c.pupils])
    sheets.write("guardians.csv", [
        (g.guardian_id, p.student_id, g.person.full_name, g.phone.spelling, g.consent,
         g.consent_date, "")
        for c in school.classes for p in c.pupils for g in p.family.guardians])
