"""What a generated folder holds: rows per file, and the special cases by the files' own ids."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from .city import School
from .phones import to_e164
from .school_calendar import SchoolCalendar
from .specials import Specials, demo_teacher


@dataclass(frozen=True)
class DemoSummary:
    """What was written: rows per file, and the special cases by the files' own ids.

    `absence_day` is the last school day on or before `today` (today on a weekday); the
    `absent_today_*` pupil missed `absent_today_lesson_ids` unexcused on it. Phones are
    E.164: the demo parent (guardian with two children in a launched school), the
    homeroom teacher of that parent's first child, and the first school's director.
    """

    folder: Path
    today: date
    absence_day: date
    attendance_full: bool
    counts: dict[str, int]
    multi_child_guardian_id: str
    multi_child_student_ids: tuple[str, ...]
    two_guardian_student_id: str
    two_guardian_ids: tuple[str, ...]
    no_consent_guardian_id: str
    unlaunched_school_id: str | None
    teacher_parent_staff_id: str
    teacher_parent_guardian_id: str
    cross_school_guardian_id: str | None
    cross_school_student_ids: tuple[str, ...]
    absent_today_student_id: str
    absent_today_lesson_ids: tuple[str, ...]
    department_staff_id: str
    demo_parent_phone: str
    demo_teacher_phone: str
    demo_director_phone: str

    def describe(self) -> str:
        attendance = "full" if self.attendance_full else "marks only"
        lines = [f"demo data in {self.folder} (today {self.today}, attendance {attendance})"]
        lines += [f"  {name:<15} {count:>9} rows" for name, count in self.counts.items()]
        lines += [
            (f"  demo parent:          {self.demo_parent_phone} (guardian "
             f"{self.multi_child_guardian_id}, children {', '.join(self.multi_child_student_ids)})"),
            f"  demo teacher:         {self.demo_teacher_phone}",
            f"  demo director:        {self.demo_director_phone}",
            (f"  absent on {self.absence_day}: {self.absent_today_student_id} "
             f"({len(self.absent_today_lesson_ids)} lessons)"),
            (f"  two guardians:        {self.two_guardian_student_id} "
             f"({', '.join(self.two_guardian_ids)})"),
            f"  no consent:           {self.no_consent_guardian_id}",
            (f"  teacher and parent:   staff {self.teacher_parent_staff_id} = guardian "
             f"{self.teacher_parent_guardian_id}"),
            f"  children in 2 schools: {self.cross_school_guardian_id or '-'}",
            f"  not launched:         {self.unlaunched_school_id or '-'}",
            f"  department:           {self.department_staff_id}",
        ]
        return "\n".join(lines)


def summarise(folder: Path, calendar: SchoolCalendar, attendance_full: bool, specials: Specials,
              schools: list[School], counts: dict[str, int]) -> DemoSummary:
    first = schools[0]
    assert specials.demo_family and specials.two_guardian_child and specials.department
    assert specials.no_consent_guardian and specials.teacher_parent and specials.teacher_guardian
    director = next(m for m in first.staff if m.role == "director")
    unlaunched = [s.school_id for s in schools if not s.launched]
    cross = specials.cross_family
    return DemoSummary(
        folder=folder,
        today=calendar.today,
        absence_day=calendar.last_school_day,
        attendance_full=attendance_full,
        counts=dict(counts),
        multi_child_guardian_id=specials.demo_family.guardians[0].guardian_id,
        multi_child_student_ids=tuple(p.student_id for p in specials.demo_children),
        two_guardian_student_id=specials.two_guardian_child.student_id,
        two_guardian_ids=tuple(g.guardian_id for g in specials.two_guardian_child.family.guardians),
        no_consent_guardian_id=specials.no_consent_guardian.guardian_id,
        unlaunched_school_id=unlaunched[0] if unlaunched else None,
        teacher_parent_staff_id=specials.teacher_parent.staff_id,
        teacher_parent_guardian_id=specials.teacher_guardian.guardian_id,
        cross_school_guardian_id=cross.guardians[0].guardian_id if cross else None,
        cross_school_student_ids=tuple(p.student_id for p in specials.cross_children),
        absent_today_student_id=specials.demo_children[0].student_id,
        absent_today_lesson_ids=tuple(specials.absent_lessons),
        department_staff_id=specials.department.staff_id,
        demo_parent_phone=to_e164(specials.demo_family.guardians[0].phone.spelling),
        demo_teacher_phone=to_e164(demo_teacher(first).phone.spelling),
        demo_director_phone=to_e164(director.phone.spelling),
    )
